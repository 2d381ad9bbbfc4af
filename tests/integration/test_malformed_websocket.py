"""Bad input over MQTT-over-WebSocket against a real ferryd, with a hand-made WebSocket client
(ferry_harness.RawWsClient: HTTP upgrade, Sec-WebSocket-Protocol mqtt, masked frames).

MQTT 5.0 section 6.0: "MQTT Control Packets MUST be sent in WebSocket binary data frames. If
any other type of data frame is received the recipient MUST close the Network Connection"
[MQTT-6.0.0-1]; "A single WebSocket data frame can contain multiple or partial MQTT Control
Packets. The receiver MUST NOT assume that MQTT Control Packets are aligned on WebSocket frame
boundaries" [MQTT-6.0.0-2]. Bytes by hand, one field per line.
"""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (  # noqa: E402
    BadInputChecks, CONNACK, DISCONNECT, PINGRESP, PUBACK, PUBLISH, SUBACK, parse_publish, peer_of,
    raw_subscribe)

CONNECT_V5_WS = (b"\x10"                # CONNECT
                 b"\x12"                # remaining length 18
                 b"\x00\x04" b"MQTT"    # protocol name
                 b"\x05"                # protocol level 5
                 b"\x02"                # connect flags: clean start
                 b"\x00\x3c"            # keep alive 60
                 b"\x00"                # property length 0
                 b"\x00\x05" b"ws-sp")  # client id "ws-sp"


UPGRADE_REQUEST = (b"GET /mqtt HTTP/1.1\r\n"
                   b"Host: 127.0.0.1\r\n"
                   b"Upgrade: websocket\r\n"
                   b"Connection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"   # RFC 6455 1.3 sample
                   b"Sec-WebSocket-Version: 13\r\n"
                   b"Sec-WebSocket-Protocol: mqtt\r\n"
                   b"\r\n")


class WebSocketBadInputTest(BadInputChecks, unittest.TestCase):

    BROKER_TOML = "[limits]\nmax_packet_size = 1024\n"

    def test_subprotocol_is_mqtt_MQTT_6_0_0_4(self):
        raw = self.connected("ws-proto", version=5, ws=True)
        self.assertEqual(raw.subprotocol, "mqtt")

    def test_remaining_length_4096_with_3_bytes_then_close_NanoMQ_CVE_2026_25627(self):
        # NanoMQ read past its buffer when a WebSocket frame announced more MQTT bytes than
        # it carried and the connection then closed.
        raw = self.connected("ws-short", version=5, ws=True)
        peer = peer_of(raw)
        raw.send(b"\x30"         # PUBLISH, QoS 0
                 b"\x80\x20"     # remaining length 4096
                 b"abc")         # 3 of the 4096 bytes
        raw.send_close(1000)
        raw.close()
        self.assertLogged("client_disconnected", "client_id=ws-short", peer)
        self.assertServes()

    def test_connect_length_4096_with_3_bytes_then_abrupt_close_NanoMQ_CVE_2026_25627(self):
        raw = self.raw_client(ws=True)
        raw.send(b"\x10"         # CONNECT
                 b"\x80\x20"     # remaining length 4096
                 b"\x00\x04" b"M")  # 3 of the 4096 bytes
        raw.close()              # no close frame: the TCP connection just goes
        self.assertServes()

    def test_text_frame_closes_connection_MQTT_6_0_0_1(self):
        raw = self.connected("ws-text", version=5, ws=True)
        peer = peer_of(raw)
        raw.send_frame(0x1, b"ping")   # a text frame (opcode 1)
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("websocket_text_frame", peer)

    def test_text_frame_before_connect_closes_MQTT_6_0_0_1(self):
        raw = self.raw_client(ws=True)
        peer = peer_of(raw)
        raw.send_frame(0x1, b"hello")
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("websocket_text_frame", peer)

    def test_packets_split_and_joined_across_frames_MQTT_6_0_0_2(self):
        # The control case: CONNECT in three frames, then SUBSCRIBE + PINGREQ in one frame.
        raw = self.raw_client(ws=True)
        raw.send(CONNECT_V5_WS[:1])
        raw.send(CONNECT_V5_WS[1:9])
        raw.send(CONNECT_V5_WS[9:])
        _, body = raw.expect(CONNACK)
        self.assertEqual(body[:2], b"\x00\x00")
        raw.send(raw_subscribe(1, [("ws/split", 1)], version=5)
                 + b"\xc0\x00")  # PINGREQ in the same frame
        self.assertEqual(raw.expect(SUBACK)[1], b"\x00\x01" b"\x00" b"\x01")
        raw.expect(PINGRESP)

    def test_fragmented_binary_message_MQTT_6_0_0_2(self):
        # One binary message in two frames (FIN=0, then a continuation frame).
        raw = self.connected("ws-frag", version=5, ws=True)
        ping_and_publish = (b"\xc0\x00"             # PINGREQ
                            b"\x32"                 # PUBLISH, QoS 1
                            b"\x0a"                 # remaining length 10
                            b"\x00\x05" b"ws/fr"    # topic "ws/fr"
                            b"\x00\x07"             # packet id 7
                            b"\x00"                 # property length 0
                            )                       # empty payload
        raw.send_frame(0x2, ping_and_publish[:5], fin=False)
        raw.send_frame(0x0, ping_and_publish[5:], fin=True)
        raw.expect(PINGRESP)
        _, body = raw.expect(PUBACK)
        self.assertEqual(body[:2], b"\x00\x07")

    def test_malformed_packet_over_websocket_disconnect_0x81(self):
        raw = self.connected("ws-qos3", version=5, ws=True)
        peer = peer_of(raw)
        raw.send(b"\x36"              # PUBLISH, QoS 3
                 b"\x0a"              # remaining length 10
                 b"\x00\x03" b"s/x"   # topic "s/x"
                 b"\x00\x01"          # packet id 1
                 b"\x00"              # property length 0
                 b"hi")               # payload
        self.assertDisconnect(raw, 0x81)   # in a binary frame, then the close
        self.assertServes()
        self.assertLogged("client_id=ws-qos3", peer, "0x81")

    def test_packet_too_large_in_small_frames_disconnect_0x95(self):
        # The limit is on the MQTT packet, not the frame: a 100-byte frame that starts a
        # 2000-byte packet is enough for the answer (the rest is never sent, so no reset
        # from unread data can hide the DISCONNECT).
        raw = self.connected("ws-big", version=5, ws=True)
        peer = peer_of(raw)
        packet = (b"\x30"             # PUBLISH, QoS 0
                  b"\xcd\x0f"         # remaining length 1997 (0x4d + 15*128): 2000 in all
                  b"\x00\x03" b"s/x"  # topic "s/x"
                  b"\x00"             # property length 0
                  + b"p" * 1991)      # payload
        raw.send(packet[:100])
        self.assertDisconnect(raw, 0x95)
        self.assertServes()
        self.assertLogged("client_id=ws-big", peer, "0x95")

    def test_first_packet_not_connect_over_websocket_MQTT_3_1_0_1(self):
        raw = self.raw_client(ws=True)
        peer = peer_of(raw)
        raw.send(b"\x82"              # SUBSCRIBE (not CONNECT)
                 b"\xff\xff\xff\x7f")  # remaining length 268,435,455
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged(peer, "first packet is not CONNECT")

    def test_frame_length_2_pow_40_closes_at_once_RFC6455_5_2(self):
        # A frame header announcing a terabyte: refused from the header, nothing buffered.
        raw = self.connected("ws-huge-frame", version=5, ws=True)
        raw.sock.sendall(b"\x82"                          # FIN, binary
                         b"\xff"                          # MASK, 64-bit length follows
                         b"\x00\x00\x01\x00\x00\x00\x00\x00"  # length 2^40
                         b"\x01\x02\x03\x04")             # mask key (no payload)
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_disconnected", "client_id=ws-huge-frame")

    def test_frame_larger_than_max_packet_size_closes(self):
        raw = self.connected("ws-big-frame", version=5, ws=True)
        try:
            raw.send(b"\x30"               # PUBLISH, QoS 0
                     b"\x88\x27"           # remaining length 5000 (0x08 + 39*128)
                     b"\x00\x03" b"s/x"    # topic "s/x"
                     b"\x00"               # property length 0
                     + b"x" * 4994)        # payload: one 5003-byte frame > 1024 + 16
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertClosed(raw, allow=(DISCONNECT,))   # a DISCONNECT 0x95 first is welcome
        self.assertServes()

    @unittest.expectedFailure   # broker bug, reported; remove with the fix
    def test_unmasked_client_frame_closes_RFC6455_5_1(self):
        # "The server MUST close the connection upon receiving a frame that is not masked"
        # (RFC 6455 5.1).
        raw = self.connected("ws-unmasked", version=5, ws=True)
        raw.sock.sendall(b"\x82"       # FIN, binary
                         b"\x02"       # no MASK bit, length 2
                         b"\xc0\x00")  # PINGREQ, unmasked
        self.assertClosed(raw)         # no PINGRESP
        self.assertServes()

    def _raw_http(self):
        sock = socket.create_connection(("127.0.0.1", self.broker.ws_port), timeout=5.0)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.addCleanup(sock.close)
        return sock

    def test_upgrade_request_split_across_segments(self):
        # TCP does not keep the request in one piece: cut inside the request line, inside a
        # header, and before the final CRLF, the upgrade still succeeds.
        for cut in (7, 30, len(UPGRADE_REQUEST) - 2):
            sock = self._raw_http()
            sock.sendall(UPGRADE_REQUEST[:cut])
            time.sleep(0.1)              # let the first piece be read on its own
            sock.sendall(UPGRADE_REQUEST[cut:])
            status = sock.recv(12)
            self.assertEqual(status, b"HTTP/1.1 101", "cut at %d" % cut)
        self.assertServes()

    def test_request_line_longer_than_8k_refused(self):
        # A request line that never ends must not be buffered without bound.
        sock = self._raw_http()
        sock.sendall(b"GET /" + b"a" * 9000)  # no CRLF
        answer = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 4"), answer[:40])   # a 4xx, then close
        self.assertServes()

    def test_websocket_client_receives_publish(self):
        # Delivery to a WebSocket subscriber after the bad cases: the transport still works.
        raw = self.connected("ws-recv", version=4, ws=True)
        raw.send(raw_subscribe(1, [("ws/recv", 0)]))
        raw.expect(SUBACK)
        pub = self.connected("ws-recv-pub", version=4)
        pub.send(b"\x30"               # PUBLISH, QoS 0
                 b"\x0b"               # remaining length 11
                 b"\x00\x07" b"ws/recv"  # topic "ws/recv"
                 b"ok")                # payload
        flags, body = raw.expect(PUBLISH)
        self.assertEqual(parse_publish(flags, body, 4)["payload"], b"ok")


if __name__ == "__main__":
    unittest.main()
