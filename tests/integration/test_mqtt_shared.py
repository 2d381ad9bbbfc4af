"""Shared subscriptions ($share/{ShareName}/{filter}, MQTT 5.0 4.8.2) against a real ferryd."""
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (CONNACK, DISCONNECT, PUBLISH, SUBACK, BrokerTestCase,  # noqa: E402
                           packet, parse_ack_v5, parse_publish, raw_connect,
                           raw_subscribe)


class Shared(BrokerTestCase):
    def test_each_message_to_one_member_round_robin_4_8_2(self):
        """5.0 4.8.2: each message matching a shared subscription is sent to only one of the
        sessions in the group. Ferry (issue 2) picks members round robin: 3 members and 30 QoS 1
        messages -> 10 each, every message exactly once overall."""
        members = []
        for i in range(3):
            m = self.connected("sh%d" % i, 5)
            self.assertEqual(m.subscribe("$share/g/sh/#", 1), [1])
            members.append(m)
        p = self.connected("sh-pub", 5)
        for i in range(30):
            p.publish("sh/t", b"%d" % i, 1)
        total = lambda: sum(len(m.messages) for m in members)  # noqa: E731
        self.assertTrue(members[0].wait(lambda: total() >= 30, 5.0) or total() >= 30,
                        "only %d of 30 delivered" % total())
        members[0].wait(lambda: total() > 30, 0.4)
        payloads = sorted(int(msg.payload) for m in members for msg in m.messages)
        self.assertEqual(payloads, list(range(30)), "each message exactly once in the group")
        self.assertEqual([len(m.messages) for m in members], [10, 10, 10])
        for m in members:
            self.assertEqual([msg.topic for msg in m.messages], ["sh/t"] * 10)

    def test_member_granted_qos_respected_MQTT_4_8_2_3(self):
        """5.0 MQTT-4.8.2-3: the Server MUST respect the granted QoS of the member's own
        subscription: QoS 2 messages reach the QoS 0 member at QoS 0 and the QoS 2 member at 2."""
        low = self.connected("gq0", 5)
        self.assertEqual(low.subscribe("$share/gq/gq/t", 0), [0])
        high = self.connected("gq2", 5)
        self.assertEqual(high.subscribe("$share/gq/gq/t", 2), [2])
        p = self.connected("gq-pub", 5)
        for i in range(6):
            p.publish("gq/t", b"%d" % i, 2)
        self.assertTrue(low.wait(lambda: len(low.messages) + len(high.messages) >= 6, 5.0))
        self.assertTrue(low.messages and high.messages, "one member got nothing")
        self.assertEqual({m.qos for m in low.messages}, {0})
        self.assertEqual({m.qos for m in high.messages}, {2})

    def test_groups_and_plain_subscribers_each_get_a_copy_4_8_2(self):
        """5.0 4.8.2: a shared subscription is independent of other groups and of non-shared
        subscriptions to the same filter: each gets its own copy."""
        g1 = self.connected("g1", 5)
        g1.subscribe("$share/one/ind/t", 1)
        g2 = self.connected("g2", 5)
        g2.subscribe("$share/two/ind/t", 1)
        plain = self.connected("plain", 5)
        plain.subscribe("ind/t", 1)
        p = self.connected("ind-pub", 5)
        p.publish("ind/t", b"x", 1)
        for c in (g1, g2, plain):
            self.assertTrue(c.wait_messages(1, 5.0))

    def test_unacked_messages_redistributed_when_member_leaves_4_8_2(self):
        """5.0 4.8.2: if a member's connection breaks before it acknowledged a QoS 1 message and
        its session ends, the Server SHOULD send the message to another member. Ferry (issue 2)
        does: member A never acks and disconnects (session expiry 0), member B ends up with
        every message."""
        a = self.raw()
        a.send(raw_connect("sha", version=5))
        a.expect(CONNACK)
        a.send(raw_subscribe(1, [("$share/rd/rd/t", 1)], version=5))
        a.expect(SUBACK)
        b = self.connected("shb", 5)
        b.subscribe("$share/rd/rd/t", 1)
        p = self.connected("rd-pub", 5)
        for i in range(6):
            p.publish("rd/t", b"%d" % i, 1)
        held = []
        deadline = time.monotonic() + 5.0
        while len(held) + len(b.messages) < 6 and time.monotonic() < deadline:
            try:
                t, flags, body = a.read_packet(0.2)
            except socket.timeout:
                continue
            self.assertEqual(t, PUBLISH)
            held.append(parse_publish(flags, body, 5)["payload"])
        self.assertTrue(held, "member A got nothing: the test needs A to hold some")
        a.close()
        self.assertTrue(b.wait_messages(6, 5.0),
                        "B got %r; A held %r" % ([m.payload for m in b.messages], held))
        self.assertEqual(sorted(int(m.payload) for m in b.messages), list(range(6)))

    def test_qos2_inflight_not_redistributed_when_member_leaves_MQTT_4_8_2_5(self):
        """5.0 MQTT-4.8.2-4/-5: a QoS 2 message whose delivery to the chosen member broke off is
        completed with that Client when it reconnects; if its Session ends first, the Server MUST
        NOT send the message to any other subscribed Client. Member A (Session Expiry 0) gets
        the QoS 2 PUBLISH, never answers, disconnects: member B must not get that message,
        while later messages still reach B."""
        a = self.raw()
        a.send(raw_connect("q2a", version=5))
        a.expect(CONNACK)
        a.send(raw_subscribe(1, [("$share/q2/q2s/t", 2)], version=5))
        a.expect(SUBACK)
        b = self.connected("q2b", 5)
        b.subscribe("$share/q2/q2s/t", 2)
        p = self.connected("q2-pub", 5)
        held = None
        for i in range(6):  # round robin: some message goes to A within a few publishes
            p.publish("q2s/t", b"%d" % i, 2)
            try:
                t, flags, body = a.read_packet(0.5)
            except socket.timeout:
                continue
            self.assertEqual(t, PUBLISH)
            held = parse_publish(flags, body, 5)
            break
        self.assertIsNotNone(held, "member A never got a message")
        self.assertEqual(held["qos"], 2)
        a.close()
        p.publish("q2s/t", b"after", 2)
        self.assertTrue(b.wait(lambda: any(m.payload == b"after" for m in b.messages), 5.0))
        b.wait(lambda: any(m.payload == held["payload"] for m in b.messages), 0.5)
        self.assertNotIn(held["payload"], [m.payload for m in b.messages],
                         "QoS 2 message of the departed member was sent to another member")

    def test_member_refusal_not_redistributed_MQTT_4_8_2_6(self):
        """5.0 MQTT-4.8.2-6: if a member answers a PUBLISH with PUBACK >= 0x80, the Server MUST
        discard the message and not attempt to send it to any other subscriber."""
        a = self.raw()
        a.send(raw_connect("refa", version=5))
        a.expect(CONNACK)
        a.send(raw_subscribe(1, [("$share/rf/rf/t", 1)], version=5))
        a.expect(SUBACK)
        b = self.connected("refb", 5)
        b.subscribe("$share/rf/rf/t", 1)
        p = self.connected("rf-pub", 5)
        refused = None
        for i in range(6):
            p.publish("rf/t", b"%d" % i, 1)
            try:
                t, flags, body = a.read_packet(0.5)
            except socket.timeout:
                continue
            refused = parse_publish(flags, body, 5)
            a.send(packet(4, 0, struct.pack("!HB", refused["mid"], 0x80) + b"\x00"))
            break
        self.assertIsNotNone(refused, "member A never got a message")
        p.publish("rf/t", b"after", 1)
        a.close()
        b.wait(lambda: any(m.payload == refused["payload"] for m in b.messages), 1.0)
        self.assertNotIn(refused["payload"], [m.payload for m in b.messages],
                         "refused message was sent to another member")

    def test_retained_not_sent_to_shared_subscription_3_8_4(self):
        """5.0 4.8.2 / 3.8.4: retained messages are not sent to a session when it subscribes to a
        shared subscription."""
        p = self.connected("shr-pub", 5)
        p.publish("shr/t", b"retained", 1, retain=True)
        s = self.connected("shr", 5)
        s.subscribe("$share/g/shr/t", 1)
        p.publish("shr/t", b"live", 1)
        self.assertTrue(s.wait_messages(1, 5.0))
        s.wait(lambda: len(s.messages) > 1, 0.3)
        self.assertEqual([m.payload for m in s.messages], [b"live"])

    def test_unsubscribe_shared_leaves_group_3_10_4(self):
        """5.0 3.10.4 / 3.11.3: UNSUBSCRIBE of "$share/g/f" succeeds (0x00) and the session
        leaves the group: the remaining member gets every later message."""
        a = self.connected("ua", 5)
        a.subscribe("$share/g/us/t", 1)
        b = self.connected("ub", 5)
        b.subscribe("$share/g/us/t", 1)
        self.assertEqual(a.unsubscribe("$share/g/us/t"), [0])
        p = self.connected("us-pub", 5)
        for i in range(6):
            p.publish("us/t", b"%d" % i, 1)
        self.assertTrue(b.wait_messages(6, 5.0))
        a.wait(lambda: len(a.messages) > 0, 0.3)
        self.assertEqual(a.messages, [])


    def _refused(self, flt, opts=1):
        """SUBSCRIBE flt -> either a SUBACK failure code (>= 0x80) or a DISCONNECT with a reason
        >= 0x80 and a close. Returns the reason code."""
        r = self.raw()
        r.send(raw_connect("bad-" + str(abs(hash(flt)))[:6], version=5))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [(flt, opts)], version=5))
        t, flags, body = r.read_packet(5.0)
        if t == SUBACK:
            mid, p, codes = parse_ack_v5(body)
            self.assertEqual(len(codes), 1)
            self.assertGreaterEqual(codes[0], 0x80, "%r was granted" % flt)
            return codes[0]
        self.assertEqual(t, DISCONNECT, "unexpected packet %d for %r" % (t, flt))
        self.assertGreaterEqual(body[0], 0x80)
        self.assertTrue(r.wait_closed(5.0))
        return body[0]

    def test_malformed_share_names_refused_MQTT_4_8_2_1_and_2(self):
        """5.0 MQTT-4.8.2-1: a ShareName is at least one character; MQTT-4.8.2-2: it contains no
        '/', '+' or '#' and is followed by '/' and a Topic Filter. "$share/ab" (no filter),
        "$share//t" (empty name), "$share/a+/t" and "$share/#/t" are refused (SUBACK 0x8F Topic
        Filter invalid, or a DISCONNECT with an error reason)."""
        for flt in ("$share/ab", "$share//t", "$share/a+/t", "$share/#/t", "$share/g/"):
            self._refused(flt)

    def test_no_local_on_shared_subscription_is_protocol_error_MQTT_3_8_3_4(self):
        """5.0 MQTT-3.8.3-4: No Local 1 on a Shared Subscription is a Protocol Error (the Server
        closes with DISCONNECT 0x82)."""
        code = self._refused("$share/g/nl/t", opts=1 | 0x04)
        self.assertEqual(code, 0x82)


if __name__ == "__main__":
    unittest.main()
