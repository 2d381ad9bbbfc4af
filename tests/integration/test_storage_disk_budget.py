"""The whole-store budget ([storage] max_disk_bytes) runs out (issue 3, "Disk full"):

- durable publishes are refused: MQTT 5.0 PUBACK / PUBREC with 0x97 Quota exceeded; a 3.1.1
  publisher, which has no way to say "not stored" in an acknowledgement, is disconnected without
  its PUBACK (so it keeps the message and sends it again later);
- QoS 0 traffic between online clean sessions keeps flowing, and so does QoS 1 that only online
  clean sessions need (it never touches the disk);
- ferryd restarts over a full store;
- nothing already stored is lost: the offline subscriber later receives every acknowledged
  message, once, in order;
- once the subscriber has drained its queue, durable publishes are accepted again.

The scenario runs once (setUpClass); each test checks one of these on what it recorded."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (PUBACK, PUBLISH, PUBREC, SUBACK, AckedPublisher,  # noqa: E402
                           FerryBroker, commit_barrier, drain, number_of, parse_publish,
                           prop_u32, raw_connected, raw_publish, raw_subscribe)

# ferryd keeps a 256 KiB reserve inside the budget (deletes may use it), so 640 KiB leaves
# about 384 KiB for new messages.
BUDGET = 640 * 1024
PAYLOAD = 1024
# The harness ends its config with "[storage]\npath = ...": these keys continue that table.
TOML = "max_disk_bytes = %d\n[limits]\nmax_queued_messages = 0\n" % BUDGET
EXPIRY_3600 = prop_u32(0x11, 3600)


def ack_reason(body):
    return body[2] if len(body) > 2 else 0


class DiskBudget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = broker = FerryBroker(extra_toml=TOML)
        broker.start()
        try:
            cls._scenario(broker)
        finally:
            broker.stop()
            cls.log = broker.log()
            broker.cleanup()

    @classmethod
    def _scenario(cls, broker):
        r = {}
        cls.r = r
        port = broker.port
        sub = raw_connected(port, "full-sub", version=5, clean=False, properties=EXPIRY_3600)
        sub.send(raw_subscribe(1, [("full/#", 1)], version=5))
        sub.expect(SUBACK)
        sub.send(b"\xe0\x00")
        sub.close()
        commit_barrier(port)

        # Fill: 1 KB QoS 1 messages to the offline session until the first refusal.
        pub = AckedPublisher(port, "full-pub", "full/t", 1, "f", version=5, window=5,
                             limit=3000, size=PAYLOAD)
        pub.start()
        wait = pub.cond
        with wait:
            wait.wait_for(lambda: pub.refused or pub.closed.is_set(), 20.0)
        pub.stop()
        pub.join(10.0)
        r["acked"], r["refused"], r["pub_error"] = list(pub.acked), list(pub.refused), pub.error

        # 5.0 QoS 2 to the full store: PUBREC 0x97.
        p5 = raw_connected(port, "full-pub-q2", version=5)
        p5.send(raw_publish("full/t", b"q2", qos=2, mid=7, version=5))
        ptype, _, body = p5.read_packet(5.0)
        r["q2"] = (ptype, ack_reason(body))
        p5.close()

        # 3.1.1 QoS 1 to the full store: closed without PUBACK.
        p4 = raw_connected(port, "full-pub4", version=4)
        p4.send(raw_publish("full/t", b"v311", qos=1, mid=9))
        r["v311_closed"] = p4.wait_closed(5.0)
        r["v311_seen"] = [t for t, _, _ in p4.seen]
        p4.close()

        # Online clean sessions: QoS 0 and QoS 1 keep flowing.
        live_sub = raw_connected(port, "live-sub", version=4)
        live_sub.send(raw_subscribe(1, [("live/#", 1)]))
        live_sub.expect(SUBACK)
        live_pub = raw_connected(port, "live-pub", version=5)
        live_pub.send(raw_publish("live/q0", b"zero", qos=0, version=5))
        live_pub.send(raw_publish("live/q1", b"one", qos=1, mid=3, version=5))
        got = []
        try:
            for _ in range(2):
                flags, body = live_sub.expect(PUBLISH, 5.0)
                got.append(parse_publish(flags, body)["payload"])
        except Exception as e:   # recorded; the test says what was missing
            got.append(repr(e))
        r["live_got"] = got
        try:
            _, body = live_pub.expect(PUBACK, 5.0)
            r["live_puback"] = ack_reason(body)
        except Exception as e:
            r["live_puback"] = repr(e)
        live_sub.close()
        live_pub.close()

        # Restart over the full store.
        broker.kill9()
        try:
            broker.start()
            r["restarted"] = True
        except RuntimeError as e:
            r["restarted"] = str(e)
            return
        port = broker.port

        # Drain the offline session.
        back = raw_connected(port, "full-sub", version=5, clean=False, properties=EXPIRY_3600)
        r["session_present"] = back.connack[0] & 1
        packets = drain(back, 5, idle=1.0)
        r["drained"] = [number_of(m["payload"])[1] for kind, m in packets if kind == "PUBLISH"]
        back.send(b"\xe0\x00")
        back.close()
        commit_barrier(port)   # the removals are committed

        # Room again: a durable publish (the session is offline again) is accepted.
        again = raw_connected(port, "full-pub-again", version=5)
        again.send(raw_publish("full/t", b"again", qos=1, mid=11, version=5))
        _, body = again.expect(PUBACK, 5.0)
        r["again"] = ack_reason(body)
        again.close()

    def test_durable_publish_refused_0x97_when_budget_exhausted(self):
        r = self.r
        self.assertGreater(len(r["acked"]), 50, "the budget held some messages first")
        self.assertTrue(r["refused"], "no refusal after %d acknowledged 1 KB messages "
                        "(error %r)" % (len(r["acked"]), r["pub_error"]))
        self.assertEqual({reason for _, reason in r["refused"]}, {0x97})
        self.assertEqual(r["q2"], (PUBREC, 0x97), "5.0 QoS 2: PUBREC 0x97")
        print("budget %d bytes: %d x %d-byte messages acknowledged before the first 0x97"
              % (BUDGET, len(r["acked"]), PAYLOAD))

    def test_refusal_is_logged(self):
        self.assertIn("reason_code=0x97", self.log)

    def test_v311_publisher_disconnected_without_puback(self):
        self.assertTrue(self.r["v311_closed"], "3.1.1 connection still open")
        self.assertNotIn(PUBACK, self.r["v311_seen"], "3.1.1 got a PUBACK for an unstored "
                         "message")

    def test_qos0_between_online_clean_sessions_flows(self):
        self.assertIn(b"zero", self.r["live_got"])

    def test_qos1_to_online_clean_session_only_flows(self):
        """Only online clean sessions need the message: it never touches the disk, so the
        full store must not refuse it."""
        self.assertIn(b"one", self.r["live_got"])
        self.assertEqual(self.r["live_puback"], 0)

    def test_restart_over_full_store_then_every_acked_message_delivered_once_in_order(self):
        r = self.r
        self.assertEqual(r["restarted"], True)
        self.assertEqual(r["session_present"], 1)
        drained = r["drained"]
        self.assertEqual(sorted(set(r["acked"]) - set(drained)), [], "acknowledged but lost")
        self.assertEqual(drained, sorted(drained), "in order")
        self.assertEqual(len(drained), len(set(drained)), "each once")
        refused = {n for n, _ in r["refused"]}
        self.assertEqual(set(drained) & refused, set(), "refused (0x97) but delivered")

    def test_durable_publishes_accepted_again_after_drain(self):
        self.assertEqual(self.r.get("again"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
