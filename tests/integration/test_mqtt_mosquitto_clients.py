"""Round trips with Debian's mosquitto_pub / mosquitto_sub (mosquitto-clients 2.0), MQTT 3.1.1
and 5.0, against a real ferryd."""
import os
import shutil
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import BrokerTestCase  # noqa: E402

PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"


class MosquittoSub:
    """mosquitto_sub -d: its debug output says when the SUBACK came, so the test publishes only
    after the subscription exists (no sleep)."""

    def __init__(self, args):
        # stdbuf -oL: mosquitto_sub's stdout is a pipe here, and block buffering would hide
        # the SUBACK line until exit.
        self.proc = subprocess.Popen(["stdbuf", "-oL", SUB, "-d"] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = []
        self.subscribed = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            if "received suback" in line.lower():
                self.subscribed.set()

    def finish(self, timeout=10.0):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.thread.join(5)
        self.proc.stdout.close()
        return self.proc.returncode

    def payloads(self):
        """Non-debug lines: the messages (-F %t:%q:%r:%p format)."""
        return [ln for ln in self.lines if ln.startswith("P|")]


class MosquittoClients(BrokerTestCase):
    def sub(self, topic, version, count, extra=()):
        s = MosquittoSub(["-h", "127.0.0.1", "-p", str(self.broker.port), "-V", version,
                          "-t", topic, "-q", "2", "-C", str(count), "-W", "10",
                          "-F", "P|%t|%q|%r|%p"] + list(extra))
        return s

    def pub(self, topic, message, version, qos=1, extra=()):
        r = subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(self.broker.port), "-V", version,
                            "-t", topic, "-m", message, "-q", str(qos)] + list(extra),
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr.decode())

    def _round_trip(self, version):
        s = self.sub("mc/%s/#" % version, version, 3)
        self.addCleanup(s.finish, 0.1)
        self.assertTrue(s.subscribed.wait(10), "mosquitto_sub never subscribed:\n%s"
                        % "\n".join(s.lines))
        for qos in (0, 1, 2):
            self.pub("mc/%s/q%d" % (version, qos), "hello-%d" % qos, version, qos)
        self.assertEqual(s.finish(), 0, "\n".join(s.lines))
        self.assertEqual(sorted(s.payloads()),
                         ["P|mc/%s/q%d|%d|0|hello-%d" % (version, q, q, q) for q in (0, 1, 2)])

    def test_v311_round_trip_qos_0_1_2(self):
        self._round_trip("mqttv311")

    def test_v5_round_trip_qos_0_1_2(self):
        self._round_trip("mqttv5")

    def test_retained_with_mosquitto_clients(self):
        """mosquitto_pub -r stores a retained message; a later mosquitto_sub gets it with the
        retain flag (MQTT-3.3.1-8); mosquitto_pub -r -n clears it (MQTT-3.3.1-10)."""
        self.pub("mc/ret", "kept", "mqttv5", 1, ["-r"])
        s = self.sub("mc/ret", "mqttv311", 1)
        self.assertEqual(s.finish(), 0, "\n".join(s.lines))
        self.assertEqual(s.payloads(), ["P|mc/ret|1|1|kept"])
        r = subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(self.broker.port), "-t", "mc/ret",
                            "-r", "-n", "-q", "1"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        s = self.sub("mc/ret", "mqttv5", 1, ["-W", "2"])
        s.finish()
        self.assertEqual(s.payloads(), [], "retained message not cleared")

    def test_persistent_session_with_mosquitto_sub_c(self):
        """mosquitto_sub -c -i ID (CleanSession 0 / 5.0 with session expiry via -x) subscribes and
        leaves; QoS 1 messages published meanwhile are delivered when it comes back
        (3.1.1 MQTT-3.1.2-5)."""
        for version, extra in (("mqttv311", []), ("mqttv5", ["-x", "60"])):
            cid = "mc-pers-" + version
            first = self.sub("mc/pers/" + version, version, 1,
                             ["-c", "-i", cid, "-W", "1"] + extra)
            self.assertTrue(first.subscribed.wait(10))
            first.finish()  # exits after -W 1 s without a message
            for i in range(3):
                self.pub("mc/pers/" + version, "q%d" % i, version, 1)
            back = self.sub("mc/pers/" + version, version, 3, ["-c", "-i", cid] + extra)
            self.assertEqual(back.finish(), 0, "\n".join(back.lines))
            self.assertEqual([ln.split("|")[-1] for ln in back.payloads()], ["q0", "q1", "q2"])

    def test_v5_user_property_via_mosquitto(self):
        """mosquitto_pub -D publish user-property reaches a paho 5.0 subscriber (MQTT-3.3.2-17)."""
        c = self.connected("mc-paho", 5)
        c.subscribe("mc/up", 1)
        self.pub("mc/up", "x", "mqttv5", 1, ["-D", "publish", "user-property", "k", "v"])
        self.assertTrue(c.wait_messages(1, 5.0))
        self.assertEqual(c.messages[0].properties.UserProperty, [("k", "v")])


if __name__ == "__main__":
    unittest.main()
