"""Installs ferry_<version>_<arch>.deb on this machine (root only: CI's machine is disposable,
and this one may be too), runs ferryd as ferry.service would, and purges it again.

systemd is not PID 1 in these containers, so the test plays the service manager: it reads
User=, WorkingDirectory=, Environment=, LimitNOFILE=, UMask=, ExecStartPre= and ExecStart= from
the installed unit, drops to the ferry user with setpriv (no capabilities, no_new_privs), and
gives ferryd a NOTIFY_SOCKET of its own to see READY=1, RELOADING=1, WATCHDOG=1 and STOPPING=1.
When systemd is PID 1, the service postinst started is checked and stopped first.

Reload is checked by behaviour, not only by the log: a smaller limits.max_packet_size from a
conf.d file makes a 2,000-byte publish fail while a connected subscriber stays connected; a
broken file is refused (file:line:column logged) and the smaller limit stays in force."""
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
STATE = "/var/lib/ferry"
WAIT = 30  # seconds: upper bound on any single wait (no assertion on how fast things happen)


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
    """A paho MQTT 3.1.1 client subscribed to pkg/#, connected for the whole test."""

    def __init__(self, port=1883, transport="tcp"):
        self.messages = queue.Queue()
        self.disconnects = 0
        self.subscribed = threading.Event()
        self.client = mqtt.Client(client_id="pkgtest-sub", transport=transport)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.on_subscribe = lambda c, u, mid, q: self.subscribed.set()
        self.client.on_disconnect = self._disconnected
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.subscribe("pkg/#", qos=1)
        self.client.loop_start()
        if not self.subscribed.wait(WAIT):
            raise AssertionError("no SUBACK within %d s" % WAIT)

    def _disconnected(self, c, u, rc):
        self.disconnects += 1

    def next(self):
        try:
            return self.messages.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError("no message within %d s" % WAIT)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def publish(topic, payload, check=True):
    """mosquitto_pub, MQTT 3.1.1, QoS 1: returns once PUBACK arrived or the broker closed."""
    return run(["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-V", "mqttv311", "-q", "1",
                "-i", "pkgtest-pub", "-t", topic, "-m", payload], check=check, timeout=WAIT)


def publish_ws(topic, payload):
    """Publishes over the packaged WebSocket listener (127.0.0.1:8083, path /mqtt)."""
    done = threading.Event()
    c = mqtt.Client(client_id="pkgtest-ws", transport="websockets")
    c.ws_set_options(path="/mqtt")
    c.on_publish = lambda cl, u, mid: done.set()
    c.connect("127.0.0.1", 8083, keepalive=30)
    c.loop_start()
    c.publish(topic, payload, qos=1)
    ok = done.wait(WAIT)
    c.loop_stop()
    c.disconnect()
    if not ok:
        raise AssertionError("no PUBACK over WebSocket within %d s" % WAIT)


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

    def write_conf(self, name, text):
        path = os.path.join(CONF_D, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        self.added.append(path)
        return path

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
        self.addCleanup(proc.stderr.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
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

        for port in (1883, 8083):
            deadline = time.monotonic() + WAIT
            while not port_free(port) and time.monotonic() < deadline:
                time.sleep(0.5)
            self.assertTrue(port_free(port), "127.0.0.1:%d is taken by another process "
                            "(the packaged configuration listens there)" % port)

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
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING=1")
        notify.wait_for("READY=1")
        publish("pkg/big", big, check=False)  # refused: the broker closes that connection
        publish("pkg/marker", "after-reload")
        # Both publishes ran one after the other on one event loop: had the big one been routed,
        # it would have arrived first.
        self.assertEqual(sub.next(), ("pkg/marker", b"after-reload"))
        self.assertTrue(any("reloaded" in l and "max_packet_size" in l for l in lines), lines)

        # --- SIGHUP with a broken file: refused, the running configuration stays -----------
        broken = self.write_conf("60-broken.toml", "[limits]\nmax_inflight = \"many\"\n")
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING=1")
        notify.wait_for("READY=1")
        self.assertTrue(any("reload_refused" in l for l in lines), lines)
        self.assertTrue(any(re.search(re.escape(broken) + r":2:\d+:", l) for l in lines), lines)
        publish("pkg/big", big, check=False)
        publish("pkg/marker", "after-broken")
        self.assertEqual(sub.next(), ("pkg/marker", b"after-broken"))
        self.assertIsNone(proc.poll(), "ferryd must keep running after a refused reload")
        self.assertEqual(sub.disconnects, 0, "a reload must not drop connections")

        # --- SIGTERM: clean stop, exit 0 ---------------------------------------------------
        proc.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1")
        self.assertEqual(proc.wait(timeout=WAIT), 0)
        reader.join(WAIT)
        self.assertTrue(lines)
        for line in lines:
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
