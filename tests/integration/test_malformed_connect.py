"""Bad CONNECT packets against a real ferryd over raw TCP (flags, properties, protocol name
and level), and the will after a connection the broker ends for bad input.

An error inside CONNECT is answered, in 5.0, by a CONNACK carrying the reason and then the close
(4.13.1: "If the Server detects a Malformed Packet or Protocol Error ... before it has sent a
CONNACK, it MAY send a CONNACK with a Reason Code"); in 3.1.1 by the close alone, except for an
unsupported protocol level (return code 0x01). Bytes by hand, one field per line.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (  # noqa: E402
    BadInputChecks, CONNACK, SUBACK, peer_of, publishes_before, raw_publish, raw_subscribe)


class ConnectFieldsTest(BadInputChecks, unittest.TestCase):

    def _refused_v5(self, packet, reason):
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(packet)
        self.assertConnackThenClose(raw, reason)
        self.assertServes()
        self.assertLogged(peer, "0x%02x" % reason)

    def _closed_v311(self, packet):
        """3.1.1: closed without an accepting CONNACK (a refusing one is tolerated)."""
        raw = self.raw_client()
        raw.send(packet)
        self.assertClosed(raw, allow=(CONNACK,))
        for _, _, body in raw.seen:
            self.assertNotEqual(body[1:2], b"\x00", "bad CONNECT accepted")
        self.assertServes()
        return raw

    def test_reserved_connect_flag_v5_MQTT_3_1_2_3(self):
        # "The Server MUST validate that the reserved flag in the CONNECT packet is set to 0"
        # [MQTT-3.1.2-3]; "If the reserved flag is not 0 it is a Malformed Packet".
        self._refused_v5(b"\x10"                # CONNECT
                         b"\x0f"                # remaining length 15
                         b"\x00\x04" b"MQTT"    # protocol name
                         b"\x05"                # protocol level 5
                         b"\x03"                # connect flags: clean start + reserved bit
                         b"\x00\x3c"            # keep alive 60
                         b"\x00"                # property length 0
                         b"\x00\x02" b"rf",     # client id "rf"
                         0x81)

    def test_reserved_connect_flag_v311_MQTT_3_1_2_3(self):
        self._closed_v311(b"\x10"               # CONNECT
                          b"\x0e"               # remaining length 14
                          b"\x00\x04" b"MQTT"   # protocol name
                          b"\x04"               # protocol level 4
                          b"\x03"               # connect flags: clean session + reserved
                          b"\x00\x3c"           # keep alive 60
                          b"\x00\x02" b"rf")    # client id "rf"

    def test_will_qos_3_v5_MQTT_3_1_2_12(self):
        # "If the Will Flag is set to 1, the value of Will QoS can be 0, 1, or 2. A value of 3
        # is a Malformed Packet" (3.1.2.6).
        self._refused_v5(b"\x10"                # CONNECT
                         b"\x18"                # remaining length 24
                         b"\x00\x04" b"MQTT"    # protocol name
                         b"\x05"                # protocol level 5
                         b"\x1e"                # flags: will QoS 3, will, clean start
                         b"\x00\x3c"            # keep alive 60
                         b"\x00"                # property length 0
                         b"\x00\x02" b"wq"      # client id "wq"
                         b"\x00"                # will property length 0
                         b"\x00\x03" b"w/q"     # will topic
                         b"\x00\x01" b"x",      # will payload
                         0x81)

    def test_will_retain_without_will_flag_v5_MQTT_3_1_2_13(self):
        # "If the Will Flag is set to 0, then Will Retain MUST be set to 0" [MQTT-3.1.2-13].
        self._refused_v5(b"\x10"                # CONNECT
                         b"\x0f"                # remaining length 15
                         b"\x00\x04" b"MQTT"    # protocol name
                         b"\x05"                # protocol level 5
                         b"\x22"                # connect flags: will retain, clean start
                         b"\x00\x3c"            # keep alive 60
                         b"\x00"                # property length 0
                         b"\x00\x02" b"wr",     # client id "wr"
                         0x81)

    def test_receive_maximum_0_v5_connack_0x82_3_1_2_11_3(self):
        # "It is a Protocol Error to include the Receive Maximum value more than once or for
        # it to have the value 0."
        self._refused_v5(b"\x10"                # CONNECT
                         b"\x12"                # remaining length 18
                         b"\x00\x04" b"MQTT"    # protocol name
                         b"\x05"                # protocol level 5
                         b"\x02"                # connect flags: clean start
                         b"\x00\x3c"            # keep alive 60
                         b"\x03"                # property length 3
                         b"\x21" b"\x00\x00"    # Receive Maximum 0
                         b"\x00\x02" b"r0",     # client id "r0"
                         0x82)

    def test_maximum_packet_size_0_v5_connack_0x82_3_1_2_11_4(self):
        # "It is a Protocol Error to include the Maximum Packet Size more than once, or for
        # the value to be set to zero."
        self._refused_v5(b"\x10"                # CONNECT
                         b"\x14"                # remaining length 20
                         b"\x00\x04" b"MQTT"    # protocol name
                         b"\x05"                # protocol level 5
                         b"\x02"                # connect flags: clean start
                         b"\x00\x3c"            # keep alive 60
                         b"\x05"                # property length 5
                         b"\x27" b"\x00\x00\x00\x00"  # Maximum Packet Size 0
                         b"\x00\x02" b"m0",     # client id "m0"
                         0x82)

    def test_request_problem_information_2_v5_connack_0x82_3_1_2_11_7(self):
        # "It is a Protocol Error to include Request Problem Information more than once, or
        # to have a value other than 0 or 1."
        self._refused_v5(b"\x10"                # CONNECT
                         b"\x11"                # remaining length 17
                         b"\x00\x04" b"MQTT"    # protocol name
                         b"\x05"                # protocol level 5
                         b"\x02"                # connect flags: clean start
                         b"\x00\x3c"            # keep alive 60
                         b"\x02"                # property length 2
                         b"\x17" b"\x02"        # Request Problem Information 2
                         b"\x00\x02" b"p2",     # client id "p2"
                         0x82)

    def test_authentication_data_without_method_connack_0x82_3_1_2_11_10(self):
        # "It is a Protocol Error to include Authentication Data if there is no Authentication
        # Method." (3.1.2.11.10)
        self._refused_v5(b"\x10"                # CONNECT
                         b"\x14"                # remaining length 20
                         b"\x00\x04" b"MQTT"    # protocol name
                         b"\x05"                # protocol level 5
                         b"\x02"                # connect flags: clean start
                         b"\x00\x3c"            # keep alive 60
                         b"\x05"                # property length 5
                         b"\x16" b"\x00\x02" b"ab"  # Authentication Data, no method
                         b"\x00\x02" b"ad",     # client id "ad"
                         0x82)

    def test_unsupported_authentication_method_MQTT_4_12_0_1(self):
        # "If the Server does not support the Authentication Method supplied by the Client, it
        # MAY send a CONNACK with a Reason Code of 0x8C (Bad authentication method) or 0x87
        # (Not Authorized) ... and MUST close the Network Connection" [MQTT-4.12.0-1].
        raw = self.raw_client()
        raw.send(b"\x10"                        # CONNECT
                 b"\x17"                        # remaining length 23
                 b"\x00\x04" b"MQTT"            # protocol name
                 b"\x05"                        # protocol level 5
                 b"\x02"                        # connect flags: clean start
                 b"\x00\x3c"                    # keep alive 60
                 b"\x08"                        # property length 8
                 b"\x15" b"\x00\x05" b"SCRAM"   # Authentication Method "SCRAM"
                 b"\x00\x02" b"am")             # client id "am"
        _, body = raw.expect(CONNACK)
        self.assertIn(body[1], (0x8C, 0x87))
        self.assertClosed(raw)
        self.assertServes()

    def test_password_without_username_v311_MQTT_3_1_2_22(self):
        # 3.1.1: "If the User Name Flag is set to 0, the Password Flag MUST be set to 0"
        # [MQTT-3.1.2-22].
        self._closed_v311(b"\x10"               # CONNECT
                          b"\x11"               # remaining length 17
                          b"\x00\x04" b"MQTT"   # protocol name
                          b"\x04"               # protocol level 4
                          b"\x42"               # connect flags: password, clean session
                          b"\x00\x3c"           # keep alive 60
                          b"\x00\x02" b"pw"     # client id "pw"
                          b"\x00\x01" b"x")     # password "x"

    def test_unsupported_protocol_level_v311_connack_0x01_MQTT_3_1_2_2(self):
        # "The Server MUST respond to the CONNECT Packet with a CONNACK return code 0x01
        # (unacceptable protocol level) and then disconnect the Client if the Protocol Level
        # is not supported by the Server" [MQTT-3.1.2-2].
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                        # CONNECT
                 b"\x0e"                        # remaining length 14
                 b"\x00\x04" b"MQTT"            # protocol name "MQTT" ...
                 b"\x03"                        # ... with level 3 (3.1 is "MQIsdp")
                 b"\x02"                        # connect flags: clean session
                 b"\x00\x3c"                    # keep alive 60
                 b"\x00\x02" b"l3")             # client id "l3"
        _, body = raw.expect(CONNACK)
        self.assertEqual(body, b"\x00"          # acknowledge flags
                               b"\x01")         # unacceptable protocol level
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged(peer, "0x84")

    def test_protocol_level_6_refused_MQTT_3_1_2_2(self):
        # 5.0: "If the Protocol Version is not 5 and the Server does not want to accept the
        # CONNECT packet, the Server MAY send a CONNACK packet with Reason Code 0x84
        # (Unsupported Protocol Version) and then MUST close the Network Connection"
        # [MQTT-3.1.2-2]. Either dialect's refusal is fine for a level nobody speaks.
        raw = self.raw_client()
        raw.send(b"\x10"                        # CONNECT
                 b"\x0f"                        # remaining length 15
                 b"\x00\x04" b"MQTT"            # protocol name
                 b"\x06"                        # protocol level 6
                 b"\x02"                        # connect flags: clean start
                 b"\x00\x3c"                    # keep alive 60
                 b"\x00"                        # (property length 0, if it were 5.0)
                 b"\x00\x02" b"l6")             # client id "l6"
        _, body = raw.expect(CONNACK)
        self.assertIn(body, (b"\x00\x01",       # 3.1.1: unacceptable protocol level
                             b"\x00\x84\x00"))  # 5.0: Unsupported Protocol Version
        self.assertClosed(raw)
        self.assertServes()

    def test_unknown_protocol_name_closes_MQTT_3_1_2_1(self):
        # "If the protocol name is incorrect the Server MAY disconnect the Client, or it MAY
        # continue processing the CONNECT packet in accordance with some other specification.
        # In the latter case, the Server MUST NOT continue to process the CONNECT packet in
        # line with this specification" [MQTT-3.1.2-1].
        raw = self._closed_v311(b"\x10"               # CONNECT
                                b"\x0e"               # remaining length 14
                                b"\x00\x04" b"MQTX"   # protocol name "MQTX"
                                b"\x04"               # protocol level 4
                                b"\x02"               # connect flags: clean session
                                b"\x00\x3c"           # keep alive 60
                                b"\x00\x02" b"pn")    # client id "pn"
        self.assertLogged(peer_of(raw), "0x81")


class WillAfterBadInputTest(BadInputChecks, unittest.TestCase):
    """5.0 3.1.2.5: the Will Message is published when "The Server closes the Network
    Connection without first receiving a DISCONNECT packet with a Reason Code 0x00" - which
    is what happens after a Malformed Packet or a Protocol Error; 3.1.1 3.1.2.5 lists "The
    Server closes the Network Connection because of a protocol error"."""

    def _watch(self, client_id, topic):
        watcher = self.connected(client_id, version=5)
        watcher.send(raw_subscribe(1, [(topic, 0)], version=5))
        watcher.expect(SUBACK)
        return watcher

    def _wills(self, watcher, topic):
        """Payloads published on `topic` before a marker sent now on the same topic."""
        marker = self.connected(topic.replace("/", "-") + "-marker", version=5)
        marker.send(raw_publish(topic, b"marker", qos=0, version=5))
        return [m["payload"] for m in
                publishes_before(watcher, lambda m: m["payload"] == b"marker", 5)]

    def test_will_published_after_malformed_packet_v5_MQTT_3_1_2_8(self):
        watcher = self._watch("will-w1", "will/pe")
        raw = self.raw_client()
        raw.send(b"\x10"                    # CONNECT
                 b"\x1f"                    # remaining length 31
                 b"\x00\x04" b"MQTT"        # protocol name
                 b"\x05"                    # protocol level 5
                 b"\x06"                    # connect flags: will (QoS 0), clean start
                 b"\x00\x3c"                # keep alive 60
                 b"\x00"                    # property length 0
                 b"\x00\x03" b"wpe"         # client id "wpe"
                 b"\x00"                    # will property length 0
                 b"\x00\x07" b"will/pe"     # will topic
                 b"\x00\x03" b"bye")        # will payload
        self.assertEqual(raw.expect(CONNACK)[1][:2], b"\x00\x00")
        raw.send(b"\x36"                    # PUBLISH, QoS 3: Malformed
                 b"\x0a"                    # remaining length 10
                 b"\x00\x03" b"s/x"         # topic
                 b"\x00\x01"                # packet id 1
                 b"\x00"                    # property length 0
                 b"hi")                     # payload
        self.assertDisconnect(raw, 0x81)
        self.assertEqual(self._wills(watcher, "will/pe"), [b"bye"])
        self.assertServes()

    def test_will_published_after_protocol_error_v311(self):
        watcher = self._watch("will-w2", "will/p3")
        raw = self.raw_client()
        raw.send(b"\x10"                    # CONNECT
                 b"\x1d"                    # remaining length 29
                 b"\x00\x04" b"MQTT"        # protocol name
                 b"\x04"                    # protocol level 4
                 b"\x06"                    # connect flags: will (QoS 0), clean session
                 b"\x00\x3c"                # keep alive 60
                 b"\x00\x03" b"wp3"         # client id "wp3"
                 b"\x00\x07" b"will/p3"     # will topic
                 b"\x00\x03" b"bye")        # will payload
        self.assertEqual(raw.expect(CONNACK)[1], b"\x00\x00")
        raw.send(b"\x20"                    # CONNACK from a client
                 b"\x02"                    # remaining length 2
                 b"\x00\x00")               # flags, return code
        self.assertClosed(raw)
        self.assertEqual(self._wills(watcher, "will/p3"), [b"bye"])
        self.assertServes()

    def test_disconnect_with_session_expiry_after_zero_0x82_will_published_3_14_2_2_2(self):
        # "If the Session Expiry Interval in the CONNECT packet was zero, then it is a Protocol
        # Error to set a non-zero Session Expiry Interval in the DISCONNECT packet sent by the
        # Client. If such a non-zero Session Expiry Interval is received by the Server, it
        # does not treat it as a valid DISCONNECT packet. The Server uses DISCONNECT with
        # Reason Code 0x82 (Protocol Error)" (3.14.2.2.2). Not a valid DISCONNECT, so not a
        # normal one: the will is published.
        watcher = self._watch("will-w3", "will/dx")
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                    # CONNECT
                 b"\x1f"                    # remaining length 31
                 b"\x00\x04" b"MQTT"        # protocol name
                 b"\x05"                    # protocol level 5
                 b"\x06"                    # connect flags: will (QoS 0), clean start
                 b"\x00\x3c"                # keep alive 60
                 b"\x00"                    # property length 0: Session Expiry 0
                 b"\x00\x03" b"wdx"         # client id "wdx"
                 b"\x00"                    # will property length 0
                 b"\x00\x07" b"will/dx"     # will topic
                 b"\x00\x03" b"bye")        # will payload
        self.assertEqual(raw.expect(CONNACK)[1][:2], b"\x00\x00")
        raw.send(b"\xe0"                    # DISCONNECT
                 b"\x07"                    # remaining length 7
                 b"\x00"                    # reason: Normal disconnection
                 b"\x05"                    # property length 5
                 b"\x11" b"\x00\x00\x00\x3c")  # Session Expiry Interval 60
        self.assertDisconnect(raw, 0x82)
        self.assertEqual(self._wills(watcher, "will/dx"), [b"bye"],
                         "the will of a client whose DISCONNECT was invalid was not published")
        self.assertServes()
        self.assertLogged("client_id=wdx", peer, "0x82")

    def test_will_published_after_malformed_disconnect_packet(self):
        # A DISCONNECT that is itself malformed is no normal disconnection: DISCONNECT 0x81
        # from the broker, and the will goes out.
        watcher = self._watch("will-w5", "will/md")
        raw = self.raw_client()
        raw.send(b"\x10"                    # CONNECT
                 b"\x1f"                    # remaining length 31
                 b"\x00\x04" b"MQTT"        # protocol name
                 b"\x05"                    # protocol level 5
                 b"\x06"                    # connect flags: will (QoS 0), clean start
                 b"\x00\x3c"                # keep alive 60
                 b"\x00"                    # property length 0
                 b"\x00\x03" b"wmd"         # client id "wmd"
                 b"\x00"                    # will property length 0
                 b"\x00\x07" b"will/md"     # will topic
                 b"\x00\x03" b"bye")        # will payload
        self.assertEqual(raw.expect(CONNACK)[1][:2], b"\x00\x00")
        raw.send(b"\xe0"                    # DISCONNECT
                 b"\x07"                    # remaining length 7
                 b"\x00"                    # reason: Normal disconnection
                 b"\x05"                    # property length 5
                 b"\x1f" b"\x00\x02" b"\xff\xfe")  # Reason String: ill-formed UTF-8
        self.assertDisconnect(raw, 0x81)
        self.assertEqual(self._wills(watcher, "will/md"), [b"bye"])
        self.assertServes()

    def test_normal_disconnect_suppresses_will_MQTT_3_1_2_10(self):
        # The control case: a valid DISCONNECT 0x00 deletes the will [MQTT-3.1.2-10].
        watcher = self._watch("will-w4", "will/ok")
        raw = self.raw_client()
        raw.send(b"\x10"                    # CONNECT
                 b"\x1f"                    # remaining length 31
                 b"\x00\x04" b"MQTT"        # protocol name
                 b"\x05"                    # protocol level 5
                 b"\x06"                    # connect flags: will (QoS 0), clean start
                 b"\x00\x3c"                # keep alive 60
                 b"\x00"                    # property length 0
                 b"\x00\x03" b"wok"         # client id "wok"
                 b"\x00"                    # will property length 0
                 b"\x00\x07" b"will/ok"     # will topic
                 b"\x00\x03" b"bye")        # will payload
        self.assertEqual(raw.expect(CONNACK)[1][:2], b"\x00\x00")
        raw.send(b"\xe0"                    # DISCONNECT
                 b"\x00")                   # remaining length 0: Normal disconnection
        self.assertClosed(raw)
        self.assertEqual(self._wills(watcher, "will/ok"), [])


if __name__ == "__main__":
    unittest.main()
