"""CONNECT/CONNACK, client identifiers, session takeover, keep alive and will messages against
a real ferryd, checked against the MQTT 3.1.1 and 5.0 normative statements."""
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (CONNACK, DISCONNECT, BrokerTestCase, props, raw_connect,  # noqa: E402
                           varint)


class ClientIdentifier(BrokerTestCase):
    def test_v5_empty_id_gets_assigned_client_identifier_MQTT_3_1_3_6_and_7(self):
        """5.0 MQTT-3.1.3-6/-7: a zero-length ClientID is given a unique one, returned in the
        CONNACK as the Assigned Client Identifier."""
        a = self.client("", 5)
        flags, rc, p = a.connect(self.broker.port, clean_start=True)
        self.assertEqual(rc, 0)
        assigned = getattr(p, "AssignedClientIdentifier", None)
        self.assertTrue(assigned, "CONNACK has no Assigned Client Identifier property")
        b = self.client("", 5)
        _, _, p2 = b.connect(self.broker.port, clean_start=True)
        self.assertNotEqual(assigned, getattr(p2, "AssignedClientIdentifier", None),
                            "two clients were assigned the same identifier")

    def test_v311_empty_id_with_clean_session_accepted_MQTT_3_1_3_6(self):
        """3.1.1 MQTT-3.1.3-6: a zero-byte ClientId with CleanSession=1 gets a unique id and the
        connection is accepted (CONNACK return code 0)."""
        r = self.raw()
        r.send(raw_connect("", version=4, clean=True))
        flags, body = r.expect(CONNACK)
        self.assertEqual(body, b"\x00\x00")

    def test_v311_empty_id_without_clean_session_refused_MQTT_3_1_3_8(self):
        """3.1.1 MQTT-3.1.3-8: zero-byte ClientId with CleanSession=0 -> CONNACK return code 0x02
        (identifier rejected), then the connection is closed."""
        r = self.raw()
        r.send(raw_connect("", version=4, clean=False))
        flags, body = r.expect(CONNACK)
        self.assertEqual(body, b"\x00\x02")
        self.assertTrue(r.wait_closed(5.0), "connection not closed after CONNACK 0x02")


class SessionTakeover(BrokerTestCase):
    def test_v5_takeover_sends_disconnect_0x8E_and_closes_MQTT_3_1_4_3(self):
        """5.0 MQTT-3.1.4-3: a second connection with the same ClientID makes the Server send
        DISCONNECT 0x8E (Session taken over) to the existing client and close it."""
        r = self.raw()
        r.send(raw_connect("twin", version=5))
        r.expect(CONNACK)
        second = self.connected("twin", 5)
        self.assertTrue(r.wait_closed(5.0), "first connection was not closed")
        disconnects = [p for p in r.seen if p[0] == DISCONNECT]
        self.assertEqual(len(disconnects), 1, "expected one DISCONNECT, saw %r" % r.seen)
        self.assertEqual(disconnects[0][2][:1], b"\x8e")
        from ferry_harness import parse_properties, read_varint
        body = disconnects[0][2]
        if len(body) > 1:
            plen, pos = read_varint(body, 1)
            self.assertNotIn(0x11, dict(parse_properties(body[pos:pos + plen])),
                             "MQTT-3.14.2-2: Server sent Session Expiry Interval on DISCONNECT")
        # The new connection is the one that stays.
        self.assertEqual(second.subscribe("t", 0), [0])

    def test_v311_takeover_closes_first_connection_MQTT_3_1_4_2(self):
        """3.1.1 MQTT-3.1.4-2: if the ClientId is already connected, the Server MUST disconnect
        the existing Client."""
        first = self.connected("twin3", 4)
        second = self.connected("twin3", 4)
        self.assertTrue(first.wait_disconnect(5.0), "first client was not disconnected")
        self.assertEqual(second.subscribe("t", 1), [1])

    def test_v311_takeover_closes_without_server_disconnect_packet(self):
        """3.1.1 has no Server-to-Client DISCONNECT (3.14: "sent from the Client to the Server");
        a taken-over 3.1.1 connection is just closed (MQTT-3.1.4-2), no DISCONNECT bytes."""
        r = self.raw()
        r.send(raw_connect("twin4raw", version=4))
        r.expect(CONNACK)
        self.connected("twin4raw", 4)
        self.assertTrue(r.wait_closed(5.0))
        self.assertEqual([p for p in r.seen if p[0] == DISCONNECT], [],
                         "3.1.1 client was sent a DISCONNECT packet")

    def test_v5_connack_capabilities_consistent_3_2_2_3(self):
        """5.0 3.2.2.3: Ferry supports QoS 2, retain, wildcards, subscription identifiers and
        shared subscriptions, so CONNACK must not announce otherwise: Maximum QoS absent (if
        present it may only be 0 or 1, 3.2.2.3.4), and Retain Available (0x25), Wildcard
        Subscription Available (0x28), Subscription Identifiers Available (0x29), Shared
        Subscription Available (0x2A) absent or 1. Each property at most once."""
        from ferry_harness import parse_connack_v5
        r = self.raw()
        r.send(raw_connect("caps", version=5))
        flags, body = r.expect(CONNACK)
        sp, rc, p = parse_connack_v5(body)
        self.assertEqual(rc, 0)
        ids = [i for i, v in p if i != 0x26]
        self.assertEqual(len(ids), len(set(ids)), "a property appears twice: %r" % p)
        d = dict(p)
        self.assertNotIn(0x24, d, "Maximum QoS announced although QoS 2 is supported")
        self.assertNotIn(0x15, d, "MQTT-4.12.0-6: Authentication Method in CONNACK without one "
                         "in CONNECT")
        for pid in (0x25, 0x28, 0x29, 0x2A):
            self.assertIn(d.get(pid, 1), (1,), "capability 0x%02X announced as 0" % pid)


class KeepAlive(BrokerTestCase):
    def test_silent_client_closed_after_one_and_half_keepalive_and_will_sent_MQTT_3_1_2_24(self):
        """3.1.1 MQTT-3.1.2-24 / 5.0 MQTT-3.1.2-22: no packet within 1.5 x Keep Alive -> the Server
        disconnects as if the network had failed, so the Will is published (MQTT-3.1.2-8)."""
        watcher = self.connected("watcher", 5)
        watcher.subscribe("will/ka", 1)
        r = self.raw()
        r.send(raw_connect("sleepy", version=4, keepalive=1, will=("will/ka", b"gone", 1, False)))
        r.expect(CONNACK)
        start = time.monotonic()
        self.assertTrue(r.wait_closed(6.0), "silent client with keepalive 1 was never closed")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 1.0, "closed before the keep alive period elapsed")
        self.assertEqual([p for p in r.seen if p[0] == DISCONNECT], [],
                         "3.1.1 has no Server DISCONNECT packet")
        self.assertTrue(watcher.wait_messages(1, 5.0), "will not published on keep alive timeout")
        self.assertEqual(watcher.messages[0].payload, b"gone")

    def test_pingreq_keeps_connection_alive_MQTT_3_12_4_1(self):
        """MQTT-3.12.4-1: the Server MUST answer PINGREQ with PINGRESP; a client that pings is not
        dropped."""
        r = self.raw()
        r.send(raw_connect("pinger", version=4, keepalive=1))
        r.expect(CONNACK)
        for _ in range(4):
            time.sleep(0.5)
            r.send(b"\xc0\x00")
            t, flags, body = r.read_packet(3.0)
            self.assertEqual((t, body), (13, b""))


class ServerKeepAlive(BrokerTestCase):
    BROKER_TOML = "[limits]\nmax_keep_alive = 2\n"

    def test_v5_server_keep_alive_lowers_client_value_MQTT_3_2_2_21(self):
        """5.0 3.2.2.3.14 / MQTT-3.2.2-21: when the Server uses a Keep Alive other than the
        client's, it sends Server Keep Alive and the client MUST use it. With max_keep_alive = 2
        a client asking for 60 gets Server Keep Alive 2."""
        c = self.client("ka", 5)
        _, rc, p = c.connect(self.broker.port, keepalive=60)
        self.assertEqual(getattr(p, "ServerKeepAlive", None), 2)

    def test_v5_server_keep_alive_is_enforced_MQTT_3_1_2_22(self):
        """5.0 MQTT-3.2.2-21: the client MUST use the Server Keep Alive; so the Server enforces
        that value (1.5 x, MQTT-3.1.2-22), not the client's 60: max_keep_alive = 2 -> a silent
        client is closed after ~3 s, well before 90 s."""
        r = self.raw()
        r.send(raw_connect("ska", version=5, keepalive=60))
        r.expect(CONNACK)
        start = time.monotonic()
        self.assertTrue(r.wait_closed(8.0), "silent client kept beyond 1.5 x Server Keep Alive")
        self.assertGreaterEqual(time.monotonic() - start, 2.0)


class Will(BrokerTestCase):
    def _watch(self, topic="will/t"):
        w = self.connected("watch-" + topic.replace("/", "_"), 5)
        w.subscribe(topic, 1)
        return w

    def test_will_published_on_abnormal_close_MQTT_3_1_2_8(self):
        """MQTT-3.1.2-8: the Will Message MUST be published after the Network Connection is
        closed without a DISCONNECT (here: the socket is reset)."""
        w = self._watch()
        c = self.client("dying", 5)
        c.client.will_set("will/t", b"bye", 1, False)
        c.connect(self.broker.port)
        c.kill()
        self.assertTrue(w.wait_messages(1, 5.0), "will not published on abnormal close")
        self.assertEqual((w.messages[0].topic, w.messages[0].payload), ("will/t", b"bye"))

    def test_v311_will_published_on_abnormal_close_MQTT_3_1_2_8(self):
        w = self._watch()
        c = self.client("dying3", 4)
        c.client.will_set("will/t", b"bye3", 1, False)
        c.connect(self.broker.port)
        c.kill()
        self.assertTrue(w.wait_messages(1, 5.0), "will not published on abnormal close")
        self.assertEqual(w.messages[0].payload, b"bye3")

    def test_will_not_published_on_normal_disconnect_MQTT_3_1_2_10(self):
        """3.1.1/5.0 MQTT-3.1.2-10, 5.0 MQTT-3.14.4-3: DISCONNECT (reason 0x00) discards the Will.
        A later message on the same topic proves the watcher was listening."""
        w = self._watch()
        for version in (4, 5):
            c = self.client("polite%d" % version, version)
            c.client.will_set("will/t", b"should-not-arrive", 1, False)
            c.connect(self.broker.port)
            c.disconnect()
        marker = self.connected("marker", 5)
        marker.publish("will/t", b"marker", 1)
        self.assertTrue(w.wait_messages(1, 5.0))
        self.assertEqual([m.payload for m in w.messages], [b"marker"])

    def test_v5_disconnect_with_will_message_0x04_publishes_will_MQTT_3_14_2_1(self):
        """5.0 3.14.2.1: reason 0x04 "Disconnect with Will Message": the client wishes to
        disconnect but requires that the Server also publishes its Will Message."""
        from paho.mqtt.reasoncodes import ReasonCodes
        from paho.mqtt.packettypes import PacketTypes
        w = self._watch()
        c = self.client("with-will", 5)
        c.client.will_set("will/t", b"asked-for", 1, False)
        c.connect(self.broker.port)
        c.disconnect(reasoncode=ReasonCodes(PacketTypes.DISCONNECT, identifier=0x04))
        self.assertTrue(w.wait_messages(1, 5.0), "will not published after DISCONNECT 0x04")
        self.assertEqual(w.messages[0].payload, b"asked-for")

    def test_v5_disconnect_with_error_reason_publishes_will_MQTT_3_1_2_8(self):
        """5.0 3.1.2-8: the will is published after the connection closes "unless the Will
        Message has been deleted by the Server on receipt of a DISCONNECT packet with Reason
        Code 0x00"; a client that disconnects with 0x80 (Unspecified error) keeps its will."""
        from paho.mqtt.reasoncodes import ReasonCodes
        from paho.mqtt.packettypes import PacketTypes
        w = self._watch()
        c = self.client("error-exit", 5)
        c.client.will_set("will/t", b"after-error", 1, False)
        c.connect(self.broker.port)
        c.disconnect(reasoncode=ReasonCodes(PacketTypes.DISCONNECT, identifier=0x80))
        self.assertTrue(w.wait_messages(1, 5.0), "will not published after DISCONNECT 0x80")
        self.assertEqual(w.messages[0].payload, b"after-error")

    def test_v5_will_delay_interval_delays_will_MQTT_3_1_3_9(self):
        """5.0 3.1.3.2.2: the Server delays publishing the Will Message until the Will Delay
        Interval has passed or the Session ends, whichever happens first. Session expiry 30 s,
        will delay 2 s: nothing within the first second, the will after about 2 s."""
        w = self._watch()
        c = self.client("delayed", 5)
        c.client.will_set("will/t", b"late", 1, False,
                          properties=props("WILLMESSAGE", WillDelayInterval=2))
        c.connect(self.broker.port, clean_start=True,
                  properties=props("CONNECT", SessionExpiryInterval=30))
        c.kill()
        self.assertFalse(w.wait_messages(1, 1.0), "will published before its delay interval")
        self.assertTrue(w.wait_messages(1, 5.0), "will not published after its delay interval")
        self.assertEqual(w.messages[0].payload, b"late")

    def test_v5_will_not_sent_if_client_reconnects_within_delay_MQTT_3_1_3_9(self):
        """5.0 MQTT-3.1.3-9: if a new Network Connection to this Session is made before the Will
        Delay Interval has passed, the Server MUST NOT send the Will Message."""
        w = self._watch()
        c = self.client("comeback", 5)
        c.client.will_set("will/t", b"must-not", 1, False,
                          properties=props("WILLMESSAGE", WillDelayInterval=2))
        c.connect(self.broker.port, properties=props("CONNECT", SessionExpiryInterval=30))
        c.kill()
        again = self.client("comeback", 5)
        again.connect(self.broker.port, clean_start=False,
                      properties=props("CONNECT", SessionExpiryInterval=30))
        self.assertFalse(w.wait_messages(1, 3.5), "will published although the client returned")
        again.disconnect()

    def test_v5_will_sent_when_session_ends_before_will_delay(self):
        """5.0 3.1.3.2.2: the Will is published when the Will Delay Interval has passed OR the
        Session ends, whichever happens first. Session Expiry 0 ends the session at the close,
        so a will delay of 60 s does not hold the will back."""
        w = self._watch()
        c = self.client("shortlived", 5)
        c.client.will_set("will/t", b"now", 1, False,
                          properties=props("WILLMESSAGE", WillDelayInterval=60))
        c.connect(self.broker.port)  # session expiry absent = 0
        c.kill()
        self.assertTrue(w.wait_messages(1, 5.0), "will held back although the session ended")

    def test_will_retain_flag_stores_retained_will_MQTT_3_1_2_17(self):
        """3.1.1 MQTT-3.1.2-17 / 5.0 MQTT-3.1.2-17: Will Retain 1 -> the Will is published as a
        retained message."""
        c = self.client("retwill", 4)
        c.client.will_set("will/ret", b"kept", 1, True)
        c.connect(self.broker.port)
        w = self._watch("will/ret")
        c.kill()
        self.assertTrue(w.wait_messages(1, 5.0))
        late = self.connected("late", 5)
        late.subscribe("will/ret", 1)
        self.assertTrue(late.wait_messages(1, 5.0), "retained will not delivered to a new sub")
        self.assertEqual(late.messages[0].payload, b"kept")
        self.assertTrue(late.messages[0].retain)

    def test_v5_will_properties_forwarded_MQTT_3_1_3_10(self):
        """5.0 3.1.3.2: the Will Properties (Content Type, Response Topic, Correlation Data, User
        Properties, Payload Format Indicator) are sent with the Will Message when it is
        published; MQTT-3.1.3-10: the Server MUST maintain the order of User Properties."""
        w = self._watch()
        c = self.client("propwill", 5)
        wp = props("WILLMESSAGE", ContentType="text/plain", ResponseTopic="will/reply",
                   CorrelationData=b"\x01\x02", PayloadFormatIndicator=1,
                   MessageExpiryInterval=30)
        wp.UserProperty = [("z", "1"), ("a", "2")]
        c.client.will_set("will/t", b"with-props", 1, False, properties=wp)
        c.connect(self.broker.port)
        c.kill()
        self.assertTrue(w.wait_messages(1, 5.0))
        got = w.messages[0].properties
        self.assertEqual(got.ContentType, "text/plain")
        self.assertEqual(got.ResponseTopic, "will/reply")
        self.assertEqual(got.CorrelationData, b"\x01\x02")
        self.assertEqual(got.PayloadFormatIndicator, 1)
        self.assertEqual(got.UserProperty, [("z", "1"), ("a", "2")])
        # 3.1.3.2.4: the will's Message Expiry Interval is sent as the Publication Expiry
        # Interval when the Server publishes the Will Message.
        self.assertIsNotNone(getattr(got, "MessageExpiryInterval", None))
        self.assertLessEqual(got.MessageExpiryInterval, 30)

    def test_v5_takeover_publishes_will_of_old_connection_3_1_3_2_2(self):
        """5.0 3.1.3.2.2 / 3.1.4: when a new connection takes over a ClientID, the Will of the
        existing connection (Will Delay 0) is sent at its close - the takeover closes it without
        a normal DISCONNECT from the client (MQTT-3.1.2-8)."""
        w = self._watch()
        old = self.client("tk-will", 5)
        old.client.will_set("will/t", b"taken-over", 1, False)
        old.connect(self.broker.port)
        self.connected("tk-will", 5)
        self.assertTrue(w.wait_messages(1, 5.0), "will of the taken-over connection not sent")
        self.assertEqual(w.messages[0].payload, b"taken-over")

    def test_v5_takeover_with_will_delay_and_clean_start_0_keeps_will_back_3_1_3_2_2(self):
        """5.0 3.1.3.2.2: the Will of the existing connection is sent on takeover "unless the new
        connection specifies Clean Start of 0 and the Will Delay is greater than zero"
        (MQTT-3.1.3-9: a new connection to the session within the delay -> no Will)."""
        w = self._watch()
        old = self.client("tk-delay", 5)
        old.client.will_set("will/t", b"must-not", 1, False,
                            properties=props("WILLMESSAGE", WillDelayInterval=5))
        old.connect(self.broker.port, properties=props("CONNECT", SessionExpiryInterval=60))
        new = self.client("tk-delay", 5)
        new.connect(self.broker.port, clean_start=False,
                    properties=props("CONNECT", SessionExpiryInterval=60))
        self.assertFalse(w.wait_messages(1, 1.5), "will sent although the session continues")

    def test_v5_will_sent_at_session_expiry_before_will_delay_3_1_3_2_2(self):
        """5.0 3.1.3.2.2: Session Expiry 1 s, Will Delay 30 s: the session ends first, so the
        Will is published about 1 s after the close - not at once (the session still exists
        for that second) and not after 30 s."""
        w = self._watch()
        c = self.client("exp-first", 5)
        c.client.will_set("will/t", b"at-expiry", 1, False,
                          properties=props("WILLMESSAGE", WillDelayInterval=30))
        c.connect(self.broker.port, properties=props("CONNECT", SessionExpiryInterval=1))
        c.kill()
        self.assertFalse(w.wait_messages(1, 0.5), "will sent while the session still existed")
        self.assertTrue(w.wait_messages(1, 4.0), "will not sent when the session expired")
        self.assertEqual(w.messages[0].payload, b"at-expiry")


class ConnectionLimit(BrokerTestCase):
    BROKER_TOML = "[limits]\nmax_connections = 2\n"

    def test_connection_beyond_max_connections_refused_3_2_2_2(self):
        """Ferry [limits] max_connections = 2: a third client is refused with a CONNACK error
        code - 5.0 0x97 (Quota exceeded) or 0x89 (Server busy), 3.1.1 0x03 (Server unavailable) -
        or closed before CONNACK; after that the Server closes the connection (MQTT-3.2.2-7 /
        3.1.1 MQTT-3.2.2-5)."""
        self.connected("one", 5)
        self.connected("two", 4)
        for version, ok in ((5, (0x97, 0x89, 0x9F)), (4, (0x03,))):
            r = self.raw()
            try:
                r.send(raw_connect("three-v%d" % version, version=version))
                t, flags, body = r.read_packet(5.0)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                continue  # closed before CONNACK: also a refusal
            self.assertEqual(t, CONNACK)
            self.assertIn(body[1], ok)
            self.assertTrue(r.wait_closed(5.0))


class AnonymousRefused(BrokerTestCase):
    def setUp(self):
        from ferry_harness import FerryBroker
        self.broker = FerryBroker(listeners=[("mqtt", "127.0.0.1:0", "allow_anonymous = false\n")])
        self.broker.start()
        self._clients = []
        self.addCleanup(self._teardown_broker)

    def test_anonymous_refused_when_not_allowed_MQTT_3_2_2(self):
        """allow_anonymous = false: a CONNECT without credentials is refused - 3.1.1 return code
        0x05 (not authorized), 5.0 0x87 (Not authorized) or 0x86 (Bad User Name or Password) - and
        the connection is closed (3.1.1 MQTT-3.2.2-5, 5.0 MQTT-3.2.2-7)."""
        for version, ok in ((4, (0x05, 0x04)), (5, (0x87, 0x86))):
            r = self.raw()
            r.send(raw_connect("anon%d" % version, version=version))
            flags, body = r.expect(CONNACK)
            self.assertIn(body[1], ok)
            self.assertTrue(r.wait_closed(5.0))


if __name__ == "__main__":
    unittest.main()
