"""A database file ferryd must not use (issue 3, "Faults and bad input"): garbage, a truncated
or damaged database, a directory in its place, a database locked by another process (a python
sqlite3 connection holding BEGIN EXCLUSIVE, or a second ferryd). Each time ferryd exits
non-zero within a few seconds (never a crash, never silently starting empty over the user's
data), its stderr names the file and says what to do, and the file is left byte for byte as it
was."""
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (FERRYD, PUBACK, SUBACK, FerryBroker, drain,  # noqa: E402
                           prop_u32, raw_connected, raw_publish, raw_subscribe)

EXPIRY_3600 = prop_u32(0x11, 3600)
# Words of an instruction: every refusal must tell the user what to do.
ADVICE = ("restore", "move", "stop", "remove", "delete", "check", "set [storage] path")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_ferryd(workdir, db_path, timeout=10.0):
    """Runs ferryd on `db_path` with a port-0 listener until it exits (at most `timeout` s).
    Returns (exit code or None if it was still running, stderr + stdout text)."""
    config = os.path.join(workdir, "bad.toml")
    with open(config, "w") as f:
        f.write('[[listener]]\nprotocol = "mqtt"\nbind = "127.0.0.1:0"\n\n'
                '[storage]\npath = "%s"\n' % db_path)
    proc = subprocess.Popen([FERRYD, "--config", config], cwd=workdir, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=5)
        code = None
    return code, (err + out).decode("utf-8", "replace")


class BadDatabaseFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """A real database with content: a persistent session with 200 queued 1 KB messages
        and a retained message, written by ferryd and closed cleanly (SIGTERM)."""
        cls.real_dir = tempfile.mkdtemp(prefix="ferry-bad-")
        broker = FerryBroker()
        broker.dir = cls.real_dir
        broker.start()
        try:
            sub = raw_connected(broker.port, "bad-sub", version=5, clean=False,
                                properties=EXPIRY_3600)
            sub.send(raw_subscribe(1, [("bad/#", 1)], version=5))
            sub.expect(SUBACK)
            sub.send(b"\xe0\x00")
            sub.close()
            pub = raw_connected(broker.port, "bad-pub", version=5)
            for i in range(200):
                pub.send(raw_publish("bad/t", b"%04d" % i + b"x" * 1020, qos=1, mid=i + 1,
                                     retain=(i == 0), version=5))
                pub.expect(PUBACK)
            pub.close()
        finally:
            code = broker.stop()
        assert code == 0, "ferryd did not stop cleanly: %s\n%s" % (code, broker.log())
        cls.real_db = os.path.join(cls.real_dir, "ferry.db")
        with open(cls.real_db, "rb") as f:
            cls.page_size = int.from_bytes(f.read(18)[16:18], "big")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.real_dir, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ferry-bad-case-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "ferry.db")

    def copy_real(self):
        shutil.copyfile(self.real_db, self.db)
        return os.path.getsize(self.db)

    def assertRefused(self, what, hash_path=None):
        """ferryd exits non-zero (not by a signal) within 10 s, names the file and gives advice,
        and the file (hash_path, default the database) is unchanged."""
        hash_path = hash_path or self.db
        before = sha256(hash_path) if os.path.isfile(hash_path) else None
        code, text = run_ferryd(self.dir, self.db)
        self.assertIsNotNone(code, "%s: ferryd started (still running after 10 s):\n%s"
                             % (what, text[-2000:]))
        self.assertGreater(code, 0, "%s: exit code %s (0 = started, < 0 = killed by a signal)"
                           ":\n%s" % (what, code, text[-2000:]))
        self.assertIn(self.db, text, "%s: the message names the file" % what)
        lower = text.lower()
        self.assertTrue(any(a in lower for a in ADVICE), "%s: says what to do:\n%s"
                        % (what, text[-2000:]))
        if before is not None:
            self.assertEqual(sha256(hash_path), before, "%s: the file was changed" % what)
        print("%s -> exit %d: %s" % (what, code, text.strip().splitlines()[-1][:300]))
        return text

    def test_garbage_file(self):
        with open(self.db, "wb") as f:
            f.write(random.Random(3).randbytes(16384))
        self.assertRefused("garbage")

    def test_text_file(self):
        with open(self.db, "w") as f:
            f.write("this is my shopping list, not a database\n" * 50)
        self.assertRefused("text file")

    def test_truncated_to_half(self):
        size = self.copy_real()
        self.assertGreater(size, 8 * self.page_size, "the real database has content")
        with open(self.db, "r+b") as f:
            f.truncate(size // 2)
        self.assertRefused("truncated to %d of %d bytes" % (size // 2, size))

    def test_truncated_at_odd_offset(self):
        size = self.copy_real()
        with open(self.db, "r+b") as f:
            f.truncate(size - self.page_size - 123)
        self.assertRefused("truncated inside a page")

    def test_truncated_without_a_trusted_page_count(self):
        """The header's page count is only trusted when "version-valid-for" (offset 92) equals
        the change counter (offset 24); files from SQLite before 3.7.0 do not have it. A cut
        such file must still be refused (quick_check)."""
        size = self.copy_real()
        with open(self.db, "r+b") as f:
            f.seek(92)
            f.write(b"\x00\x00\x00\x00")
            f.truncate(size // 2)
        self.assertRefused("truncated, page count not trusted")

    def test_truncated_inside_header(self):
        self.copy_real()
        with open(self.db, "r+b") as f:
            f.truncate(50)
        self.assertRefused("truncated to 50 bytes")

    def test_damaged_page(self):
        """A page in the middle overwritten (bit rot on an SD card): quick_check on open."""
        size = self.copy_real()
        pages = size // self.page_size
        with open(self.db, "r+b") as f:
            f.seek((pages // 2) * self.page_size)
            f.write(random.Random(5).randbytes(self.page_size))
        self.assertRefused("damaged page %d of %d" % (pages // 2, pages))

    def test_directory_in_place_of_the_file(self):
        os.mkdir(self.db)
        with open(os.path.join(self.db, "keep"), "w") as f:
            f.write("user data")
        self.assertRefused("directory")
        self.assertEqual(os.listdir(self.db), ["keep"])

    @unittest.skipIf(os.geteuid() == 0, "root reads files whatever their mode")
    def test_unreadable_file(self):
        self.copy_real()
        os.chmod(self.db, 0)
        self.addCleanup(os.chmod, self.db, 0o644)
        code, text = run_ferryd(self.dir, self.db)
        self.assertGreater(code or 0, 0, text)
        self.assertIn(self.db, text)

    def test_locked_by_another_process_begin_exclusive(self):
        """Another process (python's sqlite3) holds BEGIN EXCLUSIVE on the database."""
        self.copy_real()
        holder = subprocess.Popen(
            ["/usr/bin/python3", "-c",
             "import sqlite3, sys\n"
             "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "c.execute('BEGIN EXCLUSIVE')\n"
             "c.execute('SELECT count(*) FROM sqlite_schema').fetchone()\n"
             "print('locked', flush=True)\n"
             "sys.stdin.read()\n"
             "c.execute('ROLLBACK')\n", self.db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(holder.stdout.close)
        self.addCleanup(lambda: holder.poll() is None and holder.kill())
        self.assertEqual(holder.stdout.readline().strip(), b"locked")
        before = sha256(self.db)
        text = self.assertRefused("locked by BEGIN EXCLUSIVE")
        holder.stdin.close()
        self.assertEqual(holder.wait(5), 0, "the lock holder's transaction was intact")
        self.assertEqual(sha256(self.db), before)
        self.assertIn("lock", text.lower(), "the message says the file is locked")

    def test_second_ferryd_on_the_same_path(self):
        """A second ferryd on the database a running one uses: refused; the first keeps its
        data and serves it."""
        broker = FerryBroker()
        broker.dir = self.dir
        self.copy_real()
        broker.start()
        self.addCleanup(broker.stop)
        text = self.assertRefused("second ferryd", hash_path=os.devnull)
        self.assertIn("in use", text)
        self.assertTrue(broker.alive())
        back = raw_connected(broker.port, "bad-sub", version=5, clean=False,
                             properties=EXPIRY_3600)
        try:
            self.assertEqual(back.connack[0] & 1, 1, "the first ferryd still has the session")
            got = [m for kind, m in drain(back, 5, idle=1.0) if kind == "PUBLISH"]
            self.assertEqual([m["payload"][:4] for m in got], [b"%04d" % i for i in range(200)])
        finally:
            back.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
