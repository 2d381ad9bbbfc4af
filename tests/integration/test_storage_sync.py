"""[storage] sync = "full" | "normal" | "off" (issue 3, "The contract"): each mode starts and
delivers, and each survives kill -9 of ferryd with every acknowledged message (SQLite: with
synchronous OFF "the database will not be corrupted by an application crash", only by an OS
crash or power loss; the committed data is in the OS's hands). `ferryd --check-config` refuses
an unknown mode with file:line:column."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (FERRYD, SUBACK, AckedPublisher, FerryBroker,  # noqa: E402
                           commit_barrier, drain, number_of, prop_u32, raw_connected,
                           raw_subscribe)

EXPIRY_3600 = prop_u32(0x11, 3600)


class SyncModes(unittest.TestCase):
    def _kill9_delivers_every_acked(self, mode):
        # The harness ends its config with "[storage]\npath = ...": this key continues it.
        broker = FerryBroker(extra_toml='sync = "%s"\n' % mode)
        broker.start()
        self.addCleanup(broker.cleanup)
        self.addCleanup(broker.stop)
        sub = raw_connected(broker.port, "sync-sub", version=5, clean=False,
                            properties=EXPIRY_3600)
        sub.send(raw_subscribe(1, [("sync/#", 2)], version=5))
        sub.expect(SUBACK)
        sub.send(b"\xe0\x00")
        sub.close()
        commit_barrier(broker.port)
        pubs = [AckedPublisher(broker.port, "sync-pub%d" % q, "sync/q%d" % q, q, "q%d" % q,
                               version=5, limit=200) for q in (1, 2)]
        for p in pubs:
            p.start()
        for p in pubs:
            p.join(20.0)
            self.assertFalse(p.is_alive())
            self.assertEqual(len(p.acked), 200, "sync=%s: %r %r" % (mode, p.refused, p.error))
        broker.kill9()
        broker.start()
        back = raw_connected(broker.port, "sync-sub", version=5, clean=False,
                             properties=EXPIRY_3600)
        try:
            got = {"q1": [], "q2": []}
            for kind, m in drain(back, 5, idle=1.0):
                if kind == "PUBLISH":
                    tag, n = number_of(m["payload"])
                    got[tag].append(n)
        finally:
            back.close()
        self.assertEqual(got, {"q1": list(range(200)), "q2": list(range(200))},
                         "sync=%s: every acknowledged message, once, in order" % mode)

    def test_sync_full_starts_delivers_and_survives_kill9(self):
        self._kill9_delivers_every_acked("full")

    def test_sync_normal_starts_delivers_and_survives_kill9(self):
        self._kill9_delivers_every_acked("normal")

    def test_sync_off_starts_delivers_and_survives_kill9(self):
        self._kill9_delivers_every_acked("off")


class CheckConfig(unittest.TestCase):
    def test_unknown_sync_mode_refused_with_file_line_column(self):
        d = tempfile.mkdtemp(prefix="ferry-sync-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "ferry.toml")
        with open(path, "w") as f:
            f.write('[[listener]]\nprotocol = "mqtt"\nbind = "127.0.0.1:0"\n\n'
                    '[storage]\npath = "%s"\nsync = "sometimes"\n' % os.path.join(d, "x.db"))
        # sync is on line 7; its value starts at column 8.
        p = subprocess.run([FERRYD, "--check-config", path], capture_output=True, timeout=10)
        text = (p.stderr + p.stdout).decode("utf-8", "replace")
        self.assertNotEqual(p.returncode, 0, text)
        m = re.search(re.escape(path) + r":(\d+):(\d+)", text)
        self.assertIsNotNone(m, "no file:line:column in %r" % text)
        self.assertEqual(int(m.group(1)), 7, text)
        self.assertEqual(int(m.group(2)), 8, "column of the value: %r" % text)
        self.assertIn("sometimes", text)
        for allowed in ("full", "normal", "off"):
            self.assertIn(allowed, text, "the message lists the allowed values")
        self.assertFalse(os.path.exists(os.path.join(d, "x.db")), "--check-config made a database")

    def test_valid_sync_modes_pass_check_config(self):
        d = tempfile.mkdtemp(prefix="ferry-sync-")
        self.addCleanup(shutil.rmtree, d, True)
        for mode in ("full", "normal", "off"):
            path = os.path.join(d, "ferry-%s.toml" % mode)
            with open(path, "w") as f:
                f.write('[storage]\npath = "%s"\nsync = "%s"\n' % (os.path.join(d, "x.db"), mode))
            p = subprocess.run([FERRYD, "--check-config", path], capture_output=True,
                               timeout=10)
            self.assertEqual(p.returncode, 0, (mode, p.stderr, p.stdout))


if __name__ == "__main__":
    unittest.main(verbosity=2)
