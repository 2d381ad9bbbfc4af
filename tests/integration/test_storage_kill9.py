"""kill -9 of ferryd with durable traffic in flight (issue 3, "Faults and bad input"):

- a stream of QoS 1 and QoS 2 publishes to offline persistent subscribers (3.1.1 clean session 0
  and 5.0 session expiry 3600): after the restart every message that was acknowledged (PUBACK /
  PUBREC) is delivered, QoS 2 exactly once, in order per publisher (MQTT 5.0 4.6: ordered
  delivery per topic and QoS);
- an online persistent subscriber that never acknowledges: after the restart the unacknowledged
  PUBLISH packets come again with DUP=1 and their original packet identifiers, and QoS 2 messages
  it had answered with PUBREC come back as PUBREL (MQTT 5.0 4.4, MQTT-4.4.0-1, MQTT-4.3.3-7)."""
import collections
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, AckedPublisher, FerryBroker,  # noqa: E402
                           commit_barrier, drain, number_of, parse_publish, prop_u32,
                           raw_ack, raw_connected, raw_publish, raw_subscribe)

# Unlimited queues: what is tested is durability, not the drop-oldest policy.
TOML = "[limits]\nmax_queued_messages = 0\n"
EXPIRY_3600 = prop_u32(0x11, 3600)


def subscribe(raw, topic_filter, qos, version, mid=1):
    raw.send(raw_subscribe(mid, [(topic_filter, qos)], version=version))
    _, body = raw.expect(SUBACK)
    return body[-1]


def persistent(port, client_id, version):
    """A raw client of a persistent session: 3.1.1 clean session 0, or 5.0 clean start 0 with
    session expiry 3600."""
    if version == 5:
        return raw_connected(port, client_id, version=5, clean=False, properties=EXPIRY_3600)
    return raw_connected(port, client_id, version=4, clean=False)


class Kill9Test(unittest.TestCase):
    STORAGE_TOML = ""   # keys that continue the harness's [storage] table

    def setUp(self):
        self.broker = FerryBroker(extra_toml=self.STORAGE_TOML + TOML)
        self.broker.start()
        self.addCleanup(self.broker.cleanup)
        self.addCleanup(self.broker.stop)
        self.raws = []
        self.addCleanup(lambda: [r.close() for r in self.raws])

    def track(self, raw):
        self.raws.append(raw)
        return raw


class StreamToOfflineSubscribers(Kill9Test):
    def test_every_acknowledged_message_survives_kill9_qos2_exactly_once_in_order(self):
        port = self.broker.port
        subscribers = {"k9-sub4": 4, "k9-sub5": 5}
        for cid, version in subscribers.items():
            raw = persistent(port, cid, version)
            self.assertEqual(subscribe(raw, "k9/#", 2, version), 2)
            raw.send(b"\xe0\x00")
            raw.close()
        commit_barrier(port)   # the sessions and subscriptions are on disk before the kill

        p1 = AckedPublisher(port, "k9-pub1", "k9/q1", 1, "q1", version=5)
        p2 = AckedPublisher(port, "k9-pub2", "k9/q2", 2, "q2", version=4)
        for p in (p1, p2):
            p.start()
        # Kill while both streams run: each has had a few hundred acknowledgements and is still
        # sending (neither has a limit).
        ok = p1.wait_acked(300, 15.0) and p2.wait_acked(300, 15.0)
        still_running = not p1.closed.is_set() and not p2.closed.is_set()
        self.broker.kill9()
        for p in (p1, p2):
            p.join(10.0)
            self.assertFalse(p.is_alive(), "publisher did not notice the kill")
        self.assertTrue(ok, "publishers got only %d / %d acknowledgements"
                        % (len(p1.acked), len(p2.acked)))
        self.assertTrue(still_running, "a stream ended before the kill: %r %r"
                        % (p1.error, p2.error))
        acked = {"q1": set(p1.acked), "q2": set(p2.acked)}
        sent = {"q1": set(p1.sent), "q2": set(p2.sent)}

        self.broker.start()
        for cid, version in subscribers.items():
            with self.subTest(subscriber=cid):
                raw = self.track(persistent(self.broker.port, cid, version))
                self.assertEqual(raw.connack[0] & 1, 1, "session present after the restart")
                packets = drain(raw, version, idle=1.5)
                got = collections.defaultdict(list)   # tag -> numbers in arrival order
                for kind, msg in packets:
                    if kind == "PUBLISH":
                        tag, n = number_of(msg["payload"])
                        got[tag].append(n)
                        self.assertEqual(msg["topic"], "k9/" + tag)
                for tag in ("q1", "q2"):
                    numbers = got[tag]
                    missing = sorted(acked[tag] - set(numbers))
                    self.assertEqual(missing[:20], [], "%s: %d acknowledged messages lost "
                                     "(of %d acknowledged)" % (tag, len(missing),
                                                               len(acked[tag])))
                    unknown = set(numbers) - sent[tag]
                    self.assertEqual(unknown, set(), "delivered but never sent")
                    dups = [n for n, c in collections.Counter(numbers).items() if c > 1]
                    if tag == "q2":
                        self.assertEqual(dups, [], "QoS 2 delivered more than once")
                    # In order per publisher: first arrivals strictly increasing.
                    seen, firsts = set(), []
                    for n in numbers:
                        if n not in seen:
                            seen.add(n)
                            firsts.append(n)
                    self.assertEqual(firsts, sorted(firsts), "%s out of order" % tag)
                    print("%s %s: acked=%d sent=%d delivered=%d unacked_delivered=%d "
                          "duplicates=%d" % (cid, tag, len(acked[tag]), len(sent[tag]),
                                             len(numbers), len(set(numbers) - acked[tag]),
                                             len(numbers) - len(set(numbers))))
                raw.send(b"\xe0\x00")


class Receiver(threading.Thread):
    """A well-behaved persistent MQTT 5.0 receiver on a raw socket, as an application would
    run it: QoS 1 delivered on every PUBLISH (at least once); QoS 2 delivered on a PUBLISH whose
    packet id is not awaiting PUBREL, the id kept until PUBREL (5.0 4.3.3 method B). `pending`
    (the ids awaiting PUBREL) is the session state the client keeps across reconnects, so a
    second Receiver is given the first one's. Runs until the connection ends or `deadline_s`."""

    def __init__(self, port, client_id, pending, delivered, trace, deadline_s=20.0):
        super().__init__(daemon=True)
        self.raw = persistent(port, client_id, 5)
        self.pending, self.delivered, self.trace = pending, delivered, trace
        self.deadline_s = deadline_s

    def run(self):
        deadline = time.monotonic() + self.deadline_s
        try:
            while time.monotonic() < deadline:
                try:
                    ptype, flags, body = self.raw.read_packet(0.5)
                except socket.timeout:
                    continue
                if ptype == PUBLISH:
                    msg = parse_publish(flags, body, 5)
                    self.trace.append(("PUBLISH", msg["mid"], msg["dup"], msg["payload"][:9]))
                    if msg["qos"] == 1:
                        self.delivered.append(msg["payload"])
                        self.raw.send(raw_ack(PUBACK, msg["mid"]))
                    elif msg["qos"] == 2:
                        if msg["mid"] not in self.pending:
                            self.pending.add(msg["mid"])
                            self.delivered.append(msg["payload"])
                        self.raw.send(raw_ack(PUBREC, msg["mid"]))
                elif ptype == PUBREL:
                    mid = int.from_bytes(body[:2], "big")
                    self.trace.append(("PUBREL", mid))
                    self.pending.discard(mid)
                    self.raw.send(raw_ack(PUBCOMP, mid))
        except (EOFError, OSError):
            pass
        finally:
            self.raw.close()


class StreamToOnlineSubscriber(Kill9Test):
    def test_qos2_exactly_once_to_an_online_persistent_subscriber_across_kill9(self):
        """The subscriber is connected and completes every flow while the QoS 1 and QoS 2
        streams run; ferryd is killed mid-stream; the subscriber reconnects (keeping its
        session state) and goes on. Every acknowledged message reaches the application, QoS 2
        exactly once: a QoS 2 PUBLISH the subscriber may already hold must come back with its
        original packet id (or as PUBREL), never under a new id."""
        port = self.broker.port
        raw = persistent(port, "k9-online", 5)
        self.assertEqual(subscribe(raw, "k9o/#", 2, 5), 2)
        raw.close()
        commit_barrier(port)
        pending, delivered, trace = set(), [], []
        first = Receiver(port, "k9-online", pending, delivered, trace)
        first.start()
        p1 = AckedPublisher(port, "k9o-pub1", "k9o/q1", 1, "q1", version=5)
        p2 = AckedPublisher(port, "k9o-pub2", "k9o/q2", 2, "q2", version=5)
        for p in (p1, p2):
            p.start()
        ok = p1.wait_acked(300, 15.0) and p2.wait_acked(300, 15.0)
        self.broker.kill9()
        for t in (p1, p2, first):
            t.join(10.0)
            self.assertFalse(t.is_alive())
        self.assertTrue(ok, "only %d / %d acknowledged" % (len(p1.acked), len(p2.acked)))
        self.broker.start()
        trace.append(("RESTART",))
        second = Receiver(self.broker.port, "k9-online", pending, delivered, trace,
                          deadline_s=3.0)
        self.assertEqual(second.raw.connack[0] & 1, 1, "session present")
        second.start()
        second.join(10.0)
        got = collections.defaultdict(list)
        for payload in delivered:
            tag, n = number_of(payload)
            got[tag].append(n)
        for tag, p in (("q1", p1), ("q2", p2)):
            missing = sorted(set(p.acked) - set(got[tag]))
            self.assertEqual(missing[:20], [], "%s: %d acknowledged never delivered"
                             % (tag, len(missing)))
            dups = sorted(n for n, c in collections.Counter(got[tag]).items() if c > 1)
            print("online %s: acked=%d delivered=%d duplicates=%s" % (
                tag, len(p.acked), len(got[tag]), dups[:10]))
            if tag == "q2":
                relevant = [e for e in trace if e[0] != "PUBLISH" or e[3] in
                            {b"q2-%06d" % n for n in dups}]
                self.assertEqual(dups, [], "QoS 2 delivered twice to the application; "
                                 "trace of those: %r" % relevant[-40:])


class PubrelWriteAhead(Kill9Test):
    STORAGE_TOML = 'sync = "full"\n'   # longer commits: a wider window for the kill

    def test_qos2_completed_flow_not_resent_as_publish_after_kill9_MQTT_4_3_3(self):
        """Once the broker sent PUBREL and the subscriber answered PUBCOMP, the packet id is
        free on the subscriber's side: "After it has sent a PUBCOMP, the receiver MUST treat
        any subsequent PUBLISH packet that contains that Packet Identifier as being a new
        Application Message" (5.0 4.3.3). So the broker must never send that PUBLISH again,
        even after kill -9: its "released" state must be on disk before the PUBREL leaves.
        A stream of large durable messages keeps the writer busy, and ferryd is killed right
        after the PUBRELs arrive."""
        port = self.broker.port
        sink = persistent(port, "wa-sink", 5)
        self.assertEqual(subscribe(sink, "load/#", 1, 5), 1)
        sink.close()
        sub = self.track(persistent(port, "wa-sub", 5))
        self.assertEqual(subscribe(sub, "wa/#", 2, 5), 2)
        pub = self.track(raw_connected(port, "wa-pub", version=5))
        for i in range(5):
            pub.send(raw_publish("wa/q2", b"wa-%d" % i, qos=2, mid=i + 1, version=5))
        mids = {}
        for _ in range(20):
            if len(mids) == 5:
                break
            ptype, flags, body = sub.read_packet(5.0)
            if ptype == PUBLISH:
                msg = parse_publish(flags, body, 5)
                mids[msg["mid"]] = msg["payload"]
        self.assertEqual(len(mids), 5)
        commit_barrier(port)   # the in-flight QoS 2 deliveries are on disk
        load = AckedPublisher(port, "wa-load", "load/t", 1, "L", version=5, window=8,
                              size=256 * 1024)
        load.start()
        self.addCleanup(load.join, 10.0)
        self.assertTrue(load.wait_acked(4, 10.0), "the load stream runs")
        for mid in mids:
            sub.send(raw_ack(PUBREC, mid))
        rels = set()
        for _ in range(20):
            if len(rels) == 5:
                break
            ptype, _, body = sub.read_packet(5.0)
            if ptype == PUBREL:
                mid = int.from_bytes(body[:2], "big")
                rels.add(mid)
                sub.send(raw_ack(PUBCOMP, mid))
        self.broker.kill9()
        self.assertEqual(rels, set(mids))
        self.broker.start()
        back = self.track(persistent(self.broker.port, "wa-sub", 5))
        again = [m for kind, m in drain(back, 5, idle=1.0) if kind == "PUBLISH"]
        self.assertEqual([(m["mid"], m["payload"]) for m in again], [],
                         "QoS 2 messages whose flow completed were published again")


class InboundQos2AcrossKill9(Kill9Test):
    """The publisher's side of exactly once (spec 4.3.3, method B on the receiver): a packet id
    answered with PUBREC stays known until PUBREL, also across kill -9, so a PUBLISH the client
    resends under it is acknowledged and not delivered again; once PUBCOMP went out, the id is
    free, also across kill -9, so the client's next message under it is a new message."""

    def test_resent_qos2_publish_after_kill9_is_a_duplicate_and_freed_id_is_new(self):
        port = self.broker.port
        sub = persistent(port, "in-sub", 5)
        self.assertEqual(subscribe(sub, "in/#", 2, 5), 2)
        sub.send(b"\xe0\x00")
        sub.close()
        pub = self.track(persistent(port, "in-pub", 5))
        pub.send(raw_publish("in/t", b"once", qos=2, mid=7, version=5))
        _, body = pub.expect(PUBREC)
        self.assertEqual(body[2:3], b"", "PUBREC: Success")
        self.broker.kill9()   # right after the PUBREC: no commit barrier, the PUBREC is one

        self.broker.start()
        port = self.broker.port
        pub = self.track(persistent(port, "in-pub", 5))
        self.assertEqual(pub.connack[0] & 1, 1, "session present")
        # The client never saw that PUBREC (as far as it knows): it resends, DUP=1.
        pub.send(raw_publish("in/t", b"once", qos=2, mid=7, dup=True, version=5))
        _, body = pub.expect(PUBREC)
        self.assertEqual(body[2:3], b"", "the resend is acknowledged as a duplicate")
        pub.send(raw_ack(PUBREL, 7))
        _, body = pub.expect(PUBCOMP)
        self.assertEqual(body[2:3], b"", "PUBCOMP: Success (0x92 would mean the id was lost)")
        self.broker.kill9()   # right after the PUBCOMP

        self.broker.start()
        port = self.broker.port
        pub = self.track(persistent(port, "in-pub", 5))
        pub.send(raw_publish("in/t", b"again", qos=2, mid=7, version=5))
        pub.expect(PUBREC)
        pub.send(raw_ack(PUBREL, 7))
        pub.expect(PUBCOMP)
        commit_barrier(port)

        back = self.track(persistent(port, "in-sub", 5))
        got = [m["payload"] for kind, m in drain(back, 5, idle=1.0) if kind == "PUBLISH"]
        self.assertEqual(got, [b"once", b"again"])

    def test_pubrel_for_an_id_lost_with_a_clean_session_gets_0x92(self):
        # The other side of the same rule: without a persistent session nothing is kept, and
        # a PUBREL for an unknown id is answered 0x92 (spec 4.3.3) rather than silently.
        port = self.broker.port
        pub = self.track(raw_connected(port, "in-clean", version=5))
        pub.send(raw_publish("in/t", b"x", qos=2, mid=9, version=5))
        pub.expect(PUBREC)
        self.broker.kill9()
        self.broker.start()
        pub = self.track(raw_connected(self.broker.port, "in-clean", version=5))
        pub.send(raw_ack(PUBREL, 9))
        _, body = pub.expect(PUBCOMP)
        self.assertEqual(body[2:3], b"\x92")


class OnlineSubscriberThatNeverAcks:
    """The subscriber is connected and receives, but sends no PUBACK; of the QoS 2 messages
    it answers the first half with PUBREC (so the broker moves them to PUBREL) and leaves the
    rest unanswered. Then kill -9, restart, reconnect with the session. The scenario runs once
    per class (VERSION); each test checks one rule on what came back."""

    VERSION = None

    @classmethod
    def setUpClass(cls):
        broker = FerryBroker(extra_toml=TOML)
        broker.start()
        try:
            cls._scenario(broker, cls.VERSION, "on-sub%d" % cls.VERSION)
        finally:
            broker.stop()
            cls.log = broker.log()
            broker.cleanup()

    @classmethod
    def _scenario(cls, broker, version, cid):
        port = broker.port
        sub = persistent(port, cid, version)
        pub = raw_connected(port, "on-pub-" + cid, version=5)
        try:
            assert subscribe(sub, "on/#", 2, version) == 2
            cls.first = first = {}   # payload -> (qos, packet id) of the first transmission
            cls.order = order = []   # payloads in the order first sent
            for i in range(5):
                pub.send(raw_publish("on/q1", b"one-%d" % i, qos=1, mid=100 + i, version=5))
            for i in range(6):
                pub.send(raw_publish("on/q2", b"two-%d" % i, qos=2, mid=200 + i, version=5))
            for _ in range(40):
                if len(order) == 11:
                    break
                ptype, flags, body = sub.read_packet(5.0)
                if ptype != PUBLISH:
                    continue
                msg = parse_publish(flags, body, version)
                assert not msg["dup"], "first transmission with DUP=1"
                first[msg["payload"]] = (msg["qos"], msg["mid"])
                order.append(msg["payload"])
            assert len(order) == 11, "got %r" % order
            # PUBREC for two-0..two-2; the broker answers each with PUBREL, which we do not
            # complete.
            cls.recd = recd = [b"two-%d" % i for i in range(3)]
            for p in recd:
                sub.send(raw_ack(PUBREC, first[p][1]))
            rels = set()
            for _ in range(10):
                if len(rels) == 3:
                    break
                ptype, flags, body = sub.read_packet(5.0)
                assert (ptype, flags) == (6, 2), "expected PUBREL, got %d" % ptype
                rels.add(int.from_bytes(body[:2], "big"))
            assert rels == {first[p][1] for p in recd}
            commit_barrier(port)   # in-flight and released states committed before the kill
        finally:
            sub.close()
            pub.close()

        broker.kill9()
        broker.start()
        back = persistent(broker.port, cid, version)
        try:
            cls.session_present = back.connack[0] & 1
            packets = drain(back, version, idle=1.0)
            back.send(b"\xe0\x00")
        finally:
            back.close()
        cls.publishes = [m for kind, m in packets if kind == "PUBLISH"]
        cls.pubrels = [m for kind, m in packets if kind == "PUBREL"]
        cls.expect_publish = [p for p in order if p not in recd]

    def test_session_present_and_every_unacknowledged_publish_resent_once(self):
        self.assertEqual(self.session_present, 1, "session present after the restart")
        self.assertEqual(sorted(m["payload"] for m in self.publishes),
                         sorted(self.expect_publish),
                         "every unacknowledged PUBLISH resent once, none of the PUBREC'd ones")

    def test_qos2_pubrecd_come_back_as_pubrel_MQTT_4_4_0_1(self):
        """5.0 4.4 (3.1.1 4.4): the Server MUST resend PUBREL packets with their original
        Packet Identifiers; a PUBREC'd message is not published again (exactly once)."""
        # drain() answers the resent QoS 2 PUBLISHes with PUBREC, so their PUBRELs follow:
        # only the ones for the messages PUBREC'd before the kill are checked here.
        recd_mids = sorted(self.first[p][1] for p in self.recd)
        self.assertEqual(sorted(m for m in self.pubrels if m in recd_mids), recd_mids)
        self.assertEqual([m["payload"] for m in self.publishes if m["payload"] in self.recd], [])

    def test_qos2_unanswered_resent_with_dup_and_original_id_MQTT_4_4_0_1(self):
        """MQTT-4.4.0-1 (original Packet Identifiers) and MQTT-3.3.1-1 (DUP = 1 on a
        re-delivery)."""
        qos2 = [m for m in self.publishes if m["qos"] == 2]
        self.assertEqual(len(qos2), 3)
        for m in qos2:
            self.assertTrue(m["dup"], "%r resent without DUP=1" % m["payload"])
            self.assertEqual(m["mid"], self.first[m["payload"]][1], "%r: packet id changed"
                             % m["payload"])

    def test_qos1_resent_with_dup_and_original_id_MQTT_4_4_0_1(self):
        """The same rule for QoS 1: "the Client and Server MUST resend any unacknowledged
        PUBLISH packets (where QoS > 0) ... using their original Packet Identifiers"."""
        qos1 = [m for m in self.publishes if m["qos"] == 1]
        self.assertEqual(len(qos1), 5)
        self.assertEqual([(m["payload"], m["dup"], m["mid"]) for m in qos1],
                         [(m["payload"], True, self.first[m["payload"]][1]) for m in qos1])

    def test_resend_in_original_order_MQTT_4_6_0_1(self):
        """MQTT-4.6.0-1: "When it re-sends any PUBLISH packets, it MUST re-send them in the
        order in which the original PUBLISH packets were sent"."""
        self.assertEqual([m["payload"] for m in self.publishes], self.expect_publish)


class OnlineSubscriberV5(OnlineSubscriberThatNeverAcks, unittest.TestCase):
    VERSION = 5


class OnlineSubscriberV311(OnlineSubscriberThatNeverAcks, unittest.TestCase):
    VERSION = 4


if __name__ == "__main__":
    unittest.main(verbosity=2)
