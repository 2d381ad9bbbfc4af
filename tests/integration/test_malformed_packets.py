"""Packets that parse but break the protocol's rules, against a real ferryd over raw TCP:
QoS 3, reserved flag bits, packet id 0, duplicate properties, a second CONNECT, packets only a
server may send, AUTH without a method, receive maximum, topic aliases, bad will properties,
100k user properties and a QoS 2 PUBLISH resent forever.

Every case checks (a) the answer the spec asks for, then the close, (b) that the broker still
serves, (c) that the log names the client and the reason. Bytes by hand, one field per line.
"""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (  # noqa: E402
    BadInputChecks, CONNACK, DISCONNECT, PUBACK, PUBCOMP, PUBLISH, PUBREC, SUBACK, UNSUBACK,
    parse_connack_v5, parse_publish, peer_of, publishes_before, raw_publish, raw_subscribe,
    varint)

# Spec 2.2.1 asks for a non-zero Packet Identifier [MQTT-2.2.1-3] without naming the reason
# code: the packet parses (Protocol Error, 0x82) yet its field has a value the format forbids
# (Malformed Packet, 0x81). Both are the spec's words for this case; anything else is wrong.
MALFORMED_OR_PROTOCOL = frozenset({0x81, 0x82})


class FixedHeaderTest(BadInputChecks, unittest.TestCase):
    """Fixed header flags (5.0 section 2.1.3, table 2-2)."""

    def _check_v5(self, client_id, packet, reason=0x81):
        raw = self.connected(client_id, version=5)
        peer = peer_of(raw)
        raw.send(packet)
        self.assertDisconnect(raw, reason)
        self.assertServes()
        self.assertLogged("client_id=" + client_id, peer, "0x%02x" % reason)

    def _check_v311(self, client_id, packet):
        raw = self.connected(client_id, version=4)
        peer = peer_of(raw)
        raw.send(packet)
        self.assertClosed(raw)        # 3.1.1: the server closes, it has no DISCONNECT
        self.assertServes()
        self.assertLogged("client_id=" + client_id, peer)

    def test_publish_qos3_v5_MQTT_3_3_1_4(self):
        # "A PUBLISH Packet MUST NOT have both QoS bits set to 1 [MQTT-3.3.1-4]. If a Server
        # or Client receives a PUBLISH packet which has both QoS bits set to 1 it is a
        # Malformed Packet."
        self._check_v5("qos3", b"\x36"              # PUBLISH, QoS 3
                               b"\x0a"              # remaining length 10
                               b"\x00\x03" b"s/x"   # topic "s/x"
                               b"\x00\x01"          # packet id 1
                               b"\x00"              # property length 0
                               b"hi")               # payload

    def test_publish_qos3_v311_MQTT_3_3_1_4(self):
        self._check_v311("qos3-311", b"\x36"              # PUBLISH, QoS 3
                                     b"\x09"              # remaining length 9
                                     b"\x00\x03" b"s/x"   # topic "s/x"
                                     b"\x00\x01"          # packet id 1
                                     b"hi")               # payload

    def test_publish_dup_with_qos0_MQTT_3_3_1_2(self):
        # "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2].
        self._check_v5("dup-qos0", b"\x38"              # PUBLISH, DUP, QoS 0
                                   b"\x08"              # remaining length 8
                                   b"\x00\x03" b"s/x"   # topic "s/x"
                                   b"\x00"              # property length 0
                                   b"hi")               # payload

    def test_subscribe_reserved_flags_v5_MQTT_3_8_1_1(self):
        # "Bits 3,2,1 and 0 of the Fixed Header of the SUBSCRIBE packet are reserved and MUST
        # be set to 0,0,1 and 0 respectively. The Server MUST treat any other value as
        # malformed and close the Network Connection" [MQTT-3.8.1-1].
        self._check_v5("flags-sub", b"\x80"              # SUBSCRIBE with flags 0000
                                    b"\x09"              # remaining length 9
                                    b"\x00\x01"          # packet id 1
                                    b"\x00"              # property length 0
                                    b"\x00\x03" b"s/x"   # topic filter
                                    b"\x01")             # options: QoS 1

    def test_subscribe_reserved_flags_v311_MQTT_3_8_1_1(self):
        self._check_v311("flags-sub-311", b"\x8a"              # SUBSCRIBE with flags 1010
                                          b"\x08"              # remaining length 8
                                          b"\x00\x01"          # packet id 1
                                          b"\x00\x03" b"s/x"   # topic filter
                                          b"\x01")             # requested QoS 1

    def test_unsubscribe_reserved_flags_v5_MQTT_3_10_1_1(self):
        self._check_v5("flags-unsub", b"\xa0"              # UNSUBSCRIBE with flags 0000
                                      b"\x08"              # remaining length 8
                                      b"\x00\x01"          # packet id 1
                                      b"\x00"              # property length 0
                                      b"\x00\x03" b"s/x")  # topic filter

    def test_unsubscribe_reserved_flags_v311_MQTT_3_10_1_1(self):
        self._check_v311("flags-unsub-311", b"\xa3"              # UNSUBSCRIBE, flags 0011
                                            b"\x07"              # remaining length 7
                                            b"\x00\x01"          # packet id 1
                                            b"\x00\x03" b"s/x")  # topic filter

    def test_pubrel_reserved_flags_v5_MQTT_3_6_1_1(self):
        self._check_v5("flags-pubrel", b"\x60"        # PUBREL with flags 0000
                                       b"\x02"        # remaining length 2
                                       b"\x00\x01")   # packet id 1

    def test_pubrel_reserved_flags_v311_MQTT_3_6_1_1(self):
        self._check_v311("flags-pubrel-311", b"\x66"        # PUBREL with flags 0110
                                             b"\x02"        # remaining length 2
                                             b"\x00\x01")   # packet id 1

    def test_pingreq_reserved_flags_v5_MQTT_2_1_3_1(self):
        # "Where a flag bit is marked as "Reserved", it is reserved for future use and MUST
        # be set to the value listed [MQTT-2.1.3-1]. If invalid flags are received it is a
        # Malformed Packet."
        self._check_v5("flags-ping", b"\xc1"   # PINGREQ with flags 0001
                                     b"\x00")  # remaining length 0

    def test_pingreq_reserved_flags_v311_MQTT_2_2_2_2(self):
        self._check_v311("flags-ping-311", b"\xc8"   # PINGREQ with flags 1000
                                           b"\x00")  # remaining length 0

    def test_reserved_packet_type_0(self):
        self._check_v5("type0", b"\x00"   # packet type 0 (Reserved, 2.1.2)
                                b"\x00")  # remaining length 0


class PacketIdTest(BadInputChecks, unittest.TestCase):
    """[MQTT-2.2.1-3]: SUBSCRIBE, UNSUBSCRIBE and QoS > 0 PUBLISH carry a non-zero id."""

    def _check(self, client_id, packet):
        raw = self.connected(client_id, version=5)
        peer = peer_of(raw)
        raw.send(packet)
        got = self.assertDisconnect(raw, MALFORMED_OR_PROTOCOL)
        self.assertServes()
        self.assertLogged("client_id=" + client_id, peer, "0x%02x" % got)

    def test_qos1_publish_packet_id_0_MQTT_2_2_1_3(self):
        self._check("pid0-q1", b"\x32"              # PUBLISH, QoS 1
                               b"\x0a"              # remaining length 10
                               b"\x00\x03" b"s/x"   # topic "s/x"
                               b"\x00\x00"          # packet id 0
                               b"\x00"              # property length 0
                               b"hi")               # payload

    def test_qos2_publish_packet_id_0_MQTT_2_2_1_3(self):
        self._check("pid0-q2", b"\x34"              # PUBLISH, QoS 2
                               b"\x0a"              # remaining length 10
                               b"\x00\x03" b"s/x"   # topic "s/x"
                               b"\x00\x00"          # packet id 0
                               b"\x00"              # property length 0
                               b"hi")               # payload

    def test_subscribe_packet_id_0_MQTT_2_2_1_3(self):
        self._check("pid0-sub", b"\x82"              # SUBSCRIBE
                                b"\x09"              # remaining length 9
                                b"\x00\x00"          # packet id 0
                                b"\x00"              # property length 0
                                b"\x00\x03" b"s/x"   # topic filter
                                b"\x01")             # options: QoS 1

    def test_unsubscribe_packet_id_0_MQTT_2_2_1_3(self):
        self._check("pid0-unsub", b"\xa2"              # UNSUBSCRIBE
                                  b"\x08"              # remaining length 8
                                  b"\x00\x00"          # packet id 0
                                  b"\x00"              # property length 0
                                  b"\x00\x03" b"s/x")  # topic filter

    def test_qos1_publish_packet_id_0_v311_closes_MQTT_2_3_1_1(self):
        raw = self.connected("pid0-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x32"              # PUBLISH, QoS 1
                 b"\x09"              # remaining length 9
                 b"\x00\x03" b"s/x"   # topic "s/x"
                 b"\x00\x00"          # packet id 0
                 b"hi")               # payload
        self.assertClosed(raw)        # no PUBACK 0
        self.assertServes()
        self.assertLogged("client_id=pid0-311", peer)


class RulesTest(BadInputChecks, unittest.TestCase):
    """Protocol rules about order, direction and properties; receive_maximum = 2 for the
    flow control case (a broker's own value, advertised in CONNACK)."""

    BROKER_TOML = "[limits]\nreceive_maximum = 2\n"

    # -- properties ------------------------------------------------------------------
    def test_duplicate_message_expiry_in_publish_0x82_3_3_2_3_3(self):
        # "It is a Protocol Error to include the Message Expiry Interval more than once."
        raw = self.connected("dup-prop", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                      # PUBLISH, QoS 0
                 b"\x12"                      # remaining length 18
                 b"\x00\x03" b"s/x"           # topic "s/x"
                 b"\x0a"                      # property length 10
                 b"\x02" b"\x00\x00\x00\x3c"  # Message Expiry Interval 60
                 b"\x02" b"\x00\x00\x00\x3c"  # Message Expiry Interval 60, again
                 b"hi")                       # payload
        self.assertDisconnect(raw, 0x82)      # Protocol Error
        self.assertServes()
        self.assertLogged("client_id=dup-prop", peer, "0x82")

    def test_duplicate_session_expiry_in_connect_connack_0x82_3_1_2_11_2(self):
        # "It is a Protocol Error to include the Session Expiry Interval more than once."
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                      # CONNECT
                 b"\x19"                      # remaining length 25
                 b"\x00\x04" b"MQTT"          # protocol name
                 b"\x05"                      # protocol level 5
                 b"\x02"                      # connect flags: clean start
                 b"\x00\x3c"                  # keep alive 60
                 b"\x0a"                      # property length 10
                 b"\x11" b"\x00\x00\x00\x0a"  # Session Expiry Interval 10
                 b"\x11" b"\x00\x00\x00\x14"  # Session Expiry Interval 20
                 b"\x00\x02" b"ds")           # client id "ds"
        self.assertConnackThenClose(raw, 0x82)
        self.assertServes()
        self.assertLogged(peer, "0x82")

    def test_will_with_invalid_property_connack_0x81_2_2_2_2(self):
        # "A Control Packet which contains an Identifier which is not valid for its packet
        # type ... is a Malformed Packet" (2.2.2.2). Session Expiry Interval is a CONNECT
        # property, not a Will property. The refused will is never published.
        watcher = self.connected("will-watch", version=5)
        watcher.send(raw_subscribe(1, [("will/bad", 0)], version=5))
        watcher.expect(SUBACK)
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                      # CONNECT
                 b"\x25"                      # remaining length 37
                 b"\x00\x04" b"MQTT"          # protocol name
                 b"\x05"                      # protocol level 5
                 b"\x06"                      # connect flags: will, clean start
                 b"\x00\x3c"                  # keep alive 60
                 b"\x00"                      # property length 0
                 b"\x00\x02" b"wp"            # client id "wp"
                 b"\x05"                      # will property length 5
                 b"\x11" b"\x00\x00\x00\x3c"  # Session Expiry Interval: not a will property
                 b"\x00\x08" b"will/bad"      # will topic
                 b"\x00\x04" b"gone")         # will payload
        self.assertConnackThenClose(raw, 0x81)
        marker = self.connected("will-marker", version=5)
        marker.send(raw_publish("will/bad", b"marker", qos=0, version=5))
        before = publishes_before(watcher, lambda m: m["payload"] == b"marker", 5)
        self.assertEqual(before, [], "the will of a refused CONNECT was published")
        self.assertServes()
        self.assertLogged(peer, "0x81")

    def test_will_with_unknown_property_identifier_connack_0x81_2_2_2_2(self):
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                      # CONNECT
                 b"\x22"                      # remaining length 34
                 b"\x00\x04" b"MQTT"          # protocol name
                 b"\x05"                      # protocol level 5
                 b"\x06"                      # connect flags: will, clean start
                 b"\x00\x3c"                  # keep alive 60
                 b"\x00"                      # property length 0
                 b"\x00\x02" b"wu"            # client id "wu"
                 b"\x02"                      # will property length 2
                 b"\x7f" b"\x00"              # identifier 0x7F: not a property
                 b"\x00\x08" b"will/unk"      # will topic
                 b"\x00\x04" b"gone")         # will payload
        self.assertConnackThenClose(raw, 0x81)
        self.assertServes()
        self.assertLogged(peer, "0x81")

    def _answer_within(self, raw, data, timeout=10.0):
        """Sends data; returns the first packet type the broker answers with, or None if it
        closed the connection instead. Fails if neither happens within timeout."""
        try:
            raw.send(data)
            return raw.read_packet(timeout)[0]
        except (EOFError, BrokenPipeError, ConnectionResetError):
            return None
        except socket.timeout:
            self.fail("no answer and no close within %.1fs" % timeout)

    def test_connect_with_100k_user_properties_bounded(self):
        # Mosquitto spent quadratic CPU on many user properties. The broker must answer
        # (CONNACK, any reason) or close within a few seconds and stay responsive.
        raw = self.raw_client()
        peer = peer_of(raw)
        pair = (b"\x26"             # User Property
                b"\x00\x01" b"k"    # name "k"
                b"\x00\x01" b"v")   # value "v"
        answer = self._answer_within(raw, b"\x10"    # CONNECT
                                     b"\xf1\xdc\x2a"  # remaining length 700,017
                                     #                  = 113 + 92*128 + 42*128^2
                                     b"\x00\x04" b"MQTT"  # protocol name
                                     b"\x05"          # protocol level 5
                                     b"\x02"          # connect flags: clean start
                                     b"\x00\x3c"      # keep alive 60
                                     b"\xe0\xdc\x2a"  # property length 700,000
                                     #                  = 96 + 92*128 + 42*128^2
                                     + pair * 100000   # 100,000 x 7 bytes
                                     + b"\x00\x02" b"up")  # client id "up"
        self.assertIn(answer, (CONNACK, None))
        self.assertServes()
        self.assertLogged(peer)       # accepted (client_connected) or refused, with the peer

    def test_publish_with_100k_user_properties_bounded(self):
        raw = self.connected("many-props-pub", version=5)
        pair = (b"\x26"             # User Property
                b"\x00\x01" b"k"    # name "k"
                b"\x00\x01" b"v")   # value "v"
        answer = self._answer_within(raw, b"\x32"     # PUBLISH, QoS 1
                                     b"\xef\xdc\x2a"  # remaining length 700,015
                                     #                  = 111 + 92*128 + 42*128^2
                                     b"\x00\x06" b"many/p"  # topic "many/p"
                                     b"\x00\x01"      # packet id 1
                                     b"\xe0\xdc\x2a"  # property length 700,000
                                     + pair * 100000
                                     + b"hi")          # payload
        self.assertIn(answer, (PUBACK, DISCONNECT, None))
        self.assertServes()

    # -- order and direction ---------------------------------------------------------
    def test_second_connect_v5_disconnect_0x82_MQTT_3_1_0_2(self):
        # "The Server MUST process a second CONNECT packet sent from a Client as a Protocol
        # Error and close the Network Connection" [MQTT-3.1.0-2].
        raw = self.connected("twice", version=5)
        peer = peer_of(raw)
        raw.send(b"\x10"                  # CONNECT
                 b"\x0f"                  # remaining length 15
                 b"\x00\x04" b"MQTT"      # protocol name
                 b"\x05"                  # protocol level 5
                 b"\x02"                  # connect flags: clean start
                 b"\x00\x3c"              # keep alive 60
                 b"\x00"                  # property length 0
                 b"\x00\x02" b"c2")       # client id "c2"
        self.assertDisconnect(raw, 0x82)
        self.assertServes()
        self.assertLogged("client_id=twice", peer, "0x82")

    def test_second_connect_v311_closes_MQTT_3_1_0_2(self):
        raw = self.connected("twice-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x10"                  # CONNECT
                 b"\x0e"                  # remaining length 14
                 b"\x00\x04" b"MQTT"      # protocol name
                 b"\x04"                  # protocol level 4
                 b"\x02"                  # connect flags: clean session
                 b"\x00\x3c"              # keep alive 60
                 b"\x00\x02" b"c2")       # client id "c2"
        self.assertClosed(raw)            # no second CONNACK
        self.assertServes()
        self.assertLogged("client_id=twice-311", peer)

    def _server_only_v5(self, client_id, packet):
        raw = self.connected(client_id, version=5)
        peer = peer_of(raw)
        raw.send(packet)
        self.assertDisconnect(raw, 0x82)  # Protocol Error: a Client never sends these
        self.assertServes()
        self.assertLogged("client_id=" + client_id, peer, "0x82")

    def test_client_sends_connack_CVE_2021_28166(self):
        # Mosquitto crashed when a client sent CONNACK (CVE-2021-28166).
        self._server_only_v5("send-connack", b"\x20"      # CONNACK
                                             b"\x03"      # remaining length 3
                                             b"\x00"      # acknowledge flags
                                             b"\x00"      # reason code 0
                                             b"\x00")     # property length 0

    def test_client_sends_suback(self):
        self._server_only_v5("send-suback", b"\x90"       # SUBACK
                                            b"\x04"       # remaining length 4
                                            b"\x00\x01"   # packet id 1
                                            b"\x00"       # property length 0
                                            b"\x00")      # reason code: QoS 0

    def test_client_sends_unsuback(self):
        self._server_only_v5("send-unsuback", b"\xb0"       # UNSUBACK
                                              b"\x04"       # remaining length 4
                                              b"\x00\x01"   # packet id 1
                                              b"\x00"       # property length 0
                                              b"\x00")      # reason code: success

    def test_client_sends_pingresp(self):
        self._server_only_v5("send-pingresp", b"\xd0"   # PINGRESP
                                              b"\x00")  # remaining length 0

    def test_client_sends_connack_v311_closes_CVE_2021_28166(self):
        raw = self.connected("send-connack-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x20"       # CONNACK
                 b"\x02"       # remaining length 2
                 b"\x00"       # acknowledge flags
                 b"\x00")      # return code 0
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=send-connack-311", peer)

    def test_auth_after_connect_without_method_0x82_MQTT_3_15_1_1(self):
        # "If the Client does not include an Authentication Method in the CONNECT, the Client
        # MUST NOT send an AUTH packet to the Server" [MQTT-4.12.0-5]: a Protocol Error.
        self._server_only_v5("auth-late", b"\xf0"   # AUTH
                                          b"\x02"   # remaining length 2
                                          b"\x18"   # reason: Continue authentication
                                          b"\x00")  # property length 0

    def test_auth_in_v311_closes(self):
        # Packet type 15 is Reserved in 3.1.1 (section 2.2.1, "Forbidden").
        raw = self.connected("auth-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\xf0"      # AUTH (reserved in 3.1.1)
                 b"\x00")     # remaining length 0
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=auth-311", peer)

    # -- flow control ----------------------------------------------------------------
    def test_connack_advertises_receive_maximum_3_2_2_3_3(self):
        raw = self.connected("rm-advert", version=5)
        self.assertEqual(dict(parse_connack_v5(raw.connack)[2]).get(0x21), 2)  # Receive Maximum

    def test_receive_maximum_exceeded_0x93_MQTT_3_3_4_7(self):
        # "If it receives more than Receive Maximum QoS 1 and QoS 2 PUBLISH packets where it
        # has not sent a PUBACK or PUBCOMP in response, the Server uses a DISCONNECT packet
        # with Reason Code 0x93 (Receive Maximum exceeded)" (3.3.4).
        raw = self.connected("rm-over", version=5)
        peer = peer_of(raw)
        for pid in (1, 2):
            raw.send(b"\x34"                 # PUBLISH, QoS 2
                     b"\x09"                 # remaining length 9
                     b"\x00\x03" b"r/x"      # topic "r/x"
                     + bytes([0, pid]) +     # packet id 1, then 2
                     b"\x00"                 # property length 0
                     b"q")                   # payload
            _, body = raw.expect(PUBREC)
            self.assertEqual(body[:2], bytes([0, pid]))
        raw.send(b"\x34"                     # PUBLISH, QoS 2
                 b"\x09"                     # remaining length 9
                 b"\x00\x03" b"r/x"          # topic "r/x"
                 b"\x00\x03"                 # packet id 3: a third unanswered QoS 2
                 b"\x00"                     # property length 0
                 b"q")                       # payload
        self.assertDisconnect(raw, 0x93)
        self.assertServes()
        self.assertLogged("client_id=rm-over", peer, "0x93")

    def test_receive_maximum_counts_only_unanswered(self):
        # PUBCOMP frees a slot; QoS 1 PUBLISH answered at once never fill the window.
        raw = self.connected("rm-ok", version=5)
        for pid in (1, 2, 3):
            raw.send(raw_publish("r/y", b"q", qos=2, mid=pid, version=5))
            raw.expect(PUBREC)
            raw.send(b"\x62"         # PUBREL
                     b"\x02"         # remaining length 2
                     + bytes([0, pid]))
            _, body = raw.expect(PUBCOMP)
            self.assertEqual(body[:2], bytes([0, pid]))
        for pid in range(10, 15):
            raw.send(raw_publish("r/y", b"q", qos=1, mid=pid, version=5))
        for pid in range(10, 15):
            _, body = raw.expect(PUBACK)
            self.assertEqual(body[:2], bytes([0, pid]))
        self.assertStillOpen(raw)

    def test_repeated_qos2_publish_same_id_CVE_2023_28366_MQTT_4_3_3(self):
        # A QoS 2 PUBLISH resent with the same id, the client never answering PUBREC with
        # PUBREL: each copy is answered with PUBREC, and the message is delivered once.
        sub = self.connected("q2-sub", version=5)
        sub.send(raw_subscribe(1, [("q2/dup", 0)], version=5))
        sub.expect(SUBACK)
        pub = self.connected("q2-pub", version=5)
        first = (b"\x34"                  # PUBLISH, QoS 2
                 b"\x0f"                  # remaining length 15
                 b"\x00\x06" b"q2/dup"    # topic "q2/dup"
                 b"\x00\x09"              # packet id 9
                 b"\x00"                  # property length 0
                 b"once")                 # payload
        again = b"\x3c" + first[1:]       # same, with DUP set [MQTT-3.3.1-1]
        for i in range(200):
            pub.send(first if i == 0 else again)
            _, body = pub.expect(PUBREC)
            self.assertEqual(body[:2], b"\x00\x09")
            self.assertIn(body[2:3], (b"", b"\x00"))   # Success, every time
        pub.send(b"\x62"                  # PUBREL
                 b"\x02"                  # remaining length 2
                 b"\x00\x09")             # packet id 9
        _, body = pub.expect(PUBCOMP)
        self.assertEqual(body[:2], b"\x00\x09")
        # The id is free again: a new message with it is a new message.
        pub.send(raw_publish("q2/dup", b"twice", qos=2, mid=9, version=5))
        pub.expect(PUBREC)
        pub.send(b"\x62\x02\x00\x09")     # PUBREL, packet id 9
        pub.expect(PUBCOMP)
        pub.send(raw_publish("q2/dup", b"end", qos=0, version=5))
        before = publishes_before(sub, lambda m: m["payload"] == b"end", 5, limit=300)
        self.assertEqual([m["payload"] for m in before], [b"once", b"twice"])
        self.assertServes()

    def test_qos2_resend_after_reconnect_not_delivered_twice_MQTT_4_3_3(self):
        # The QoS 2 state survives in the session: after a reconnect with Clean Start 0 the
        # resent PUBLISH (same id, DUP) is answered with PUBREC and not delivered again.
        sub = self.connected("q2rc-sub", version=5)
        sub.send(raw_subscribe(1, [("q2/rc", 0)], version=5))
        sub.expect(SUBACK)
        resume = b"\x11\x00\x00\x01\x2c"          # Session Expiry Interval 300
        first = self.connected("q2rc-pub", version=5, clean=False, properties=resume)
        publish = (b"\x34"                          # PUBLISH, QoS 2
                   b"\x0f"                          # remaining length 15
                   b"\x00\x05" b"q2/rc"             # topic "q2/rc"
                   b"\x00\x0b"                      # packet id 11
                   b"\x00"                          # property length 0
                   b"first")                        # payload
        first.send(publish)
        self.assertEqual(first.expect(PUBREC)[1][:2], b"\x00\x0b")
        first.close()                               # gone before PUBREL
        self.assertTrue(self.broker.wait_for_log("client_disconnected client_id=q2rc-pub "))
        second = self.connected("q2rc-pub", version=5, clean=False, properties=resume)
        self.assertEqual(second.connack[0], 1, "session not resumed")
        second.send(b"\x3c" + publish[1:])          # the same PUBLISH, DUP set
        _, body = second.expect(PUBREC)
        self.assertEqual(body[:2], b"\x00\x0b")
        self.assertIn(body[2:3], (b"", b"\x00"))
        second.send(b"\x62\x02\x00\x0b")            # PUBREL, packet id 11
        _, body = second.expect(PUBCOMP)
        self.assertEqual(body[:3].ljust(3, b"\x00"), b"\x00\x0b\x00")  # Success: id known
        second.send(raw_publish("q2/rc", b"end", qos=0, version=5))
        before = publishes_before(sub, lambda m: m["payload"] == b"end", 5)
        self.assertEqual([m["payload"] for m in before], [b"first"])

    def test_subscribe_and_unsubscribe_20000_filters_bounded(self):
        # One SUBSCRIBE of 200 kB: answered in full, in bounded time, and undone the same way.
        raw = self.connected("many-filters", version=5)
        filters = ["mf/%05d" % i for i in range(20000)]
        raw.send(raw_subscribe(2, [(f, 1) for f in filters], version=5))
        _, body = raw.expect(SUBACK, timeout=20.0)
        self.assertEqual(body[:3], b"\x00\x02\x00")
        self.assertEqual(body[3:], b"\x01" * 20000)
        unsub = b"\x00\x03" b"\x00" + b"".join(
            len(f).to_bytes(2, "big") + f.encode() for f in filters)
        raw.send(b"\xa2" + varint(len(unsub)) + unsub)   # UNSUBSCRIBE, all of them
        _, body = raw.expect(UNSUBACK, timeout=20.0)
        self.assertEqual(body[:3], b"\x00\x03\x00")
        self.assertEqual(body[3:], b"\x00" * 20000)
        self.assertStillOpen(raw)
        self.assertServes()

    # -- topic aliases ---------------------------------------------------------------
    def _alias_max(self, raw):
        """Topic Alias Maximum from the CONNACK properties (0 when absent)."""
        return dict(parse_connack_v5(raw.connack)[2]).get(0x22, 0)

    def test_topic_alias_0_disconnect_0x94_MQTT_3_3_2_8(self):
        # "A Topic Alias value of 0 or greater than the Maximum Topic Alias is a Protocol
        # Error, the receiver uses DISCONNECT with Reason Code of 0x94" (3.3.4).
        raw = self.connected("alias-0", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"               # PUBLISH, QoS 0
                 b"\x0b"               # remaining length 11
                 b"\x00\x03" b"s/a"    # topic "s/a"
                 b"\x03"               # property length 3
                 b"\x23" b"\x00\x00"   # Topic Alias 0
                 b"hi")                # payload
        self.assertDisconnect(raw, 0x94)
        self.assertServes()
        self.assertLogged("client_id=alias-0", peer, "0x94")

    def test_topic_alias_above_maximum_disconnect_0x94_MQTT_3_2_2_17(self):
        raw = self.connected("alias-big", version=5)
        peer = peer_of(raw)
        maximum = self._alias_max(raw)
        self.assertLess(maximum, 0xFFFF)
        raw.send(b"\x30"               # PUBLISH, QoS 0
                 b"\x0b"               # remaining length 11
                 b"\x00\x03" b"s/a"    # topic "s/a"
                 b"\x03"               # property length 3
                 b"\x23"               # Topic Alias ...
                 + (maximum + 1).to_bytes(2, "big") +   # ... one above the maximum
                 b"hi")                # payload
        self.assertDisconnect(raw, 0x94)
        self.assertServes()
        self.assertLogged("client_id=alias-big", peer, "0x94")

    def test_unknown_topic_alias_with_empty_topic_0x82_3_3_4(self):
        # "If the receiver does not already have a mapping for this Topic Alias ... If the
        # packet has a zero length Topic Name field it is a Protocol Error and the receiver
        # uses DISCONNECT with Reason Code of 0x82" (3.3.4).
        raw = self.connected("alias-unknown", version=5)
        peer = peer_of(raw)
        self.assertGreaterEqual(self._alias_max(raw), 1)
        raw.send(b"\x30"               # PUBLISH, QoS 0
                 b"\x08"               # remaining length 8
                 b"\x00\x00"           # topic length 0
                 b"\x03"               # property length 3
                 b"\x23" b"\x00\x01"   # Topic Alias 1, never set on this connection
                 b"hi")                # payload
        self.assertDisconnect(raw, 0x82)
        self.assertServes()
        self.assertLogged("client_id=alias-unknown", peer, "0x82")

    def test_topic_alias_not_carried_to_next_connection_MQTT_3_3_2_7(self):
        first = self.connected("alias-carry", version=5)
        first.send(b"\x30"               # PUBLISH, QoS 0
                   b"\x0c"               # remaining length 12
                   b"\x00\x04" b"al/c"   # topic "al/c"
                   b"\x03"               # property length 3
                   b"\x23" b"\x00\x01"   # Topic Alias 1 -> "al/c"
                   b"hi")                # payload
        first.send(b"\xe0\x00")          # DISCONNECT
        self.assertClosed(first)
        second = self.connected("alias-carry", version=5)
        second.send(b"\x30"              # PUBLISH, QoS 0
                    b"\x08"              # remaining length 8
                    b"\x00\x00"          # topic length 0
                    b"\x03"              # property length 3
                    b"\x23" b"\x00\x01"  # Topic Alias 1: unknown on this connection
                    b"hi")               # payload
        self.assertDisconnect(second, 0x82)
        self.assertServes()

    def test_topic_alias_set_then_used_delivers(self):
        # The control case: a valid alias is set, then used with an empty topic name.
        sub = self.connected("alias-sub", version=4)
        sub.send(raw_subscribe(1, [("al/x", 0)]))
        sub.expect(SUBACK)
        raw = self.connected("alias-ok", version=5)
        raw.send(b"\x30"               # PUBLISH, QoS 0
                 b"\x0d"               # remaining length 13
                 b"\x00\x04" b"al/x"   # topic "al/x"
                 b"\x03"               # property length 3
                 b"\x23" b"\x00\x01"   # Topic Alias 1 -> "al/x"
                 b"one")               # payload
        raw.send(b"\x30"               # PUBLISH, QoS 0
                 b"\x09"               # remaining length 9
                 b"\x00\x00"           # topic length 0
                 b"\x03"               # property length 3
                 b"\x23" b"\x00\x01"   # Topic Alias 1
                 b"two")               # payload
        got = []
        for _ in range(2):
            flags, body = sub.expect(PUBLISH)
            msg = parse_publish(flags, body, 4)
            got.append((msg["topic"], msg["payload"]))
        self.assertEqual(got, [("al/x", b"one"), ("al/x", b"two")])
        self.assertStillOpen(raw)


class NoTopicAliasTest(BadInputChecks, unittest.TestCase):
    """[limits] max_topic_alias = 0: "A value of 0 indicates that the Server does not accept
    any Topic Aliases on this connection" (3.2.2.3.8)."""

    BROKER_TOML = "[limits]\nmax_topic_alias = 0\n"

    def test_any_topic_alias_disconnect_0x94_MQTT_3_2_2_17(self):
        raw = self.connected("alias-none", version=5)
        peer = peer_of(raw)
        self.assertEqual(dict(parse_connack_v5(raw.connack)[2]).get(0x22, 0), 0)
        raw.send(b"\x30"               # PUBLISH, QoS 0
                 b"\x0b"               # remaining length 11
                 b"\x00\x03" b"s/a"    # topic "s/a"
                 b"\x03"               # property length 3
                 b"\x23" b"\x00\x01"   # Topic Alias 1: above the maximum 0
                 b"hi")                # payload
        self.assertDisconnect(raw, 0x94)
        self.assertServes()
        self.assertLogged("client_id=alias-none", peer, "0x94")


class SubscribeRulesTest(BadInputChecks, unittest.TestCase):
    """SUBSCRIBE and UNSUBSCRIBE contents (5.0 sections 3.8, 3.10)."""

    def _check(self, client_id, packet, reason, version=5):
        raw = self.connected(client_id, version=version)
        peer = peer_of(raw)
        raw.send(packet)
        if version == 5:
            self.assertDisconnect(raw, reason)
        else:
            self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=" + client_id, peer, "0x%02x" % reason)

    def test_subscribe_without_filters_0x82_MQTT_3_8_3_2(self):
        # "The Payload MUST contain at least one Topic Filter and Subscription Options pair
        # [MQTT-3.8.3-2]. A SUBSCRIBE packet with no Payload is a Protocol Error."
        self._check("sub-empty", b"\x82"        # SUBSCRIBE
                                 b"\x03"        # remaining length 3
                                 b"\x00\x01"    # packet id 1
                                 b"\x00",       # property length 0, and no payload
                    0x82)

    def test_subscribe_without_filters_v311_MQTT_3_8_3_3(self):
        self._check("sub-empty-311", b"\x82"       # SUBSCRIBE
                                     b"\x02"       # remaining length 2
                                     b"\x00\x01",  # packet id 1, and no payload
                    0x82, version=4)

    def test_unsubscribe_without_filters_0x82_MQTT_3_10_3_2(self):
        self._check("unsub-empty", b"\xa2"        # UNSUBSCRIBE
                                   b"\x03"        # remaining length 3
                                   b"\x00\x01"    # packet id 1
                                   b"\x00",       # property length 0, and no payload
                    0x82)

    def test_subscribe_maximum_qos_3_0x82_3_8_3_1(self):
        # "It is a Protocol Error if the Maximum QoS field has the value 3."
        self._check("sub-qos3", b"\x82"              # SUBSCRIBE
                                b"\x09"              # remaining length 9
                                b"\x00\x01"          # packet id 1
                                b"\x00"              # property length 0
                                b"\x00\x03" b"s/x"   # topic filter
                                b"\x03",             # options: Maximum QoS 3
                    0x82)

    def test_subscribe_requested_qos_3_v311_MQTT_3_8_3_4(self):
        # 3.1.1: "The Server MUST treat a SUBSCRIBE packet as malformed and close the Network
        # Connection if any of Reserved bits in the payload are non-zero, or QoS is not 0,1
        # or 2" [MQTT-3.8.3-4].
        self._check("sub-qos3-311", b"\x82"              # SUBSCRIBE
                                    b"\x08"              # remaining length 8
                                    b"\x00\x01"          # packet id 1
                                    b"\x00\x03" b"s/x"   # topic filter
                                    b"\x03",             # requested QoS 3
                    0x81, version=4)

    def test_subscribe_retain_handling_3_0x82_3_8_3_1(self):
        # "It is a Protocol Error to send a Retain Handling value of 3."
        self._check("sub-rh3", b"\x82"              # SUBSCRIBE
                               b"\x09"              # remaining length 9
                               b"\x00\x01"          # packet id 1
                               b"\x00"              # property length 0
                               b"\x00\x03" b"s/x"   # topic filter
                               b"\x30",             # options: Retain Handling 3
                    0x82)

    def test_subscribe_reserved_option_bits_0x81_MQTT_3_8_3_5(self):
        # "The Server MUST treat a SUBSCRIBE packet as malformed if any of Reserved bits in
        # the Payload are non-zero" [MQTT-3.8.3-5].
        self._check("sub-resv", b"\x82"              # SUBSCRIBE
                                b"\x09"              # remaining length 9
                                b"\x00\x01"          # packet id 1
                                b"\x00"              # property length 0
                                b"\x00\x03" b"s/x"   # topic filter
                                b"\x41",             # options: reserved bit 6, QoS 1
                    0x81)

    def test_no_local_on_shared_subscription_0x82_MQTT_3_8_3_4(self):
        # "It is a Protocol Error to set the No Local bit to 1 on a Shared Subscription"
        # [MQTT-3.8.3-4].
        self._check("sub-nolocal", b"\x82"                     # SUBSCRIBE
                                   b"\x10"                     # remaining length 16
                                   b"\x00\x01"                 # packet id 1
                                   b"\x00"                     # property length 0
                                   b"\x00\x0a" b"$share/g/s"   # shared filter
                                   b"\x05",                    # options: No Local, QoS 1
                    0x82)

    def test_disconnect_within_client_maximum_packet_size_MQTT_3_14_2_3(self):
        # "The Server MUST NOT send packets exceeding Maximum Packet Size to the Client"
        # [MQTT-3.1.2-24]; of the Reason String: "The sender MUST NOT send this property if it
        # would increase the size of the DISCONNECT packet beyond the Maximum Packet Size
        # specified by the receiver" [MQTT-3.14.2-3]. The client allows 20 bytes.
        raw = self.connected("sub-mps", version=5,
                             properties=b"\x27" b"\x00\x00\x00\x14")  # Maximum Packet Size 20
        raw.send(b"\x82"                     # SUBSCRIBE
                 b"\x10"                     # remaining length 16
                 b"\x00\x01"                 # packet id 1
                 b"\x00"                     # property length 0
                 b"\x00\x0a" b"$share/g/s"   # shared filter
                 b"\x05")                    # options: No Local (Protocol Error), QoS 1
        ptype, _, body = raw.read_packet()
        self.assertEqual((ptype, body[:1]), (DISCONNECT, b"\x82"))
        self.assertLessEqual(2 + len(body), 20, "DISCONNECT of %d bytes sent to a client "
                             "whose Maximum Packet Size is 20" % (2 + len(body)))
        self.assertClosed(raw)

    def test_subscription_identifier_0_0x82_3_8_2_1_2(self):
        # "It is a Protocol Error if the Subscription Identifier has a value of 0."
        self._check("sub-id0", b"\x82"              # SUBSCRIBE
                               b"\x0b"              # remaining length 11
                               b"\x00\x01"          # packet id 1
                               b"\x02"              # property length 2
                               b"\x0b" b"\x00"      # Subscription Identifier 0
                               b"\x00\x03" b"s/x"   # topic filter
                               b"\x01",             # options: QoS 1
                    0x82)


class PublishRulesTest(BadInputChecks, unittest.TestCase):
    """PUBLISH contents from a client (5.0 section 3.3)."""

    def _check(self, client_id, packet, reason):
        raw = self.connected(client_id, version=5)
        peer = peer_of(raw)
        raw.send(packet)
        got = self.assertDisconnect(raw, reason)
        self.assertServes()
        self.assertLogged("client_id=" + client_id, peer, "0x%02x" % got)

    def test_subscription_identifier_in_client_publish_0x82_MQTT_3_3_4_6(self):
        # "It is a Protocol Error for a PUBLISH packet to contain any Subscription Identifier
        # other than those received in SUBSCRIBE packet which caused it to flow. A PUBLISH
        # packet sent from a Client to a Server MUST NOT contain a Subscription Identifier"
        # [MQTT-3.3.4-6].
        self._check("pub-subid", b"\x30"              # PUBLISH, QoS 0
                                 b"\x0a"              # remaining length 10
                                 b"\x00\x03" b"s/x"   # topic "s/x"
                                 b"\x02"              # property length 2
                                 b"\x0b" b"\x01"      # Subscription Identifier 1
                                 b"hi",               # payload
                    0x82)

    def test_property_not_valid_for_publish_0x81_2_2_2_2(self):
        # "A Control Packet which contains an Identifier which is not valid for its packet
        # type ... is a Malformed Packet" (2.2.2.2): Session Expiry Interval in PUBLISH.
        self._check("pub-badprop", b"\x30"                       # PUBLISH, QoS 0
                                   b"\x0d"                       # remaining length 13
                                   b"\x00\x03" b"s/x"            # topic "s/x"
                                   b"\x05"                       # property length 5
                                   b"\x11" b"\x00\x00\x00\x0a"   # Session Expiry Interval
                                   b"hi",                        # payload
                    0x81)

    def test_response_topic_with_wildcard_MQTT_3_3_2_14(self):
        # "The Response Topic MUST NOT contain wildcard characters" [MQTT-3.3.2-14]: data
        # the protocol does not allow in a packet that parses - a Protocol Error (1.2).
        self._check("pub-resp-wild", b"\x30"                   # PUBLISH, QoS 0
                                     b"\x0e"                   # remaining length 14
                                     b"\x00\x03" b"s/x"        # topic "s/x"
                                     b"\x06"                   # property length 6
                                     b"\x08" b"\x00\x03" b"r/#"  # Response Topic "r/#"
                                     b"hi",                    # payload
                    0x82)

    def test_wildcard_in_topic_name_MQTT_3_3_2_2(self):
        # "The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters"
        # [MQTT-3.3.2-2]; no reason code is named: Malformed, Protocol Error or Topic Name
        # invalid all describe it. A "#" subscriber must not receive it.
        wild = self.connected("pub-wild-sub", version=5)
        wild.send(raw_subscribe(1, [("#", 0)], version=5))
        wild.expect(SUBACK)
        self._check("pub-wild", b"\x30"              # PUBLISH, QoS 0
                                b"\x08"              # remaining length 8
                                b"\x00\x03" b"a/+"   # topic "a/+"
                                b"\x00"              # property length 0
                                b"hi",               # payload
                    frozenset({0x81, 0x82, 0x90}))
        marker = self.connected("pub-wild-mk", version=5)
        marker.send(raw_publish("marker/wild", b"m", qos=0, version=5))
        before = publishes_before(wild, lambda m: m["topic"] == "marker/wild", 5)
        self.assertEqual([m["topic"] for m in before if not m["topic"].startswith("serves/")],
                         [])

    def test_wildcard_in_topic_name_v311_closes_MQTT_3_3_2_2(self):
        raw = self.connected("pub-wild-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x30"              # PUBLISH, QoS 0
                 b"\x07"              # remaining length 7
                 b"\x00\x03" b"a/#"   # topic "a/#"
                 b"hi")               # payload
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=pub-wild-311", peer)


if __name__ == "__main__":
    unittest.main()
