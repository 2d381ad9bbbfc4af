"""PUBLISH at QoS 0/1/2 in both directions, exactly-once delivery, redelivery with DUP after a
reconnect, ordering and the outgoing in-flight window, against a real ferryd."""
import os
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (CONNACK, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL,  # noqa: E402
                           SUBACK, UNSUBACK, BrokerTestCase, packet, parse_publish,
                           raw_ack, raw_connect, raw_publish, raw_subscribe, utf8)

SESSION_EXPIRY_60 = b"\x11" + struct.pack("!I", 60)


class QosLevels(BrokerTestCase):
    def test_delivered_qos_is_min_of_published_and_granted_MQTT_3_8_4_8(self):
        """5.0 MQTT-3.8.4-8 (3.1.1 3.8.4): the QoS of a forwarded message is the minimum of the
        published QoS and the granted QoS. Every combination, both protocol versions."""
        for version in (4, 5):
            subs = {}
            for sq in (0, 1, 2):
                s = self.connected("sub%d-v%d" % (sq, version), version)
                self.assertEqual(s.subscribe("q/v%d" % version, sq), [sq])
                subs[sq] = s
            pub = self.connected("pub-v%d" % version, version)
            for pq in (0, 1, 2):
                pub.publish("q/v%d" % version, b"p%d" % pq, pq)
            for sq, s in subs.items():
                self.assertTrue(s.wait_messages(3, 5.0), "sub qos %d got %d messages (v%d)"
                                % (sq, len(s.messages), version))
                got = sorted((m.payload, m.qos) for m in s.messages)
                self.assertEqual(got, [(b"p%d" % pq, min(pq, sq)) for pq in (0, 1, 2)])

    def test_qos2_many_messages_exactly_once_in_order_MQTT_4_3_3_and_4_6_0_6(self):
        """QoS 2 is delivered exactly once (4.3.3), and a topic is ordered by default
        (5.0 MQTT-4.6.0-6): 200 QoS 2 messages arrive once each, in publish order."""
        s = self.connected("once-sub", 5)
        s.subscribe("once/t", 2)
        p = self.connected("once-pub", 5)
        infos = [p.publish("once/t", b"%d" % i, 2, wait=False) for i in range(200)]
        self.assertTrue(p.wait(lambda: all(i.mid in p.acked for i in infos), 15.0),
                        "publisher's QoS 2 flows did not complete")
        self.assertTrue(s.wait_messages(200, 10.0), "got %d of 200" % len(s.messages))
        # Wait a little for any duplicate that would follow.
        s.wait(lambda: len(s.messages) > 200, 0.5)
        self.assertEqual([m.payload for m in s.messages], [b"%d" % i for i in range(200)])
        self.assertTrue(all(m.qos == 2 for m in s.messages))

    def test_qos2_inbound_resend_before_pubrel_not_duplicated_MQTT_4_3_3_10(self):
        """5.0 MQTT-4.3.3-10 (3.1.1 4.3.3 receiver rules): until PUBREL, a PUBLISH with the same
        Packet Identifier is answered with PUBREC and MUST NOT cause a duplicate delivery. After
        PUBCOMP the identifier may be reused for a new message."""
        s = self.connected("x2-sub", 5)
        s.subscribe("x2/t", 2)
        r = self.raw()
        r.send(raw_connect("x2-pub", version=4))
        r.expect(CONNACK)
        for dup in (False, True, True):
            r.send(raw_publish("x2/t", b"one", qos=2, mid=7, dup=dup))
            flags, body = r.expect(PUBREC)
            self.assertEqual(body, b"\x00\x07")
        r.send(raw_ack(PUBREL, 7))
        flags, body = r.expect(PUBCOMP)
        self.assertEqual(body, b"\x00\x07")
        self.assertTrue(s.wait_messages(1, 5.0))
        r.send(raw_publish("x2/t", b"two", qos=2, mid=7))
        r.expect(PUBREC)
        r.send(raw_ack(PUBREL, 7))
        r.expect(PUBCOMP)
        self.assertTrue(s.wait_messages(2, 5.0))
        s.wait(lambda: len(s.messages) > 2, 0.5)
        self.assertEqual([m.payload for m in s.messages], [b"one", b"two"])

    def test_qos1_same_id_after_puback_is_new_message_MQTT_4_3_2_5(self):
        """5.0 MQTT-4.3.2-5: after sending PUBACK the receiver MUST treat a PUBLISH with the same
        Packet Identifier as a new Application Message, irrespective of its DUP flag."""
        s = self.connected("q1new-sub", 5)
        s.subscribe("q1new/t", 1)
        r = self.raw()
        r.send(raw_connect("q1new", version=4))
        r.expect(CONNACK)
        r.send(raw_publish("q1new/t", b"a", qos=1, mid=3))
        r.expect(PUBACK)
        r.send(raw_publish("q1new/t", b"b", qos=1, mid=3, dup=True))
        r.expect(PUBACK)
        self.assertTrue(s.wait_messages(2, 5.0), "got %r" % [m.payload for m in s.messages])
        self.assertEqual([m.payload for m in s.messages], [b"a", b"b"])
        self.assertTrue(all(not m.dup for m in s.messages),
                        "MQTT-3.3.1-3: outgoing DUP is set only for retransmissions")

    def test_unsubscribe_completes_started_qos2_delivery_MQTT_3_10_4_3(self):
        """MQTT-3.10.4-3: after UNSUBSCRIBE the Server MUST complete the delivery of QoS 1/2
        messages it has started to send: the PUBREL still comes after the client's PUBREC."""
        r = self.raw()
        r.send(raw_connect("unsq2", version=4))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("unsq2/t", 2)]))
        r.expect(SUBACK)
        p = self.connected("unsq2-pub", 5)
        p.publish("unsq2/t", b"x", 2)
        m = parse_publish(*r.expect(PUBLISH))
        r.send(packet(10, 2, b"\x00\x02" + utf8("unsq2/t")))
        r.expect(UNSUBACK)
        r.send(raw_ack(PUBREC, m["mid"]))
        t, flags, body = r.read_packet(5.0)
        self.assertEqual((t, body), (PUBREL, struct.pack("!H", m["mid"])))

    def test_qos1_inbound_puback_carries_packet_id_MQTT_2_2_1_5(self):
        """3.1.1 MQTT-2.2.1-5 / 4.3.2: the Server answers a QoS 1 PUBLISH with a PUBACK that has
        the same Packet Identifier (here hand-read: 0x40 0x02 0x12 0x34)."""
        r = self.raw()
        r.send(raw_connect("q1raw", version=4))
        r.expect(CONNACK)
        r.send(raw_publish("q1/t", b"x", qos=1, mid=0x1234))
        t, flags, body = r.read_packet(5.0)
        self.assertEqual((t, flags, body), (PUBACK, 0, b"\x12\x34"))

    def test_qos2_outbound_flow_to_raw_subscriber_MQTT_3_6_1_1(self):
        """Server -> client QoS 2: PUBLISH, client PUBREC, Server PUBREL with fixed header flags
        0010 (3.1.1/5.0 MQTT-3.6.1-1) and the same Packet Identifier, client PUBCOMP."""
        r = self.raw()
        r.send(raw_connect("q2raw", version=4))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("q2/t", 2)]))
        flags, body = r.expect(SUBACK)
        self.assertEqual(body, b"\x00\x01\x02")
        p = self.connected("q2pub", 5)
        p.publish("q2/t", b"hello", 2)
        flags, body = r.expect(PUBLISH)
        msg = parse_publish(flags, body)
        self.assertEqual((msg["topic"], msg["payload"], msg["qos"], msg["dup"]),
                         ("q2/t", b"hello", 2, False))
        self.assertNotEqual(msg["mid"], 0, "MQTT-2.2.1-3: packet identifier must be non-zero")
        r.send(raw_ack(PUBREC, msg["mid"]))
        t, flags, body = r.read_packet(5.0)
        self.assertEqual((t, flags, body), (PUBREL, 2, struct.pack("!H", msg["mid"])))
        r.send(raw_ack(PUBCOMP, msg["mid"]))
        # The flow is complete: the connection stays usable (PINGREQ answered).
        r.send(b"\xc0\x00")
        t, flags, body = r.read_packet(5.0)
        self.assertEqual(t, 13)

    def test_pubrel_for_unknown_id_answered_with_pubcomp_4_3_3(self):
        """3.1.1 4.3.3 / 5.0 4.3.3: the receiver of a PUBREL MUST respond with a PUBCOMP with the
        same Packet Identifier (3.1.1 MQTT-4.3.3-2 ... PUBCOMP even when it holds no state; 5.0
        reason 0x92 Packet Identifier not found is allowed)."""
        r = self.raw()
        r.send(raw_connect("relunk4", version=4))
        r.expect(CONNACK)
        r.send(raw_ack(PUBREL, 99))
        t, flags, body = r.read_packet(5.0)
        self.assertEqual((t, body), (PUBCOMP, b"\x00\x63"))
        r5 = self.raw()
        r5.send(raw_connect("relunk5", version=5))
        r5.expect(CONNACK)
        r5.send(raw_ack(PUBREL, 98))
        t, flags, body = r5.read_packet(5.0)
        self.assertEqual((t, body[:2]), (PUBCOMP, b"\x00\x62"))
        self.assertIn(body[2:3], (b"", b"\x00", b"\x92"))

    def test_large_payload_round_trip(self):
        """A 512 KiB payload (below the default 1 MiB max_packet_size) crosses intact at QoS 1
        (the remaining length takes 3 bytes, 2.2.3)."""
        s = self.connected("big-sub", 5)
        s.subscribe("big/t", 1)
        p = self.connected("big-pub", 4)
        payload = bytes(range(256)) * 2048
        p.publish("big/t", payload, 1)
        self.assertTrue(s.wait_messages(1, 10.0))
        self.assertEqual(s.messages[0].payload, payload)


    def test_fan_in_and_fan_out_every_message_once(self):
        """10 publishers x 50 QoS 1 messages -> one '#' subscriber gets all 500 once, each
        publisher's messages in its order (MQTT-4.6.0-6 per topic); 10 QoS 2 messages fan out to
        20 subscribers once each."""
        sink = self.connected("sink", 5)
        sink.subscribe("fan/in/#", 1)
        pubs = [self.connected("fi%d" % i, 4 if i % 2 else 5) for i in range(10)]
        infos = []
        for n in range(50):
            for i, p in enumerate(pubs):
                infos.append((p, p.publish("fan/in/%d" % i, b"%d" % n, 1, wait=False)))
        self.assertTrue(sink.wait_messages(500, 15.0), "got %d of 500" % len(sink.messages))
        sink.wait(lambda: len(sink.messages) > 500, 0.3)
        self.assertEqual(len(sink.messages), 500)
        for i in range(10):
            seq = [m.payload for m in sink.messages if m.topic == "fan/in/%d" % i]
            self.assertEqual(seq, [b"%d" % n for n in range(50)], "publisher %d" % i)
        outs = [self.connected("fo%d" % i, 5 if i % 2 else 4) for i in range(20)]
        for o in outs:
            o.subscribe("fan/out", 2)
        for n in range(10):
            pubs[0].publish("fan/out", b"%d" % n, 2, wait=False)
        for o in outs:
            self.assertTrue(o.wait_messages(10, 10.0))
        outs[0].wait(lambda: any(len(o.messages) > 10 for o in outs), 0.3)
        for o in outs:
            self.assertEqual([m.payload for m in o.messages], [b"%d" % n for n in range(10)])


class Redelivery(BrokerTestCase):
    def _persistent_raw(self, client_id, version):
        r = self.raw()
        if version == 5:
            r.send(raw_connect(client_id, version=5, clean=False, properties=SESSION_EXPIRY_60))
        else:
            r.send(raw_connect(client_id, version=4, clean=False))
        flags, body = r.expect(CONNACK)
        return r, body

    def _check_dup_redelivery(self, version):
        r, _ = self._persistent_raw("redeliver-v%d" % version, version)
        r.send(raw_subscribe(1, [("rd/t", 1)], version=version))
        r.expect(SUBACK)
        p = self.connected("rd-pub-v%d" % version, 5)
        p.publish("rd/t", b"again", 1)
        flags, body = r.expect(PUBLISH)
        first = parse_publish(flags, body, version)
        self.assertFalse(first["dup"])
        r.close()  # no PUBACK
        r2, connack = self._persistent_raw("redeliver-v%d" % version, version)
        self.assertEqual(connack[0] & 1, 1, "session present must be 1 (MQTT-3.2.2-2)")
        flags, body = r2.expect(PUBLISH)
        again = parse_publish(flags, body, version)
        self.assertEqual((again["payload"], again["mid"], again["qos"]),
                         (b"again", first["mid"], 1), "resent with its original identifier")
        self.assertTrue(again["dup"], "MQTT-3.3.1-1: DUP MUST be 1 on a re-delivery")
        r2.send(raw_ack(PUBACK, again["mid"]))

    def test_v311_unacked_qos1_resent_with_dup_after_reconnect_MQTT_4_4_0_1(self):
        """3.1.1 MQTT-4.4.0-1 / MQTT-3.3.1-1: on reconnect with CleanSession 0 the Server re-sends
        unacknowledged PUBLISH packets with their original Packet Identifiers and DUP = 1."""
        self._check_dup_redelivery(4)

    def test_v5_unacked_qos1_resent_with_dup_after_reconnect_MQTT_4_4_0_1(self):
        """5.0 MQTT-4.4.0-1 / MQTT-3.3.1-1, with Clean Start 0 and Session Expiry 60."""
        self._check_dup_redelivery(5)

    def test_v5_takeover_resends_unacked_with_dup_MQTT_4_4_0_1(self):
        """5.0 MQTT-3.1.4-3 + MQTT-4.4.0-1: a takeover with Clean Start 0 continues the session;
        the QoS 1 message the old connection never acknowledged is re-sent to the new one with
        its original Packet Identifier and DUP 1."""
        a, _ = self._persistent_raw("tko", 5)
        a.send(raw_subscribe(1, [("tko/t", 1)], version=5))
        a.expect(SUBACK)
        p = self.connected("tko-pub", 5)
        p.publish("tko/t", b"inflight", 1)
        first = parse_publish(*a.expect(PUBLISH), version=5)
        b, connack = self._persistent_raw("tko", 5)  # takes over, a is not closed by us
        self.assertEqual(connack[0] & 1, 1)
        again = parse_publish(*b.expect(PUBLISH), version=5)
        self.assertEqual((again["payload"], again["mid"], again["dup"]),
                         (b"inflight", first["mid"], True))
        b.send(raw_ack(PUBACK, again["mid"]))
        self.assertTrue(a.wait_closed(5.0))

    def test_v311_pubrel_resent_after_reconnect_MQTT_4_4_0_1(self):
        """3.1.1 MQTT-4.4.0-1: unacknowledged PUBREL packets are re-sent on reconnect; the PUBLISH
        is not sent again once PUBREC was received (4.3.3)."""
        r, _ = self._persistent_raw("relrd", 4)
        r.send(raw_subscribe(1, [("rel/t", 2)]))
        r.expect(SUBACK)
        p = self.connected("rel-pub", 5)
        p.publish("rel/t", b"x", 2)
        flags, body = r.expect(PUBLISH)
        mid = parse_publish(flags, body)["mid"]
        r.send(raw_ack(PUBREC, mid))
        flags, body = r.expect(PUBREL)
        r.close()  # no PUBCOMP
        r2, _ = self._persistent_raw("relrd", 4)
        t, flags, body = r2.read_packet(5.0)
        self.assertEqual((t, flags, body), (PUBREL, 2, struct.pack("!H", mid)))
        r2.send(raw_ack(PUBCOMP, mid))
        with self.assertRaises(socket.timeout):
            extra = r2.read_packet(0.7)
            self.fail("unexpected packet after PUBCOMP: %r" % (extra,))

    def test_v311_inbound_qos2_state_survives_reconnect_exactly_once_MQTT_4_3_3(self):
        """3.1.1 4.3.3 / MQTT-4.4.0-1: a publisher that got PUBREC, lost the connection and comes
        back (CleanSession 0) re-sends the PUBLISH with DUP 1 and then PUBREL; the Server answers
        PUBREC and PUBCOMP and the message is delivered exactly once."""
        s = self.connected("x2r-sub", 5)
        s.subscribe("x2r/t", 2)
        r, _ = self._persistent_raw("x2r-pub", 4)
        r.send(raw_publish("x2r/t", b"once", qos=2, mid=5))
        flags, body = r.expect(PUBREC)
        self.assertEqual(body, b"\x00\x05")
        r.close()
        r2, connack = self._persistent_raw("x2r-pub", 4)
        self.assertEqual(connack[0] & 1, 1)
        r2.send(raw_publish("x2r/t", b"once", qos=2, mid=5, dup=True))
        flags, body = r2.expect(PUBREC)
        self.assertEqual(body, b"\x00\x05")
        r2.send(raw_ack(PUBREL, 5))
        flags, body = r2.expect(PUBCOMP)
        self.assertEqual(body, b"\x00\x05")
        self.assertTrue(s.wait_messages(1, 5.0))
        s.wait(lambda: len(s.messages) > 1, 0.5)
        self.assertEqual([m.payload for m in s.messages], [b"once"])

    def test_queued_mixed_qos_sent_in_publish_order_MQTT_4_6_0_6(self):
        """5.0 MQTT-4.6.0-6 / 3.1.1 MQTT-4.6.0-6: a Server MUST by default treat each Topic as an
        Ordered Topic: messages queued for an offline session at QoS 1 and 2 go out on the wire
        in the order they were published."""
        r, _ = self._persistent_raw("order", 4)
        r.send(raw_subscribe(1, [("ord/t", 2)]))
        r.expect(SUBACK)
        r.close()
        p = self.connected("order-pub", 5)
        sequence = [1, 2, 1, 2, 2, 1, 1, 2]
        for i, q in enumerate(sequence):
            p.publish("ord/t", b"%d" % i, q)
        r2, _ = self._persistent_raw("order", 4)
        got = []
        for _ in range(3 * len(sequence)):  # bounded: PUBLISHes plus interleaved PUBRELs
            if len(got) == len(sequence):
                break
            t, flags, body = r2.read_packet(5.0)
            if t == PUBREL:
                r2.send(raw_ack(PUBCOMP, struct.unpack("!H", body[:2])[0]))
                continue
            self.assertEqual(t, PUBLISH)
            m = parse_publish(flags, body)
            got.append((m["payload"], m["qos"]))
            r2.send(raw_ack(PUBACK if m["qos"] == 1 else PUBREC, m["mid"]))
        self.assertEqual(got, [(b"%d" % i, q) for i, q in enumerate(sequence)])


class InflightWindow(BrokerTestCase):
    BROKER_TOML = "[limits]\nmax_inflight = 5\n"

    def test_outgoing_inflight_window_respected(self):
        """[limits] max_inflight = 5: a subscriber that does not acknowledge has at most 5 QoS 1
        messages in flight (distinct non-zero identifiers, MQTT-2.2.1-2/-3); each PUBACK releases
        exactly one more, in order (MQTT-4.6.0-6)."""
        r = self.raw()
        r.send(raw_connect("slow", version=4))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("win/t", 1)]))
        r.expect(SUBACK)
        p = self.connected("fast", 5)
        for i in range(12):
            p.publish("win/t", b"%d" % i, 1)
        got = []
        for _ in range(5):
            flags, body = r.expect(PUBLISH)
            got.append(parse_publish(flags, body))
        with self.assertRaises(socket.timeout):
            extra = r.read_packet(0.7)
            self.fail("sixth message while 5 in flight: %r" % (extra,))
        mids = [m["mid"] for m in got]
        self.assertEqual(len(set(mids)), 5)
        self.assertNotIn(0, mids)
        r.send(raw_ack(PUBACK, mids[0]))
        flags, body = r.expect(PUBLISH)
        got.append(parse_publish(flags, body))
        with self.assertRaises(socket.timeout):
            extra = r.read_packet(0.5)
            self.fail("more than one released by one PUBACK: %r" % (extra,))
        for m in got[1:]:
            r.send(raw_ack(PUBACK, m["mid"]))
        while len(got) < 12:
            flags, body = r.expect(PUBLISH)
            m = parse_publish(flags, body)
            got.append(m)
            r.send(raw_ack(PUBACK, m["mid"]))
        self.assertEqual([m["payload"] for m in got], [b"%d" % i for i in range(12)])

    def test_window_applies_to_queued_messages_after_reconnect(self):
        """max_inflight = 5 also bounds what a returning persistent session is sent: 12 messages
        queued while away -> 5 in flight, the rest after PUBACKs, all in order."""
        r = self.raw()
        r.send(raw_connect("slow-back", version=4, clean=False))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("winq/t", 1)]))
        r.expect(SUBACK)
        r.close()
        p = self.connected("fast-q", 5)
        for i in range(12):
            p.publish("winq/t", b"%d" % i, 1)
        r2 = self.raw()
        r2.send(raw_connect("slow-back", version=4, clean=False))
        r2.expect(CONNACK)
        got = [parse_publish(*r2.expect(PUBLISH)) for _ in range(5)]
        with self.assertRaises(socket.timeout):
            extra = r2.read_packet(0.7)
            self.fail("sixth message while 5 in flight: %r" % (extra,))
        for m in list(got):
            r2.send(raw_ack(PUBACK, m["mid"]))
        while len(got) < 12:
            m = parse_publish(*r2.expect(PUBLISH))
            got.append(m)
            r2.send(raw_ack(PUBACK, m["mid"]))
        self.assertEqual([m["payload"] for m in got], [b"%d" % i for i in range(12)])

    def test_window_applies_to_retained_messages_on_subscribe(self):
        """max_inflight = 5 also bounds retained messages sent at subscribe time (and a v5
        client's Receive Maximum 3 lowers it further, MQTT-3.3.4-9): 12 retained QoS 1 messages
        -> 3 in flight, the rest as PUBACKs come, each exactly once."""
        p = self.connected("ret-pub", 5)
        for i in range(12):
            p.publish("winr/%02d" % i, b"%d" % i, 1, retain=True)
        r = self.raw()
        r.send(raw_connect("ret-slow", version=5, properties=b"\x21\x00\x03"))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("winr/#", 1)], version=5))
        r.expect(SUBACK)
        got = [parse_publish(*r.expect(PUBLISH), version=5) for _ in range(3)]
        with self.assertRaises(socket.timeout):
            extra = r.read_packet(0.7)
            self.fail("fourth retained message while 3 in flight: %r" % (extra,))
        for m in list(got):
            r.send(raw_ack(PUBACK, m["mid"]))
        while len(got) < 12:
            m = parse_publish(*r.expect(PUBLISH), version=5)
            got.append(m)
            r.send(raw_ack(PUBACK, m["mid"]))
        self.assertEqual(sorted(m["topic"] for m in got), ["winr/%02d" % i for i in range(12)])
        self.assertTrue(all(m["retain"] for m in got))



class ReceiveMaximumAcrossConnections(BrokerTestCase):
    def test_resent_messages_respect_new_receive_maximum_MQTT_3_3_4_9(self):
        """5.0 4.9: the send quota is not preserved across Network Connections; MQTT-3.3.4-9
        holds for re-sent messages too. Three unacknowledged QoS 1 messages from a connection
        with Receive Maximum 3; the client comes back with Receive Maximum 1 -> exactly one
        (DUP) PUBLISH until it sends a PUBACK."""
        cp = b"\x21\x00\x03" + SESSION_EXPIRY_60
        r = self.raw()
        r.send(raw_connect("rmx", version=5, clean=False, properties=cp))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("rmx/t", 1)], version=5))
        r.expect(SUBACK)
        p = self.connected("rmx-pub", 5)
        for i in range(3):
            p.publish("rmx/t", b"%d" % i, 1)
        for _ in range(3):
            r.expect(PUBLISH)
        r.close()
        r2 = self.raw()
        r2.send(raw_connect("rmx", version=5, clean=False,
                            properties=b"\x21\x00\x01" + SESSION_EXPIRY_60))
        r2.expect(CONNACK)
        first = parse_publish(*r2.expect(PUBLISH), version=5)
        self.assertTrue(first["dup"])
        with self.assertRaises(socket.timeout):
            extra = r2.read_packet(0.7)
            self.fail("second unacknowledged PUBLISH with Receive Maximum 1: %r" % (extra,))
        got = [first]
        while len(got) < 3:
            r2.send(raw_ack(PUBACK, got[-1]["mid"]))
            got.append(parse_publish(*r2.expect(PUBLISH), version=5))
        self.assertEqual([m["payload"] for m in got], [b"0", b"1", b"2"])


if __name__ == "__main__":
    unittest.main()
