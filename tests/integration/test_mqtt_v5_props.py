"""MQTT 5.0 properties against a real ferryd: message expiry, topic aliases both ways, receive
maximum, maximum packet size, forwarded PUBLISH properties, no local, request problem
information, AUTH methods."""
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (CONNACK, DISCONNECT, PUBACK, PUBLISH, SUBACK,  # noqa: E402
                           UNSUBACK, BrokerTestCase, packet, parse_ack_v5, parse_connack_v5,
                           parse_properties, parse_publish, prop_str, prop_u16, prop_u32,
                           props, raw_ack, raw_connect, raw_publish, raw_subscribe, utf8)

MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION = 0x02, 0x03, 0x08, 0x09
SESSION_EXPIRY, AUTH_METHOD, REQUEST_PROBLEM = 0x11, 0x15, 0x17
REASON_STRING, RECEIVE_MAX, TOPIC_ALIAS_MAX, TOPIC_ALIAS = 0x1F, 0x21, 0x22, 0x23
USER_PROPERTY, MAX_PACKET_SIZE = 0x26, 0x27


def expiry(seconds):
    return props("CONNECT", SessionExpiryInterval=seconds)


class MessageExpiry(BrokerTestCase):
    def test_expired_while_queued_not_delivered_MQTT_3_3_2_5(self):
        """5.0 MQTT-3.3.2-5: if the Message Expiry Interval has passed before onward delivery to a
        subscriber started, the Server MUST delete that copy. A message without expiry queued at
        the same time proves the queue works."""
        s = self.client("mexp", 5)
        s.connect(self.broker.port, clean_start=False, properties=expiry(60))
        s.subscribe("mexp/t", 1)
        s.disconnect()
        p = self.connected("mexp-pub", 5)
        p.publish("mexp/t", b"short", 1, properties=props("PUBLISH", MessageExpiryInterval=1))
        p.publish("mexp/t", b"forever", 1)
        time.sleep(2.2)  # bounded: lets the 1 s expiry pass
        back = self.client("mexp", 5)
        back.connect(self.broker.port, clean_start=False, properties=expiry(60))
        self.assertTrue(back.wait_messages(1, 5.0))
        back.wait(lambda: len(back.messages) > 1, 0.4)
        self.assertEqual([m.payload for m in back.messages], [b"forever"])

    def test_expiry_not_applied_once_qos2_publish_sent_MQTT_4_3_3_7(self):
        """5.0 MQTT-4.3.3-7: the sender MUST NOT apply message expiry once the QoS 2 PUBLISH has
        been sent; with MQTT-4.4.0-1 the unacknowledged PUBLISH is re-sent after a reconnect
        even though its 1 s expiry has passed meanwhile."""
        cp = b"\x11" + (60).to_bytes(4, "big")
        r = self.raw()
        r.send(raw_connect("q2exp", version=5, clean=False, properties=cp))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("q2exp/t", 2)], version=5))
        r.expect(SUBACK)
        p = self.connected("q2exp-pub", 5)
        p.publish("q2exp/t", b"started", 2, properties=props("PUBLISH", MessageExpiryInterval=1))
        first = parse_publish(*r.expect(PUBLISH), version=5)
        r.close()  # no PUBREC
        time.sleep(2.2)  # bounded: the expiry passes while the flow is open
        r2 = self.raw()
        r2.send(raw_connect("q2exp", version=5, clean=False, properties=cp))
        r2.expect(CONNACK)
        again = parse_publish(*r2.expect(PUBLISH), version=5)
        self.assertEqual((again["payload"], again["mid"], again["dup"]),
                         (b"started", first["mid"], True))

    def test_started_qos1_delivery_not_expired_on_resend_MQTT_3_3_2_5(self):
        """5.0 MQTT-3.3.2-5 deletes a copy only if onward delivery has NOT started. A QoS 1
        PUBLISH already sent (unacknowledged) stays in the session and is re-sent after a
        reconnect (MQTT-4.4.0-1), with its Subscription Identifier, though its 1 s expiry has
        passed meanwhile."""
        cp = b"\x11" + (60).to_bytes(4, "big")
        r = self.raw()
        r.send(raw_connect("q1exp", version=5, clean=False, properties=cp))
        r.expect(CONNACK)
        sub = raw_subscribe(1, [("q1exp/t", 1)], version=5)
        # Subscription Identifier 9: insert property bytes (0x0B 0x09) after the packet id.
        body = sub[2:]
        body = body[:2] + b"\x02\x0b\x09" + body[3:]
        r.send(packet(8, 2, body))
        r.expect(SUBACK)
        p = self.connected("q1exp-pub", 5)
        p.publish("q1exp/t", b"started", 1, properties=props("PUBLISH", MessageExpiryInterval=1))
        first = parse_publish(*r.expect(PUBLISH), version=5)
        self.assertEqual(dict(parse_properties(first["props"])).get(0x0B), 9)
        r.close()  # no PUBACK
        time.sleep(2.2)  # bounded: the expiry passes while the message is in flight
        r2 = self.raw()
        r2.send(raw_connect("q1exp", version=5, clean=False, properties=cp))
        r2.expect(CONNACK)
        again = parse_publish(*r2.expect(PUBLISH), version=5)
        self.assertEqual((again["payload"], again["mid"], again["dup"]),
                         (b"started", first["mid"], True))
        self.assertEqual(dict(parse_properties(again["props"])).get(0x0B), 9,
                         "re-sent PUBLISH lost its Subscription Identifier")

    def test_remaining_expiry_sent_reduced_MQTT_3_3_2_6(self):
        """5.0 MQTT-3.3.2-6: the forwarded PUBLISH carries the received Message Expiry Interval
        minus the time the message waited in the Server (queued 1.5 s: <= 59 of 60)."""
        s = self.client("mrem", 5)
        s.connect(self.broker.port, clean_start=False, properties=expiry(60))
        s.subscribe("mrem/t", 1)
        s.disconnect()
        p = self.connected("mrem-pub", 5)
        p.publish("mrem/t", b"x", 1, properties=props("PUBLISH", MessageExpiryInterval=60))
        time.sleep(1.5)  # bounded: the message waits in the queue
        back = self.client("mrem", 5)
        back.connect(self.broker.port, clean_start=False, properties=expiry(60))
        self.assertTrue(back.wait_messages(1, 5.0))
        remaining = getattr(back.messages[0].properties, "MessageExpiryInterval", None)
        self.assertIsNotNone(remaining, "Message Expiry Interval not forwarded")
        self.assertLessEqual(remaining, 59)
        self.assertGreaterEqual(remaining, 50)

    def test_expiry_forwarded_to_online_subscriber_MQTT_3_3_2_6(self):
        """Online delivery also carries the (at most the received) Message Expiry Interval."""
        s = self.connected("mon", 5)
        s.subscribe("mon/t", 1)
        p = self.connected("mon-pub", 5)
        p.publish("mon/t", b"x", 1, properties=props("PUBLISH", MessageExpiryInterval=30))
        self.assertTrue(s.wait_messages(1, 5.0))
        remaining = getattr(s.messages[0].properties, "MessageExpiryInterval", None)
        self.assertIsNotNone(remaining)
        self.assertLessEqual(remaining, 30)

    def test_expired_retained_not_sent_MQTT_3_3_2_5(self):
        """A retained message whose expiry has passed is not delivered to a new subscriber
        (MQTT-3.3.2-5 applies to the retained copy too)."""
        p = self.connected("rexp-pub", 5)
        p.publish("rexp/t", b"old", 1, retain=True,
                  properties=props("PUBLISH", MessageExpiryInterval=1))
        time.sleep(2.2)  # bounded
        s = self.connected("rexp", 5)
        s.subscribe("rexp/t", 1)
        self.assertFalse(s.wait_messages(1, 0.8), "expired retained message delivered")

    def test_retained_delivery_carries_reduced_expiry_MQTT_3_3_2_6(self):
        """5.0 MQTT-3.3.2-6 for a retained message sent at subscribe time: the Message Expiry
        Interval is the received value minus the time it was stored (60 -> at most 59 after
        1.2 s)."""
        p = self.connected("rrexp-pub", 5)
        p.publish("rrexp/t", b"r", 1, retain=True,
                  properties=props("PUBLISH", MessageExpiryInterval=60))
        time.sleep(1.2)  # bounded
        s = self.connected("rrexp", 5)
        s.subscribe("rrexp/t", 1)
        self.assertTrue(s.wait_messages(1, 5.0))
        remaining = getattr(s.messages[0].properties, "MessageExpiryInterval", None)
        self.assertIsNotNone(remaining)
        self.assertLessEqual(remaining, 59)


class TopicAlias(BrokerTestCase):
    def _raw5(self, client_id, connect_props=b""):
        r = self.raw()
        r.send(raw_connect(client_id, version=5, properties=connect_props))
        flags, body = r.expect(CONNACK)
        return r, parse_connack_v5(body)

    def test_connack_announces_topic_alias_maximum_3_2_2_3_8(self):
        """5.0 3.2.2.3.8: a Server that accepts topic aliases says how many in CONNACK (Ferry's
        default max_topic_alias = 10); absent means 0 and a client MUST NOT use any."""
        r, (sp, rc, p) = self._raw5("tam")
        self.assertEqual(rc, 0)
        self.assertEqual(dict(p).get(TOPIC_ALIAS_MAX), 10)

    def test_inbound_topic_alias_maps_to_topic_3_3_2_3_4(self):
        """5.0 3.3.2.3.4: a PUBLISH with topic + alias sets the mapping; a later PUBLISH with a
        zero-length topic and that alias uses it. Subscribers see the full topic."""
        s = self.connected("alias-sub", 5)
        s.subscribe("alias/#", 1)
        r, _ = self._raw5("alias-pub")
        r.send(raw_publish("alias/one", b"1", 1, mid=1, version=5,
                           properties=prop_u16(TOPIC_ALIAS, 3)))
        r.expect(PUBACK)
        r.send(raw_publish("", b"2", 1, mid=2, version=5, properties=prop_u16(TOPIC_ALIAS, 3)))
        r.expect(PUBACK)
        # Remap alias 3 to another topic (allowed: 3.3.2.3.4).
        r.send(raw_publish("alias/two", b"3", 1, mid=3, version=5,
                           properties=prop_u16(TOPIC_ALIAS, 3)))
        r.expect(PUBACK)
        r.send(raw_publish("", b"4", 1, mid=4, version=5, properties=prop_u16(TOPIC_ALIAS, 3)))
        r.expect(PUBACK)
        self.assertTrue(s.wait_messages(4, 5.0))
        self.assertEqual([(m.topic, m.payload) for m in s.messages],
                         [("alias/one", b"1"), ("alias/one", b"2"), ("alias/two", b"3"),
                          ("alias/two", b"4")])
        for m in s.messages:
            self.assertIsNone(getattr(m.properties, "TopicAlias", None),
                              "an inbound alias leaked to a client that allows none")

    def test_inbound_alias_above_maximum_disconnect_0x94_3_3_2_3_4(self):
        """5.0 3.3.2.3.4 / MQTT-3.3.2-9: a Topic Alias greater than the Server's Topic Alias
        Maximum is a Protocol Error -> DISCONNECT 0x94 (Topic Alias invalid), then close."""
        r, _ = self._raw5("alias-big")
        r.send(raw_publish("x/y", b"1", 0, version=5, properties=prop_u16(TOPIC_ALIAS, 11)))
        self.assertTrue(r.wait_closed(5.0))
        codes = [body[:1] for t, f, body in r.seen if t == DISCONNECT]
        self.assertEqual(codes, [b"\x94"])

    def test_inbound_unknown_alias_is_protocol_error_3_3_4(self):
        """5.0 3.3.4: a zero-length Topic Name with an alias that has no mapping is a Protocol
        Error -> DISCONNECT 0x82, then close."""
        r, _ = self._raw5("alias-unk")
        r.send(raw_publish("", b"1", 0, version=5, properties=prop_u16(TOPIC_ALIAS, 2)))
        self.assertTrue(r.wait_closed(5.0))
        codes = [body[:1] for t, f, body in r.seen if t == DISCONNECT]
        self.assertEqual(codes, [b"\x82"])

    def test_inbound_alias_not_carried_to_next_connection_MQTT_3_3_2_7(self):
        """5.0 MQTT-3.3.2-7: the Server (as receiver) MUST NOT carry forward a Topic Alias mapping
        to another Network Connection, even of the same persistent session: an alias-only
        PUBLISH on the new connection is an unknown alias -> DISCONNECT 0x82 (3.3.4), and nothing
        is delivered."""
        s = self.connected("carry-sub", 5)
        s.subscribe("carry/#", 1)
        cp = prop_u32(SESSION_EXPIRY, 60)
        r = self.raw()
        r.send(raw_connect("carry", version=5, clean=False, properties=cp))
        r.expect(CONNACK)
        r.send(raw_publish("carry/t", b"1", 1, mid=1, version=5,
                           properties=prop_u16(TOPIC_ALIAS, 1)))
        r.expect(PUBACK)
        r.close()
        r2 = self.raw()
        r2.send(raw_connect("carry", version=5, clean=False, properties=cp))
        r2.expect(CONNACK)
        r2.send(raw_publish("", b"2", 1, mid=2, version=5, properties=prop_u16(TOPIC_ALIAS, 1)))
        self.assertTrue(r2.wait_closed(5.0), "alias of the previous connection accepted")
        self.assertEqual([b[:1] for t, f, b in r2.seen if t == DISCONNECT], [b"\x82"])
        self.assertTrue(s.wait_messages(1, 5.0))
        s.wait(lambda: len(s.messages) > 1, 0.3)
        self.assertEqual([m.payload for m in s.messages], [b"1"])

    def _outbound(self, client_id, alias_max):
        cp = prop_u16(TOPIC_ALIAS_MAX, alias_max) if alias_max is not None else b""
        r, _ = self._raw5(client_id, cp)
        r.send(raw_subscribe(1, [("out/#", 0)], version=5))
        r.expect(SUBACK)
        p = self.connected(client_id + "-pub", 5)
        topics = ["out/a", "out/b", "out/a", "out/c", "out/a", "out/b"] * 3
        for i, t in enumerate(topics):
            p.publish(t, b"%d" % i, 1)
        mapping, got, aliases = {}, [], []
        for _ in topics:
            flags, body = r.expect(PUBLISH)
            m = parse_publish(flags, body, 5)
            alias = dict(parse_properties(m["props"])).get(TOPIC_ALIAS)
            topic = m["topic"]
            if alias is not None:
                aliases.append(alias)
                if topic:
                    mapping[alias] = topic
                else:
                    self.assertIn(alias, mapping, "alias used before it was set (3.3.4)")
                    topic = mapping[alias]
            else:
                self.assertTrue(topic, "empty topic without alias")
            got.append((topic, m["payload"]))
        self.assertEqual(got, [(t, b"%d" % i) for i, t in enumerate(topics)])
        return aliases

    def test_outbound_aliases_within_client_maximum_MQTT_3_3_2_11(self):
        """5.0 MQTT-3.3.2-11 / MQTT-3.1.2-26: the Server MAY use topic aliases toward a client that
        announced Topic Alias Maximum (2 here) and MUST NOT send one above it; every message
        still resolves to its real topic."""
        aliases = self._outbound("out-alias", 2)
        self.assertTrue(all(1 <= a <= 2 for a in aliases), "aliases %r" % aliases)

    def test_no_outbound_alias_without_client_maximum_MQTT_3_1_2_27(self):
        """5.0 MQTT-3.1.2-27: Topic Alias Maximum absent or 0 -> the Server MUST NOT send any
        Topic Alias to the client."""
        self.assertEqual(self._outbound("no-alias", None), [])
        self.assertEqual(self._outbound("zero-alias", 0), [])

    def test_outbound_aliases_not_carried_to_next_connection_MQTT_3_3_2_7(self):
        """5.0 MQTT-3.3.2-7: a receiver MUST NOT carry forward Topic Alias mappings from one
        Network Connection to another. So after a reconnect (persistent session, queued
        messages) the first PUBLISH for a topic must carry the Topic Name, never an empty
        topic relying on an alias set on the old connection."""
        cp = prop_u16(TOPIC_ALIAS_MAX, 4) + prop_u32(SESSION_EXPIRY, 60)
        r = self.raw()
        r.send(raw_connect("alias-reconn", version=5, clean=False, properties=cp))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("ar/#", 1)], version=5))
        r.expect(SUBACK)
        p = self.connected("ar-pub", 5)
        for i in range(3):
            p.publish("ar/t", b"before%d" % i, 1)
        for _ in range(3):
            m = parse_publish(*r.expect(PUBLISH), version=5)
            r.send(raw_ack(PUBACK, m["mid"]))
        r.close()
        for i in range(3):
            p.publish("ar/t", b"after%d" % i, 1)
        r2 = self.raw()
        r2.send(raw_connect("alias-reconn", version=5, clean=False, properties=cp))
        r2.expect(CONNACK)
        mapping, got = {}, []
        for _ in range(3):
            m = parse_publish(*r2.expect(PUBLISH), version=5)
            alias = dict(parse_properties(m["props"])).get(TOPIC_ALIAS)
            if m["topic"]:
                if alias is not None:
                    mapping[alias] = m["topic"]
                got.append(m["topic"])
            else:
                self.assertIn(alias, mapping, "alias %r from the previous connection reused"
                              % alias)
                got.append(mapping[alias])
            r2.send(raw_ack(PUBACK, m["mid"]))
        self.assertEqual(got, ["ar/t"] * 3)

    def test_resent_unacked_messages_do_not_use_old_aliases_MQTT_3_3_2_7(self):
        """5.0 MQTT-3.3.2-7 with MQTT-4.4.0-1: messages re-sent after a reconnect must resolve on
        the new connection - no empty Topic Name relying on an alias set on the old one."""
        cp = prop_u16(TOPIC_ALIAS_MAX, 4) + prop_u32(SESSION_EXPIRY, 60)
        r = self.raw()
        r.send(raw_connect("alias-resend", version=5, clean=False, properties=cp))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("ars/#", 1)], version=5))
        r.expect(SUBACK)
        p = self.connected("ars-pub", 5)
        for i in range(3):
            p.publish("ars/t", b"%d" % i, 1)
        old = [parse_publish(*r.expect(PUBLISH), version=5) for _ in range(3)]
        r.close()  # none acknowledged
        r2 = self.raw()
        r2.send(raw_connect("alias-resend", version=5, clean=False, properties=cp))
        r2.expect(CONNACK)
        mapping, got = {}, []
        for _ in range(3):
            m = parse_publish(*r2.expect(PUBLISH), version=5)
            alias = dict(parse_properties(m["props"])).get(TOPIC_ALIAS)
            if m["topic"]:
                if alias is not None:
                    mapping[alias] = m["topic"]
                got.append((m["topic"], m["payload"], m["dup"]))
            else:
                self.assertIn(alias, mapping, "re-sent PUBLISH uses alias %r of the old "
                              "connection (old packets: %r)" % (alias, [o["topic"] for o in old]))
                got.append((mapping[alias], m["payload"], m["dup"]))
            r2.send(raw_ack(PUBACK, m["mid"]))
        self.assertEqual(got, [("ars/t", b"%d" % i, True) for i in range(3)])


class FlowControl(BrokerTestCase):
    def test_receive_maximum_2_limits_unacked_qos1_MQTT_3_3_4_9(self):
        """5.0 MQTT-3.3.4-9: the Server MUST NOT send more than Receive Maximum QoS 1/2 PUBLISH
        packets without acknowledgement. Client Receive Maximum 2: two arrive, no third until a
        PUBACK; each PUBACK releases one; all 6 arrive in the end, in order."""
        r = self.raw()
        r.send(raw_connect("rm2", version=5, properties=prop_u16(RECEIVE_MAX, 2)))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("rm/t", 1)], version=5))
        r.expect(SUBACK)
        p = self.connected("rm-pub", 5)
        for i in range(6):
            p.publish("rm/t", b"%d" % i, 1)
        got = [parse_publish(*r.expect(PUBLISH), version=5) for _ in range(2)]
        with self.assertRaises(socket.timeout):
            extra = r.read_packet(0.7)
            self.fail("third unacknowledged QoS 1 PUBLISH: %r" % (extra,))
        while len(got) < 6:
            r.send(raw_ack(PUBACK, got[len(got) - 2]["mid"]))
            got.append(parse_publish(*r.expect(PUBLISH), version=5))
            with self.assertRaises(socket.timeout):
                extra = r.read_packet(0.2)
                self.fail("window exceeded: %r" % (extra,))
        self.assertEqual([m["payload"] for m in got], [b"%d" % i for i in range(6)])

    def test_receive_maximum_counts_qos2_until_pubcomp_MQTT_3_3_4_9(self):
        """5.0 MQTT-3.3.4-9: a QoS 2 PUBLISH stays counted against the client's Receive Maximum
        until PUBCOMP (a PUBREC with a success code does not free the slot). Receive Maximum 1:
        after PUBREC the Server sends PUBREL but no second PUBLISH until PUBCOMP."""
        r = self.raw()
        r.send(raw_connect("rm-q2", version=5, properties=prop_u16(RECEIVE_MAX, 1)))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("rq2/t", 2)], version=5))
        r.expect(SUBACK)
        p = self.connected("rq2-pub", 5)
        p.publish("rq2/t", b"a", 2)
        p.publish("rq2/t", b"b", 2)
        first = parse_publish(*r.expect(PUBLISH), version=5)
        r.send(raw_ack(0x05, first["mid"]))  # PUBREC
        t, flags, body = r.read_packet(5.0)
        self.assertEqual(t, 0x06, "expected PUBREL, got type %d" % t)
        with self.assertRaises(socket.timeout):
            extra = r.read_packet(0.7)
            self.fail("second QoS 2 PUBLISH before PUBCOMP: %r" % (extra,))
        r.send(raw_ack(0x07, first["mid"]))  # PUBCOMP
        second = parse_publish(*r.expect(PUBLISH), version=5)
        self.assertEqual(second["payload"], b"b")

    def test_expired_while_waiting_for_window_not_sent_MQTT_3_3_2_5(self):
        """5.0 MQTT-3.3.2-5: a message that waits behind a full Receive Maximum window and expires
        before onward delivery starts is not sent."""
        r = self.raw()
        r.send(raw_connect("rm-exp", version=5, properties=prop_u16(RECEIVE_MAX, 1)))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("rme/t", 1)], version=5))
        r.expect(SUBACK)
        p = self.connected("rme-pub", 5)
        p.publish("rme/t", b"first", 1)
        p.publish("rme/t", b"short", 1, properties=props("PUBLISH", MessageExpiryInterval=1))
        p.publish("rme/t", b"last", 1)
        first = parse_publish(*r.expect(PUBLISH), version=5)
        time.sleep(2.2)  # bounded: lets the 1 s expiry pass while the window is full
        r.send(raw_ack(PUBACK, first["mid"]))
        nxt = parse_publish(*r.expect(PUBLISH), version=5)
        self.assertEqual(nxt["payload"], b"last")

    def test_pubrec_error_code_ends_flow_and_frees_quota_MQTT_4_3_3_4(self):
        """5.0 4.3.3: the sender sends PUBREL only for a PUBREC with a Reason Code below 0x80
        (MQTT-4.3.3-4); a PUBREC >= 0x80 ends the flow, and it frees the Receive Maximum slot
        (MQTT-3.3.4-9, 4.9). Receive Maximum 1: after PUBREC 0x80 no PUBREL comes, the next
        PUBLISH does."""
        r = self.raw()
        r.send(raw_connect("rec80", version=5, properties=prop_u16(RECEIVE_MAX, 1)))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("rec80/t", 2)], version=5))
        r.expect(SUBACK)
        p = self.connected("rec80-pub", 5)
        p.publish("rec80/t", b"refused", 2)
        p.publish("rec80/t", b"next", 2)
        first = parse_publish(*r.expect(PUBLISH), version=5)
        r.send(packet(0x05, 0, struct.pack("!HB", first["mid"], 0x80) + b"\x00"))
        t, flags, body = r.read_packet(5.0)
        self.assertNotEqual(t, 0x06, "PUBREL after PUBREC 0x80")
        self.assertEqual(t, PUBLISH)
        self.assertEqual(parse_publish(flags, body, 5)["payload"], b"next")

    def test_puback_error_code_still_acknowledges_MQTT_4_4_0_2(self):
        """5.0 MQTT-4.4.0-2: a PUBACK with a Reason Code of 0x80 or greater still acknowledges the
        PUBLISH, which MUST NOT be retransmitted (not even after a reconnect)."""
        cp = prop_u32(SESSION_EXPIRY, 60)
        r = self.raw()
        r.send(raw_connect("ack80", version=5, clean=False, properties=cp))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("ack80/t", 1)], version=5))
        r.expect(SUBACK)
        p = self.connected("ack80-pub", 5)
        p.publish("ack80/t", b"x", 1)
        m = parse_publish(*r.expect(PUBLISH), version=5)
        r.send(packet(PUBACK, 0, struct.pack("!HB", m["mid"], 0x80) + b"\x00"))
        r.send(b"\xc0\x00")  # PINGREQ: its PINGRESP proves the PUBACK was processed
        t, _, _ = r.read_packet(5.0)
        self.assertEqual(t, 13)
        r.close()
        r2 = self.raw()
        r2.send(raw_connect("ack80", version=5, clean=False, properties=cp))
        r2.expect(CONNACK)
        with self.assertRaises(socket.timeout):
            extra = r2.read_packet(0.7)
            self.fail("acknowledged (0x80) message re-sent: %r" % (extra,))

    def test_receive_maximum_does_not_hold_qos0(self):
        """Receive Maximum counts QoS 1/2 only (3.3.4): QoS 0 messages still flow while the
        QoS 1 window is full."""
        r = self.raw()
        r.send(raw_connect("rm1", version=5, properties=prop_u16(RECEIVE_MAX, 1)))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("rq/t", 1)], version=5))
        r.expect(SUBACK)
        p = self.connected("rq-pub", 5)
        p.publish("rq/t", b"q1", 1)
        first = parse_publish(*r.expect(PUBLISH), version=5)
        self.assertEqual(first["payload"], b"q1")
        p.publish("rq/t", b"q0", 0)
        second = parse_publish(*r.expect(PUBLISH), version=5)
        self.assertEqual((second["payload"], second["qos"]), (b"q0", 0))

    def test_client_maximum_packet_size_respected_MQTT_3_1_2_24_and_25(self):
        """5.0 MQTT-3.1.2-24: the Server MUST NOT send packets larger than the client's Maximum
        Packet Size; MQTT-3.1.2-25: a too-large message is discarded (as if sent) for that client,
        the connection stays and later messages arrive."""
        r = self.raw()
        r.send(raw_connect("mps", version=5, properties=prop_u32(MAX_PACKET_SIZE, 128)))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("mps/t", 1)], version=5))
        r.expect(SUBACK)
        big = self.connected("mps-big", 5)
        big.subscribe("mps/t", 1)
        p = self.connected("mps-pub", 5)
        p.publish("mps/t", b"small-1", 1)
        p.publish("mps/t", b"B" * 400, 1)
        p.publish("mps/t", b"small-2", 1)
        got = []
        for _ in range(2):
            t, flags, body = r.read_packet(5.0)
            self.assertLessEqual(len(body) + 2, 128)
            self.assertEqual(t, PUBLISH)
            m = parse_publish(flags, body, 5)
            got.append(m["payload"])
            r.send(raw_ack(PUBACK, m["mid"]))
        self.assertEqual(got, [b"small-1", b"small-2"])
        self.assertTrue(big.wait_messages(3, 5.0), "other subscribers still get the big one")

    def test_retained_larger_than_client_maximum_not_sent_MQTT_3_1_2_24(self):
        """5.0 MQTT-3.1.2-24 applies to retained messages sent at subscribe time too."""
        p = self.connected("mps-ret-pub", 5)
        p.publish("mpr/big", b"B" * 400, 1, retain=True)
        p.publish("mpr/small", b"s", 1, retain=True)
        r = self.raw()
        r.send(raw_connect("mps-ret", version=5, properties=prop_u32(MAX_PACKET_SIZE, 128)))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("mpr/#", 1)], version=5))
        r.expect(SUBACK)
        m = parse_publish(*r.expect(PUBLISH), version=5)
        self.assertEqual(m["payload"], b"s")
        r.send(raw_ack(PUBACK, m["mid"]))
        with self.assertRaises(socket.timeout):
            extra = r.read_packet(0.5)
            self.fail("oversized retained message sent: %r" % (extra[:2],))

    def test_resent_message_larger_than_new_maximum_dropped_MQTT_3_1_2_25(self):
        """5.0 MQTT-3.1.2-24/-25: an unacknowledged message re-sent after a reconnect is subject to
        the NEW connection's Maximum Packet Size: too large -> discarded as if sent; the next
        message still arrives."""
        cp = prop_u32(SESSION_EXPIRY, 60)
        r = self.raw()
        r.send(raw_connect("mps-re", version=5, clean=False, properties=cp))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("mpsr/t", 1)], version=5))
        r.expect(SUBACK)
        p = self.connected("mpsr-pub", 5)
        p.publish("mpsr/t", b"B" * 400, 1)
        r.expect(PUBLISH)
        r.close()  # not acknowledged
        p.publish("mpsr/t", b"small", 1)
        r2 = self.raw()
        r2.send(raw_connect("mps-re", version=5, clean=False,
                            properties=cp + prop_u32(MAX_PACKET_SIZE, 128)))
        r2.expect(CONNACK)
        t, flags, body = r2.read_packet(5.0)
        self.assertLessEqual(len(body) + 2, 128, "packet above the client's Maximum Packet Size")
        self.assertEqual(parse_publish(flags, body, 5)["payload"], b"small")


class ServerPacketSize(BrokerTestCase):
    BROKER_TOML = "[limits]\nmax_packet_size = 1000\n"

    def test_connack_maximum_packet_size_and_0x95_MQTT_3_2_2_3_6(self):
        """5.0 3.2.2.3.6: the Server announces its Maximum Packet Size in CONNACK; a larger packet
        is answered with DISCONNECT 0x95 (Packet too large) and the connection closes
        (4.13)."""
        r = self.raw()
        r.send(raw_connect("sps", version=5))
        flags, body = r.expect(CONNACK)
        sp, rc, p = parse_connack_v5(body)
        self.assertEqual(dict(p).get(MAX_PACKET_SIZE), 1000)
        r.send(raw_publish("sps/t", b"x" * 1200, 0, version=5))
        self.assertTrue(r.wait_closed(5.0))
        self.assertEqual([b[:1] for t, f, b in r.seen if t == DISCONNECT], [b"\x95"])


class ServerReceiveMaximum(BrokerTestCase):
    BROKER_TOML = "[limits]\nreceive_maximum = 2\nmax_topic_alias = 0\n"

    def test_connack_receive_maximum_and_0x93_when_exceeded_MQTT_3_3_4_7(self):
        """5.0 3.2.2.3.3: the Server announces Receive Maximum (2 here) in CONNACK; 3.3.4: a
        client that has more unacknowledged QoS 1/2 PUBLISHes than that (MQTT-3.3.4-7) gets
        DISCONNECT 0x93 (Receive Maximum exceeded). QoS 2 flows stay unacknowledged until the
        client sends PUBREL, so the third QoS 2 PUBLISH without PUBREL exceeds it."""
        r = self.raw()
        r.send(raw_connect("srm", version=5))
        flags, body = r.expect(CONNACK)
        sp, rc, p = parse_connack_v5(body)
        self.assertEqual(dict(p).get(RECEIVE_MAX), 2)
        for mid in (1, 2):
            r.send(raw_publish("srm/t", b"x", 2, mid=mid, version=5))
            r.expect(0x05)  # PUBREC
        r.send(raw_publish("srm/t", b"x", 2, mid=3, version=5))
        self.assertTrue(r.wait_closed(5.0), "third unacknowledged QoS 2 PUBLISH accepted")
        self.assertEqual([b[:1] for t, f, b in r.seen if t == DISCONNECT], [b"\x93"])

    def test_topic_alias_maximum_0_means_no_inbound_alias_3_2_2_3_8(self):
        """5.0 3.2.2.3.8: max_topic_alias = 0 -> no Topic Alias Maximum (or 0) in CONNACK and a
        client's Topic Alias is invalid (DISCONNECT 0x94, 3.3.2.3.4)."""
        r = self.raw()
        r.send(raw_connect("tam0", version=5))
        flags, body = r.expect(CONNACK)
        sp, rc, p = parse_connack_v5(body)
        self.assertIn(dict(p).get(TOPIC_ALIAS_MAX, 0), (0,))
        r.send(raw_publish("x/y", b"1", 0, version=5, properties=prop_u16(TOPIC_ALIAS, 1)))
        self.assertTrue(r.wait_closed(5.0))
        self.assertEqual([b[:1] for t, f, b in r.seen if t == DISCONNECT], [b"\x94"])


class ForwardedProperties(BrokerTestCase):
    def test_publish_properties_forwarded_unaltered_MQTT_3_3_2_4_and_15_to_20(self):
        """5.0 MQTT-3.3.2-4 (Payload Format Indicator), -15 (Response Topic), -16 (Correlation
        Data), -17/-18 (User Properties, in order), -20 (Content Type): the Server MUST forward
        them unaltered."""
        s = self.connected("fwd", 5)
        s.subscribe("fwd/t", 1)
        p = self.connected("fwd-pub", 5)
        pp = props("PUBLISH", PayloadFormatIndicator=1, ContentType="text/plain; charset=utf-8",
                   ResponseTopic="reply/here", CorrelationData=b"\x00\x01corr\xff")
        pp.UserProperty = [("b", "2"), ("a", "1"), ("b", "3")]
        p.publish("fwd/t", "héllo".encode("utf-8"), 1, properties=pp)
        self.assertTrue(s.wait_messages(1, 5.0))
        got = s.messages[0].properties
        self.assertEqual(got.PayloadFormatIndicator, 1)
        self.assertEqual(got.ContentType, "text/plain; charset=utf-8")
        self.assertEqual(got.ResponseTopic, "reply/here")
        self.assertEqual(got.CorrelationData, b"\x00\x01corr\xff")
        self.assertEqual(got.UserProperty, [("b", "2"), ("a", "1"), ("b", "3")])

    def test_properties_forwarded_to_v311_subscriber_as_plain_message(self):
        """A 3.1.1 subscriber gets the same message without properties (it cannot carry them)."""
        s = self.connected("fwd4", 4)
        s.subscribe("fwd4/t", 1)
        p = self.connected("fwd4-pub", 5)
        pp = props("PUBLISH", ResponseTopic="r", CorrelationData=b"c")
        pp.UserProperty = [("k", "v")]
        p.publish("fwd4/t", b"body", 1, properties=pp)
        self.assertTrue(s.wait_messages(1, 5.0))
        self.assertEqual(s.messages[0].payload, b"body")

    def test_no_local_MQTT_3_8_3_3(self):
        """5.0 MQTT-3.8.3-3: No Local 1 -> messages MUST NOT be forwarded to a connection with the
        publisher's ClientID; other publishers' messages still arrive."""
        from paho.mqtt.subscribeoptions import SubscribeOptions
        me = self.connected("nl", 5)
        me.subscribe("nl/t", options=SubscribeOptions(qos=1, noLocal=True))
        me.publish("nl/t", b"mine", 1)
        other = self.connected("nl-other", 5)
        other.publish("nl/t", b"theirs", 1)
        self.assertTrue(me.wait_messages(1, 5.0))
        me.wait(lambda: len(me.messages) > 1, 0.4)
        self.assertEqual([m.payload for m in me.messages], [b"theirs"])

    def test_without_no_local_own_messages_arrive(self):
        """Counterpart: No Local 0 -> a client receives its own messages."""
        me = self.connected("nl0", 5)
        me.subscribe("nl0/t", 1)
        me.publish("nl0/t", b"mine", 1)
        self.assertTrue(me.wait_messages(1, 5.0))

    def test_subscription_identifier_on_retained_delivery_MQTT_3_3_4_3(self):
        """5.0 MQTT-3.3.4-3: a message sent because of a subscription with a Subscription
        Identifier carries it - including a retained message sent at subscribe time."""
        p = self.connected("sid-pub", 5)
        p.publish("sid/t", b"r", 1, retain=True)
        s = self.connected("sid", 5)
        s.subscribe("sid/#", 1, properties=props("SUBSCRIBE", SubscriptionIdentifier=42))
        self.assertTrue(s.wait_messages(1, 5.0))
        self.assertEqual(getattr(s.messages[0].properties, "SubscriptionIdentifier", None), [42])
        self.assertTrue(s.messages[0].retain)


class ProblemInformation(BrokerTestCase):
    def test_request_problem_information_0_no_reason_string_MQTT_3_1_2_29(self):
        """5.0 MQTT-3.1.2-29: Request Problem Information 0 -> the Server MUST NOT send a Reason
        String or User Properties on any packet other than PUBLISH, CONNACK or DISCONNECT. A
        SUBACK with a failure and an UNSUBACK with 0x11 carry none."""
        r = self.raw()
        r.send(raw_connect("rpi", version=5, properties=bytes([REQUEST_PROBLEM, 0])))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("bad/#/x", 1), ("ok", 1)], version=5))
        flags, body = r.expect(SUBACK)
        mid, p, codes = parse_ack_v5(body)
        self.assertEqual(codes, [0x8F, 1])
        self.assertEqual([i for i, v in p if i in (REASON_STRING, USER_PROPERTY)], [])
        r.send(packet(10, 2, b"\x00\x02\x00" + utf8("never")))
        flags, body = r.expect(UNSUBACK)
        mid, p, codes = parse_ack_v5(body)
        self.assertEqual(codes, [0x11])
        self.assertEqual([i for i, v in p if i in (REASON_STRING, USER_PROPERTY)], [])


class EnhancedAuth(BrokerTestCase):
    def test_unsupported_authentication_method_refused_MQTT_4_12_0_1(self):
        """5.0 MQTT-4.12.0-1: a Server that does not support the Authentication Method MAY send
        CONNACK 0x8C (Bad authentication method) or 0x87 (Not authorized) and MUST close the
        Network Connection. (Ferry issue 2 answers 0x8C.)"""
        r = self.raw()
        r.send(raw_connect("auth", version=5, properties=prop_str(AUTH_METHOD, "SCRAM-SHA-1")))
        flags, body = r.expect(CONNACK)
        sp, rc, p = parse_connack_v5(body)
        self.assertIn(rc, (0x8C, 0x87))
        self.assertEqual(sp, 0)
        self.assertTrue(r.wait_closed(5.0), "connection left open after refusing AUTH")
        self.assertEqual([t for t, f, b in r.seen], [],
                         "MQTT-3.14.0-1 / MQTT-3.2.0-2: nothing may follow a refusing CONNACK")


if __name__ == "__main__":
    unittest.main()
