"""Installs ferry_<version>_<arch>.deb on this machine (root only: CI's machine is disposable,
and this one may be too), runs ferryd as ferry.service would, and purges it again.

systemd is not PID 1 in these containers, so the test plays the service manager: it reads
User=, WorkingDirectory=, Environment=, LimitNOFILE=, UMask=, ExecStartPre= and ExecStart= from
the installed unit, drops to the ferry user with setpriv (no capabilities, no_new_privs), and
gives ferryd a NOTIFY_SOCKET of its own to see READY=1, RELOADING=1, WATCHDOG=1 and STOPPING=1.
When systemd is PID 1, the service postinst started is checked and stopped first.

Reload is checked by behaviour, not only by the log: a smaller limits.max_packet_size from a
conf.d file makes a 2,000-byte publish fail while a connected subscriber stays connected; a
broken file is refused (file:line:column logged) and the smaller limit stays in force.

Rules, the same way: a rule file dropped into /etc/ferry/rules.d republishes "in/#" to "out/..."
once SIGHUP reloaded it (and not before); a changed rule replaces the old one (its new output
comes, the old one's no longer); a broken rule file is refused with file:line:column in the log
and the previous rule keeps working. Each expected output is followed by a marker published
straight to "out/", so "this and nothing else" is shown without waiting for something not to
happen.

The database: QoS 1 messages published to an offline persistent session are acknowledged once
they are committed to /var/lib/ferry/ferry.db, which belongs to the ferry user with no access for
group or others (the unit's UMask=0077); after SIGTERM and a new start as the service, the
session reconnects with its session present and gets exactly those messages, in order."""
import os
import pwd
import queue
import re
import resource
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest

import paho.mqtt.client as mqtt

import debtest
from debtest import run

UNIT = "/lib/systemd/system/ferry.service"
CONF_D = "/etc/ferry/conf.d"
RULES_D = "/etc/ferry/rules.d"
STATE = "/var/lib/ferry"
DATABASE = STATE + "/ferry.db"  # storage.path in the packaged ferry.toml
WAIT = 30  # seconds: upper bound on any single wait (no assertion on how fast things happen)

# The rule of the reload scenario republishes what arrives on "in/#" to "out/<version>/<topic>";
# version 2 (the changed rule, same name) also marks the payload.
RULE = """# Written by test_deb_install.py.
[[rule]]
name = "pkgtest-forward"
sql = 'SELECT payload, topic FROM "in/#"'
actions = [{ type = "republish", topic = "out/%s/${topic}", payload = "%s${payload}", qos = 1 }]
"""
# An unclosed parenthesis: the error is at line 6, column 1 (FROM where ")" was expected).
BROKEN_RULE = """[[rule]]
name = "pkgtest-broken"
sql = '''
SELECT payload,
  upper(topic
FROM "in/#"
'''
actions = [{ type = "republish", topic = "out/broken/${topic}" }]
"""
BROKEN_RULE_POSITION = ":6:1:"


def installed():
    p = run(["dpkg-query", "-W", "-f=${db:Status-Status}", "ferry"], check=False)
    return p.returncode == 0 and p.stdout == "installed"


def unit_settings(path):
    """The [Service] settings of a unit file: {key: [values in order]}."""
    out = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Notifications:
    """A NOTIFY_SOCKET: collects the sd_notify datagrams ferryd sends."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)  # ferryd runs as ferry
        self.seen = []

    def wait_for(self, text):
        """Returns once a datagram containing the line `text` arrives after the last wait."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.seen.append(data)
            if text in data.split("\n"):
                return
        raise AssertionError("no %s from ferryd within %d s; got %r" % (text, WAIT, self.seen))

    def close(self):
        self.sock.close()


class Subscriber:
    """A paho MQTT 3.1.1 client subscribed to `topic_filter` at QoS 1 (None: no SUBSCRIBE, the
    stored session's subscriptions apply), connected until close()."""

    def __init__(self, topic_filter="pkg/#", client_id="pkgtest-sub", clean_session=True):
        self.messages = queue.Queue()
        self.disconnects = 0
        self.session_present = None
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(client_id=client_id, clean_session=clean_session)
        self.client.on_connect = self._connected
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.on_subscribe = lambda c, u, mid, q: self.subscribed.set()
        self.client.on_disconnect = self._disconnected
        self.client.connect("127.0.0.1", 1883, keepalive=60)
        self.client.loop_start()
        if not self.connected.wait(WAIT):
            raise AssertionError("%s: no CONNACK within %d s" % (client_id, WAIT))
        if topic_filter is not None:
            self.client.subscribe(topic_filter, qos=1)
            if not self.subscribed.wait(WAIT):
                raise AssertionError("%s: no SUBACK within %d s" % (client_id, WAIT))

    def _connected(self, c, u, flags, rc):
        if rc == 0:
            self.session_present = bool(flags.get("session present"))
            self.connected.set()

    def _disconnected(self, c, u, rc):
        self.disconnects += 1

    def next(self):
        try:
            return self.messages.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError("no message within %d s" % WAIT)

    def close(self):
        """DISCONNECT (so a persistent session stays on the broker, offline), then stop."""
        self.client.disconnect()
        self.client.loop_stop()


def publish(topic, payload, check=True):
    """mosquitto_pub, MQTT 3.1.1, QoS 1: returns once PUBACK arrived or the broker closed."""
    return run(["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-V", "mqttv311", "-q", "1",
                "-i", "pkgtest-pub", "-t", topic, "-m", payload], check=check, timeout=WAIT)


def paho_publish(messages, transport="tcp"):
    """Publishes [(topic, payload), ...] at QoS 1, in order, on one paho connection over TCP
    (127.0.0.1:1883) or the packaged WebSocket listener (127.0.0.1:8083, path /mqtt); returns
    once every PUBACK arrived, then disconnects."""
    lock = threading.Lock()
    acked, sent = set(), []
    done = threading.Event()

    def check_done():
        if len(sent) == len(messages) and acked.issuperset(sent):
            done.set()

    def on_publish(cl, u, mid):
        with lock:
            acked.add(mid)
            check_done()

    c = mqtt.Client(client_id="pkgtest-paho-pub", transport=transport)
    if transport == "websockets":
        c.ws_set_options(path="/mqtt")
    c.on_publish = on_publish
    c.connect("127.0.0.1", 8083 if transport == "websockets" else 1883, keepalive=30)
    c.loop_start()
    try:
        for topic, payload in messages:
            with lock:
                sent.append(c.publish(topic, payload, qos=1).mid)
                check_done()
        if not done.wait(WAIT):
            raise AssertionError("no PUBACK for every one of %r over %s within %d s"
                                 % (messages, transport, WAIT))
    finally:
        c.disconnect()
        c.loop_stop()


def publish_ws(topic, payload):
    """Publishes over the packaged WebSocket listener (127.0.0.1:8083, path /mqtt)."""
    paho_publish([(topic, payload)], transport="websockets")


def wait_for_log(lines, pattern):
    """The first of ferryd's stderr lines that matches `pattern`. ferryd writes a reload's lines
    before the READY=1 that ends it, but the reader thread may not have them yet: waits up to
    WAIT s for them."""
    deadline = time.monotonic() + WAIT
    while True:
        for line in list(lines):
            if re.search(pattern, line):
                return line
        if time.monotonic() >= deadline:
            raise AssertionError("no log line matching %r within %d s; ferryd wrote:\n%s"
                                 % (pattern, WAIT, "".join(lines)))
        time.sleep(0.1)


def expect_only(sub, expected, marker):
    """Publishes `marker` straight to its topic and checks that `sub` gets `expected` and then
    the marker: the rule's output arrived, and nothing else came before the marker. (Each publish
    was acknowledged before the next one started, and the broker routes a rule's republish
    before it acknowledges the original, so anything the rules made would arrive first.)"""
    paho_publish([marker])
    first = sub.next()
    if first != expected:
        raise AssertionError("expected %r (then the marker %r), got %r" % (expected, marker, first))
    second = sub.next()
    if second != (marker[0], marker[1].encode()):
        raise AssertionError("expected the marker %r after %r, got %r" % (marker, expected, second))


class InstalledPackage(unittest.TestCase):
    """One ordered scenario (install, run, reload, stop, purge): the steps depend on each other."""

    def setUp(self):
        self.deb = debtest.deb_path()
        if os.geteuid() != 0:
            self.skipTest("needs root to install the package")
        if not os.path.exists(self.deb):
            self.skipTest("%s not built" % self.deb)
        if installed():
            self.fail("ferry is already installed here; purge it first (apt-get purge ferry)")
        self.tmp = tempfile.mkdtemp(prefix="ferry-debinstall-")
        os.chmod(self.tmp, 0o755)
        self.added = []
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.addCleanup(self.purge_if_installed)
        self.addCleanup(self.remove_added_files)

    def remove_added_files(self):
        for path in self.added:
            if os.path.exists(path):
                os.remove(path)

    def purge_if_installed(self):
        if installed():
            run(["apt-get", "purge", "-y", "-q", "ferry"], check=False, timeout=300,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))

    def write_conf(self, name, text, directory=CONF_D):
        """Writes a file as an administrator would (root's, readable by all: 0644)."""
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o644)
        if path not in self.added:
            self.added.append(path)
        return path

    def reload(self, proc, notify):
        """systemctl reload: SIGHUP, then RELOADING=1 and READY=1 from ferryd."""
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING=1")
        notify.wait_for("READY=1")

    def stop(self, proc, notify, reader):
        """systemctl stop: SIGTERM, STOPPING=1, exit status 0."""
        proc.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1")
        self.assertEqual(proc.wait(timeout=WAIT), 0)
        reader.join(WAIT)

    def wait_for_ports(self):
        for port in (1883, 8083):
            deadline = time.monotonic() + WAIT
            while not port_free(port) and time.monotonic() < deadline:
                time.sleep(0.5)
            self.assertTrue(port_free(port), "127.0.0.1:%d is taken by another process "
                            "(the packaged configuration listens there)" % port)

    def start_like_the_unit(self, unit, notify):
        """Starts ExecStart= the way systemd would for this unit; returns (process, stderr lines)."""
        user = unit["User"][-1]
        pw = pwd.getpwnam(user)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "HOME": pw.pw_dir, "USER": user, "LOGNAME": user,
               # As under systemd: stderr is the journal, so ferryd adds <N> priority prefixes.
               "JOURNAL_STREAM": "8:1", "NOTIFY_SOCKET": notify.path,
               # The unit's WatchdogSec=60s would take 30 s to show a ping; 2 s shows it sooner.
               "WATCHDOG_USEC": "2000000"}
        for assignment in unit.get("Environment", []):
            k, v = assignment.split("=", 1)
            env[k] = v
        # LimitNOFILE=, capped by this machine's hard limit: a container without
        # CAP_SYS_RESOURCE cannot raise it (here 20,000 < 65,536).
        nofile = min(int(unit["LimitNOFILE"][-1]), resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        umask = int(unit["UMask"][-1], 8)

        def limits():
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
            os.umask(umask)

        drop = ["setpriv", "--reuid=" + user, "--regid=" + unit["Group"][-1], "--init-groups",
                "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
        for pre in unit.get("ExecStartPre", []):
            p = run(drop + pre.split(), check=False, env=env, cwd=unit["WorkingDirectory"][-1],
                    preexec_fn=limits)
            self.assertEqual(p.returncode, 0, "ExecStartPre failed: %s" % p.stderr)
        proc = subprocess.Popen(drop + unit["ExecStart"][-1].split(), env=env,
                                cwd=unit["WorkingDirectory"][-1], preexec_fn=limits,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")),
                                  daemon=True)
        reader.start()

        def cleanup():  # a failed test leaves ferryd running: end it, then its log reader
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=WAIT)
            reader.join(WAIT)
            proc.stderr.close()
        self.addCleanup(cleanup)
        return proc, lines, reader


    def test_install_run_reload_stop_purge(self):
        apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
             os.path.abspath(self.deb)], env=apt_env, timeout=300)
        self.assertTrue(installed())

        # --- what postinst did -----------------------------------------------------------
        pw = pwd.getpwnam("ferry")
        self.assertLess(pw.pw_uid, 1000, "ferry must be a system user")
        self.assertEqual(pw.pw_dir, STATE)
        self.assertEqual(pw.pw_shell, "/usr/sbin/nologin")
        st = os.stat(STATE)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (pw.pw_uid, 0o750))
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "ferry"]).stdout
        self.assertIn("/etc/ferry/ferry.toml", conffiles)
        p = run(["systemd-analyze", "verify", "--man=no", UNIT], check=False)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        if os.path.isdir("/run/systemd/system"):
            # A real systemd: postinst enabled and started the service; it must be up.
            self.assertEqual(run(["systemctl", "is-active", "ferry"], check=False).stdout.strip(),
                             "active")
            run(["systemctl", "stop", "ferry"])
        self.wait_for_ports()

        # --- start as the service would -------------------------------------------------
        unit = unit_settings(UNIT)
        self.assertEqual(unit["Type"], ["notify"])
        notify = Notifications(self.tmp)
        self.addCleanup(notify.close)
        proc, lines, reader = self.start_like_the_unit(unit, notify)
        notify.wait_for("READY=1")
        with open("/proc/%d/status" % proc.pid) as f:
            uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
        self.assertEqual(int(uid), pw.pw_uid, "ferryd must run as ferry")
        notify.wait_for("WATCHDOG=1")

        # --- publish and subscribe, both packaged listeners -----------------------------
        sub = Subscriber()
        self.addCleanup(sub.close)
        publish("pkg/tcp", "hello")
        self.assertEqual(sub.next(), ("pkg/tcp", b"hello"))
        publish_ws("pkg/ws", "over websocket")
        self.assertEqual(sub.next(), ("pkg/ws", b"over websocket"))
        big = "x" * 2000
        publish("pkg/big", big)
        self.assertEqual(sub.next(), ("pkg/big", big.encode()))

        # --- SIGHUP with a changed value: it takes effect, nobody is disconnected ---------
        self.write_conf("50-pkgtest.toml", "[limits]\nmax_packet_size = 1000\n")
        self.reload(proc, notify)
        publish("pkg/big", big, check=False)  # refused: the broker closes that connection
        publish("pkg/marker", "after-reload")
        # Both publishes ran one after the other on one event loop: had the big one been routed,
        # it would have arrived first.
        self.assertEqual(sub.next(), ("pkg/marker", b"after-reload"))
        wait_for_log(lines, r"reloaded .*max_packet_size")

        # --- SIGHUP with a broken file: refused, the running configuration stays -----------
        broken = self.write_conf("60-broken.toml", "[limits]\nmax_inflight = \"many\"\n")
        self.reload(proc, notify)
        wait_for_log(lines, r"reload_refused")
        wait_for_log(lines, re.escape(broken) + r":2:\d+:")
        publish("pkg/big", big, check=False)
        publish("pkg/marker", "after-broken")
        self.assertEqual(sub.next(), ("pkg/marker", b"after-broken"))
        self.assertIsNone(proc.poll(), "ferryd must keep running after a refused reload")

        # --- rules: a new rule file takes effect on SIGHUP, and only then -------------------
        # The broken configuration file goes first: while it is there every reload is refused
        # (rules included), which the steps above have shown.
        os.remove(broken)
        out = Subscriber("out/#", "pkgtest-rules")
        self.addCleanup(out.close)
        self.write_conf("50-pkgtest.toml", RULE % ("v1", ""), directory=RULES_D)
        paho_publish([("in/a", "before-reload")])  # the file is there, but not loaded yet
        paho_publish([("out/marker", "no-rule-yet")])
        self.assertEqual(out.next(), ("out/marker", b"no-rule-yet"),
                         "a rule file must not act before SIGHUP loaded it")
        self.reload(proc, notify)
        paho_publish([("in/a", "one")])
        expect_only(out, ("out/v1/in/a", b"one"), ("out/marker", "v1"))
        wait_for_log(lines, r"rules dir=%s files=1 loaded=1" % re.escape(RULES_D))

        # --- a changed rule: the new version acts, the old one no longer --------------------
        self.write_conf("50-pkgtest.toml", RULE % ("v2", "v2:"), directory=RULES_D)
        self.reload(proc, notify)
        paho_publish([("in/b", "two")])
        expect_only(out, ("out/v2/in/b", b"v2:two"), ("out/marker", "v2"))

        # --- a broken rule file: refused with file:line:column, the previous rule stays -------
        broken_rule = self.write_conf("60-broken.toml", BROKEN_RULE, directory=RULES_D)
        self.reload(proc, notify)
        wait_for_log(lines, r"rules_refused %s%s" % (re.escape(broken_rule),
                                                     re.escape(BROKEN_RULE_POSITION)))
        wait_for_log(lines, r"rules_refused .*the running rules stay in force")
        paho_publish([("in/c", "three")])
        expect_only(out, ("out/v2/in/c", b"v2:three"), ("out/marker", "still-v2"))
        self.assertIsNone(proc.poll(), "ferryd must keep running after a refused rule reload")
        self.assertEqual((sub.disconnects, out.disconnects), (0, 0),
                         "a reload must not drop connections")
        # A broken rule file stops a start (unlike a reload): it goes before the restart below.
        os.remove(broken_rule)

        # --- the database: an offline persistent session's messages are committed -----------
        durable = Subscriber("durable/#", "pkgtest-durable", clean_session=False)
        durable.close()  # offline; the session and its subscription stay
        queued = [("durable/%d" % i, "queued-%d" % i) for i in range(1, 4)]
        paho_publish(queued)  # each PUBACK comes after its message is committed
        self.assertTrue(os.path.isfile(DATABASE), "%s missing; %s holds %s"
                        % (DATABASE, STATE, os.listdir(STATE)))
        with open(DATABASE, "rb") as f:
            self.assertEqual(f.read(16), b"SQLite format 3\0")
        # Everything ferryd keeps (the database, its -wal/-shm and lock files, rules.db) is the
        # ferry user's, and neither group nor others may read it: the queued messages are there.
        for name in os.listdir(STATE):
            st = os.stat(os.path.join(STATE, name))
            self.assertEqual((name, st.st_uid, st.st_gid), (name, pw.pw_uid, pw.pw_gid))
            self.assertEqual((name, stat.S_IMODE(st.st_mode) & 0o077), (name, 0),
                             "%s/%s is mode %o" % (STATE, name, stat.S_IMODE(st.st_mode)))

        # --- SIGTERM: clean stop, exit 0 ---------------------------------------------------
        sub.close()
        out.close()
        self.stop(proc, notify, reader)

        # --- start again as the service: the queued messages are delivered -----------------
        self.wait_for_ports()
        proc2, lines2, reader2 = self.start_like_the_unit(unit, notify)
        notify.wait_for("READY=1")
        wait_for_log(lines2, r"storage_open path=%s " % re.escape(DATABASE))
        back = Subscriber(None, "pkgtest-durable", clean_session=False)
        self.addCleanup(back.close)
        self.assertTrue(back.session_present, "the persistent session must survive the restart")
        got = [back.next() for _ in queued]
        self.assertEqual(got, [(t, p.encode()) for t, p in queued])
        paho_publish([("durable/marker", "after-restart")])  # and nothing more came before it
        self.assertEqual(back.next(), ("durable/marker", b"after-restart"))
        # The rule file left in rules.d was loaded at start.
        out2 = Subscriber("out/#", "pkgtest-rules")
        self.addCleanup(out2.close)
        paho_publish([("in/d", "four")])
        expect_only(out2, ("out/v2/in/d", b"v2:four"), ("out/marker", "after-restart"))
        back.close()
        out2.close()
        self.stop(proc2, notify, reader2)

        self.assertTrue(lines and lines2)
        for line in lines + lines2:
            self.assertRegex(line, r"^<[0-7]>", "journal priority prefix missing")

        # --- purge ---------------------------------------------------------------------------
        self.remove_added_files()
        run(["apt-get", "purge", "-y", "-q", "ferry"], env=apt_env, timeout=300)
        self.assertFalse(installed())
        self.assertFalse(os.path.exists(STATE), "purge must remove /var/lib/ferry")
        self.assertFalse(os.path.exists("/etc/ferry"), "purge must remove /etc/ferry")
        self.assertFalse(os.path.exists("/usr/bin/ferryd"))
        with self.assertRaises(KeyError):
            pwd.getpwnam("ferry")


if __name__ == "__main__":
    debtest.main()
