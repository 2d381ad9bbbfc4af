"""Shared pieces of the test_rules_*.py files: a ferryd whose rules dir holds the rule files a
test writes before start (and rewrites before a SIGHUP), and waits that are bounded in time.
"""
import json
import os
import signal
import tempfile
import time

from ferry_harness import BrokerTestCase, FerryBroker, PahoClient


class RulesTestCase(BrokerTestCase):
    """One ferryd per test. Subclasses set RULES ({file name: TOML text}) and BROKER_TOML."""

    RULES = {}
    BROKER_TOML = ""

    def setUp(self):
        self.broker = FerryBroker()
        self.broker.dir = tempfile.mkdtemp(prefix="ferry-rules-test-")
        self.rules_dir = os.path.join(self.broker.dir, "rules.d")
        os.mkdir(self.rules_dir)
        for name, text in self.RULES.items():
            self.write_rule(name, text)
        self.broker.extra_toml = '[rules]\ndir = "%s"\n%s' % (self.rules_dir, self.BROKER_TOML)
        self._clients = []
        self.addCleanup(self._teardown_broker)   # BrokerTestCase's: clients, then the broker
        self.broker.start()

    # -- rules ---------------------------------------------------------------------------
    def rule_path(self, name):
        return os.path.join(self.rules_dir, name)

    def write_rule(self, name, text):
        # Written whole then renamed, so a reload never sees half a file.
        tmp = self.rule_path("." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.rule_path(name))

    def sighup(self, timeout=5.0):
        """Sends SIGHUP and returns once ferryd has finished that reload (it logs
        'reloaded applied=' after the rules were loaded or refused). Returns the log text the
        reload added."""
        before = self.broker.log()
        n = before.count("reloaded applied=")
        self.broker.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.broker.log()
            if log.count("reloaded applied=") > n:
                return log[len(before):]
            time.sleep(0.02)
        self.fail("no reload logged within %.1fs:\n%s" % (timeout, self.broker.log()[-3000:]))

    # -- clients -------------------------------------------------------------------------
    def connected(self, client_id, version=5, username=None, keepalive=60, properties=None, **kw):
        c = PahoClient(client_id, version=version, **kw)
        if username is not None:
            c.client.username_pw_set(username)
        self._clients.append(c)
        c.connect(self.broker.port, keepalive=keepalive, properties=properties)
        return c

    @staticmethod
    def on(c, topic_prefix):
        """Messages c received whose topic starts with topic_prefix, in arrival order."""
        with c.cond:
            return [m for m in c.messages if m.topic.startswith(topic_prefix)]

    def wait_on(self, c, topic_prefix, n, timeout=5.0):
        ok = c.wait(lambda: len(self.on(c, topic_prefix)) >= n, timeout)
        got = [(m.topic, m.payload) for m in self.on(c, topic_prefix)]
        self.assertTrue(ok, "expected %d messages on %s*, got %r; log tail:\n%s"
                        % (n, topic_prefix, got, self.broker.log()[-2000:]))
        return self.on(c, topic_prefix)

    @staticmethod
    def js(msg):
        return json.loads(msg.payload.decode("utf-8"))
