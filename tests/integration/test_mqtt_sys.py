"""$SYS/broker/... statistics (Mosquitto's names, issue 2) with [sys] interval = 1."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import BrokerTestCase  # noqa: E402

NAMES = ["$SYS/broker/version", "$SYS/broker/uptime", "$SYS/broker/clients/connected",
         "$SYS/broker/clients/total", "$SYS/broker/messages/received",
         "$SYS/broker/messages/sent", "$SYS/broker/bytes/received", "$SYS/broker/bytes/sent",
         "$SYS/broker/subscriptions/count", "$SYS/broker/retained messages/count"]


class SysTopics(BrokerTestCase):
    BROKER_TOML = "[sys]\ninterval = 1\n"

    def latest(self, c, topic):
        vals = [m.payload for m in c.messages if m.topic == topic]
        return vals[-1] if vals else None

    def test_sys_topics_published_every_interval(self):
        """Every statistic named in issue 2 arrives on $SYS/broker/... within two intervals, and
        a second round comes (it is periodic)."""
        c = self.connected("sysw", 5)
        c.subscribe("$SYS/#", 0)
        have = lambda: all(self.latest(c, n) is not None for n in NAMES)  # noqa: E731
        self.assertTrue(c.wait(have, 3.5), "missing: %r" % [n for n in NAMES
                                                            if self.latest(c, n) is None])
        first = len([m for m in c.messages if m.topic == "$SYS/broker/uptime"])
        self.assertTrue(c.wait(lambda: len([m for m in c.messages
                                            if m.topic == "$SYS/broker/uptime"]) > first, 3.0),
                        "no second $SYS round")
        self.assertTrue(self.latest(c, "$SYS/broker/version"))
        self.assertRegex(self.latest(c, "$SYS/broker/uptime").decode(), r"^\d+ seconds$")
        for n in NAMES[2:]:
            self.assertRegex(self.latest(c, n).decode(), r"^\d+$", n)

    def test_sys_values_follow_activity(self):
        """clients/connected counts connected clients; messages/received grows after publishes;
        retained messages/count counts a retained message."""
        c = self.connected("sysv", 5)
        others = [self.connected("sys-other%d" % i, 4) for i in range(3)]
        others[0].publish("sys/r", b"kept", 1, retain=True)
        for i in range(20):
            others[1].publish("sys/t", b"%d" % i, 1)
        c.subscribe("$SYS/broker/#", 0)
        c.messages.clear()

        def value(topic):
            v = self.latest(c, topic)
            return int(v) if v is not None and re.match(rb"^\d+$", v) else None

        # The retained values may be from a round before these clients came; wait (bounded, a
        # few intervals) for a round that reflects them.
        self.assertTrue(c.wait(lambda: value("$SYS/broker/clients/connected") == 4, 3.5),
                        "clients/connected = %r, 4 connected" % value(
                            "$SYS/broker/clients/connected"))
        self.assertTrue(c.wait(lambda: (value("$SYS/broker/messages/received") or 0) >= 21,
                               3.5), "messages/received = %r after 21 publishes" % value(
                                   "$SYS/broker/messages/received"))
        self.assertTrue(c.wait(lambda: (value("$SYS/broker/retained messages/count") or 0) >= 1,
                               3.5), "retained messages/count stayed 0")
        self.assertTrue(c.wait(lambda: (value("$SYS/broker/subscriptions/count") or 0) >= 1,
                               3.5), "subscriptions/count stayed 0")

    def test_sys_retained_for_late_subscribers(self):
        """Mosquitto publishes $SYS values retained, so a subscriber sees them at once."""
        first = self.connected("sys-first", 5)
        first.subscribe("$SYS/broker/version", 0)
        self.assertTrue(first.wait_messages(1, 3.5))
        late = self.connected("sys-late", 5)
        late.subscribe("$SYS/broker/version", 0)
        self.assertTrue(late.wait_messages(1, 0.9) and late.messages[0].retain,
                        "$SYS/broker/version not retained")


class SysOff(BrokerTestCase):
    BROKER_TOML = "[sys]\ninterval = 0\n"

    def test_interval_0_publishes_nothing(self):
        c = self.connected("sysoff", 5)
        c.subscribe("$SYS/#", 0)
        self.assertFalse(c.wait_messages(1, 1.5))


if __name__ == "__main__":
    unittest.main()
