"""What survives a restart of ferryd, and what must not (issue 3, "What is stored"):

- retained messages, with their properties, survive kill -9; a cleared one stays cleared;
- persistent sessions keep their subscriptions (QoS, subscription identifier) across kill -9,
  and an unsubscribed filter stays gone;
- message expiry counts the time the broker was down: a message whose Message Expiry Interval
  passed meanwhile is not delivered (MQTT-3.3.2-5), a retained one is not sent to new
  subscribers, and a surviving message carries the reduced interval (MQTT-3.3.2-6);
- a session whose Session Expiry Interval passed while the broker was down is gone: the
  CONNACK says Session Present 0 (MQTT 5.0 3.1.2.11.2, MQTT-3.2.2-2)."""
import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (PUBACK, SUBACK, SUBSCRIBE, UNSUBACK,  # noqa: E402
                           FerryBroker, commit_barrier, drain, packet, parse_properties,
                           prop_str, prop_u32, raw_connected, raw_publish, raw_subscribe, utf8,
                           varint)

EXPIRY_3600 = prop_u32(0x11, 3600)


def subscribe_v5(raw, mid, topic_filter, options, sub_id=None):
    props = (b"\x0b" + varint(sub_id)) if sub_id else b""
    body = struct.pack("!H", mid) + varint(len(props)) + props + utf8(topic_filter) + \
        bytes([options])
    raw.send(packet(SUBSCRIBE, 2, body))
    _, body = raw.expect(SUBACK)
    return body[-1]


def publish_acked(raw, topic, payload, qos=1, mid=1, retain=False, properties=b""):
    raw.send(raw_publish(topic, payload, qos=qos, mid=mid, retain=retain, version=5,
                         properties=properties))
    _, body = raw.expect(PUBACK)
    reason = body[2] if len(body) > 2 else 0
    if reason >= 0x80:
        raise AssertionError("publish to %s refused 0x%02x" % (topic, reason))


def publishes(packets):
    return [m for kind, m in packets if kind == "PUBLISH"]


def props_of(msg):
    """parse_publish()["props"] -> {id: value} (last wins; user properties as a list)."""
    out = {}
    for pid, value in parse_properties(msg["props"]):
        if pid == 0x26:
            out.setdefault(pid, []).append(value)
        else:
            out[pid] = value
    return out


class RestartTest(unittest.TestCase):
    def setUp(self):
        self.broker = FerryBroker()
        self.broker.start()
        self.addCleanup(self.broker.cleanup)
        self.addCleanup(self.broker.stop)
        self.raws = []
        self.addCleanup(lambda: [r.close() for r in self.raws])

    def raw(self, client_id, version=5, clean=True, properties=b""):
        r = raw_connected(self.broker.port, client_id, version=version, clean=clean,
                          properties=properties)
        self.raws.append(r)
        return r

    def test_retained_messages_survive_kill9_with_properties(self):
        pub = self.raw("ret-pub")
        user = b"\x26" + utf8("k") + utf8("v")
        publish_acked(pub, "ret/a", b"A", mid=1, retain=True,
                      properties=prop_str(0x03, "text/plain") + user)
        publish_acked(pub, "ret/b", b"B", mid=2, retain=True)
        publish_acked(pub, "ret/b", b"", mid=3, retain=True)    # cleared (MQTT-3.3.1-6)
        publish_acked(pub, "ret/c", b"C1", mid=4, retain=True)
        publish_acked(pub, "ret/c", b"C2", mid=5, retain=True)  # replaced (MQTT-3.3.1-5)
        self.broker.kill9()
        self.broker.start()
        sub = self.raw("ret-sub")
        self.assertEqual(subscribe_v5(sub, 1, "ret/#", 1), 1)
        got = sorted(publishes(drain(sub, 5, idle=0.7)), key=lambda m: m["topic"])
        self.assertEqual([(m["topic"], m["payload"], m["retain"]) for m in got],
                         [("ret/a", b"A", True), ("ret/c", b"C2", True)])
        p = props_of(got[0])
        self.assertEqual(p.get(0x03), b"text/plain", "content type kept")
        self.assertEqual(p.get(0x26), [(b"k", b"v")], "user property kept")

    def test_session_subscriptions_survive_kill9(self):
        s5 = self.raw("subs5", clean=False, properties=EXPIRY_3600)
        self.assertEqual(subscribe_v5(s5, 1, "s/a", 1, sub_id=7), 1)
        self.assertEqual(subscribe_v5(s5, 2, "s/b", 2), 2)
        self.assertEqual(subscribe_v5(s5, 3, "s/x", 1), 1)
        s5.send(packet(10, 2, struct.pack("!H", 4) + b"\x00" + utf8("s/x")))   # UNSUBSCRIBE
        s5.expect(UNSUBACK)
        s5.send(b"\xe0\x00")
        s4 = self.raw("subs4", version=4, clean=False)
        s4.send(raw_subscribe(1, [("s/c", 1)]))
        self.assertEqual(s4.expect(SUBACK)[1], b"\x00\x01\x01")
        s4.send(b"\xe0\x00")
        commit_barrier(self.broker.port)
        self.broker.kill9()
        # Each session's record says which MQTT version it spoke.
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.broker.dir, "ferry.db"),
                             uri=True)
        try:
            versions = dict(db.execute("SELECT CAST(client_id AS TEXT), protocol_version "
                                       "FROM sessions WHERE client_id IN "
                                       "(CAST('subs5' AS BLOB), CAST('subs4' AS BLOB))"))
        finally:
            db.close()
        self.assertEqual(versions, {"subs5": 5, "subs4": 4})
        self.broker.start()

        b5 = self.raw("subs5", clean=False, properties=EXPIRY_3600)
        b4 = self.raw("subs4", version=4, clean=False)
        self.assertEqual(b5.connack[0] & 1, 1, "5.0 session present after kill -9")
        self.assertEqual(b4.connack[0] & 1, 1, "3.1.1 session present after kill -9")
        pub = self.raw("subs-pub")
        for i, (topic, qos) in enumerate([("s/a", 1), ("s/b", 2), ("s/x", 1), ("s/c", 1)]):
            pub.send(raw_publish(topic, topic.encode(), qos=qos, mid=10 + i, version=5))
        got5 = publishes(drain(b5, 5, idle=0.7))
        got4 = publishes(drain(b4, 4, idle=0.3))
        self.assertEqual(sorted((m["topic"], m["qos"]) for m in got5),
                         [("s/a", 1), ("s/b", 2)], "s/x was unsubscribed before the kill")
        sa = [m for m in got5 if m["topic"] == "s/a"][0]
        self.assertEqual(props_of(sa).get(0x0B), 7, "subscription identifier kept")
        self.assertEqual([(m["topic"], m["qos"]) for m in got4], [("s/c", 1)])

    def test_expiry_counts_the_time_the_broker_was_down(self):
        port = self.broker.port
        s = self.raw("exp-msg", clean=False, properties=EXPIRY_3600)
        self.assertEqual(subscribe_v5(s, 1, "e/#", 1), 1)
        s.send(b"\xe0\x00")
        pub = self.raw("exp-pub")
        publish_acked(pub, "e/short", b"short", mid=1, properties=prop_u32(0x02, 2))
        publish_acked(pub, "e/long", b"long", mid=2, properties=prop_u32(0x02, 3600))
        publish_acked(pub, "e/none", b"none", mid=3)
        publish_acked(pub, "r/short", b"r-short", mid=4, retain=True,
                      properties=prop_u32(0x02, 2))
        publish_acked(pub, "r/long", b"r-long", mid=5, retain=True,
                      properties=prop_u32(0x02, 3600))
        # Last, right before the stop: a session that expires 2 s after its disconnect, and a
        # control session with 3600 s.
        short = self.raw("exp-short", clean=False, properties=prop_u32(0x11, 2))
        self.assertEqual(subscribe_v5(short, 1, "x/t", 1), 1)
        short.send(b"\xe0\x00")
        ctl = self.raw("exp-ctl", clean=False, properties=EXPIRY_3600)
        self.assertEqual(subscribe_v5(ctl, 1, "x/t", 1), 1)
        ctl.send(b"\xe0\x00")
        commit_barrier(port)
        self.broker.kill9()
        stopped = time.monotonic()
        time.sleep(3.0)   # the expiries (2 s) pass while ferryd is down
        self.broker.start()
        down = time.monotonic() - stopped

        short_back = self.raw("exp-short", clean=False, properties=prop_u32(0x11, 2))
        self.assertEqual(short_back.connack[0] & 1, 0,
                         "session expired while the broker was down: Session Present 0")
        ctl_back = self.raw("exp-ctl", clean=False, properties=EXPIRY_3600)
        self.assertEqual(ctl_back.connack[0] & 1, 1, "control session present")

        back = self.raw("exp-msg", clean=False, properties=EXPIRY_3600)
        self.assertEqual(back.connack[0] & 1, 1)
        got = {m["topic"]: m for m in publishes(drain(back, 5, idle=0.7))}
        self.assertEqual(sorted(got), ["e/long", "e/none"],
                         "e/short expired while the broker was down (MQTT-3.3.2-5)")
        remaining = props_of(got["e/long"]).get(0x02)
        self.assertIsNotNone(remaining, "Message Expiry Interval kept")
        self.assertLessEqual(remaining, 3600 - int(down),
                             "the interval counts the %.1f s the broker was down "
                             "(MQTT-3.3.2-6)" % down)
        self.assertNotIn(0x02, props_of(got["e/none"]))

        sub = self.raw("exp-new")
        self.assertEqual(subscribe_v5(sub, 1, "r/#", 1), 1)
        retained = publishes(drain(sub, 5, idle=0.7))
        self.assertEqual([m["topic"] for m in retained], ["r/long"],
                         "an expired retained message is not sent")


if __name__ == "__main__":
    unittest.main(verbosity=2)
