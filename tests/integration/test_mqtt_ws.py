"""MQTT over WebSocket (MQTT 3.1.1 / 5.0 section 6) against a real ferryd: the handshake at
/mqtt with subprotocol "mqtt", a wrong path refused, and messages crossing between WebSocket and
TCP clients."""
import base64
import hashlib
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (CONNACK, PINGRESP, PUBACK, PUBLISH, SUBACK,  # noqa: E402
                           BrokerTestCase, PahoClient, raw_connect, raw_publish,
                           raw_subscribe)

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3


def http_upgrade(port, path, protocol="mqtt", timeout=5.0):
    """Sends a WebSocket opening handshake; returns (status line, headers dict lower-case, key)."""
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: %s\r\n\r\n" % (path, port, key, protocol))
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            try:
                chunk = s.recv(4096)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return head[0] if head and head[0] else "", headers, key


class RawWebSocket:
    """A WebSocket client (RFC 6455) carrying hand-built MQTT bytes, so the test decides where
    frame boundaries fall. Server frames are unmasked; ours are masked (RFC 6455 5.3)."""

    def __init__(self, port, path="/mqtt", timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
                           % (path, key)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("closed during handshake")
            data += chunk
        head, self.raw = data.split(b"\r\n\r\n", 1)
        if b" 101" not in head.split(b"\r\n")[0]:
            raise AssertionError("handshake refused: %r" % head)
        self.mqtt = b""  # MQTT bytes received, frame boundaries removed

    def send_frame(self, payload, opcode=0x2, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def _need(self, n, deadline):
        while len(self.raw) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.raw += chunk

    def _read_frame(self, deadline):
        self._need(2, deadline)
        b0, b1 = self.raw[0], self.raw[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, pos = struct.unpack("!H", self.raw[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, pos = struct.unpack("!Q", self.raw[2:10])[0], 10
        if b1 & 0x80:
            raise AssertionError("server frame is masked (RFC 6455 5.1)")
        self._need(pos + n, deadline)
        payload = self.raw[pos:pos + n]
        self.raw = self.raw[pos + n:]
        return b0 & 0x0F, payload

    def read_packet(self, timeout=5.0):
        """Next MQTT packet (type, flags, body) from the binary frames."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.mqtt) >= 2:
                length, mult, i = 0, 1, 1
                complete = False
                while i < len(self.mqtt) and i <= 4:
                    b = self.mqtt[i]
                    length += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        complete = True
                        break
                if complete and len(self.mqtt) >= i + length:
                    first = self.mqtt[0]
                    body = self.mqtt[i:i + length]
                    self.mqtt = self.mqtt[i + length:]
                    return first >> 4, first & 0x0F, body
            opcode, payload = self._read_frame(deadline)
            if opcode == 0x8:
                raise EOFError("close frame %r" % payload[:2])
            if opcode != 0x2 and opcode != 0x0:
                raise AssertionError("MQTT-6.0.0-1: non-binary frame opcode %d" % opcode)
            self.mqtt += payload

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class WebSocket(BrokerTestCase):
    def ws_client(self, client_id, version=5, path="/mqtt"):
        c = PahoClient(client_id, version=version, transport="websockets")
        c.client.ws_set_options(path=path)
        self._clients.append(c)
        return c

    def test_handshake_selects_mqtt_subprotocol_MQTT_6_0_0_4(self):
        """5.0 MQTT-6.0.0-4 (3.1.1 MQTT-6.0.0-4): the WebSocket Subprotocol selected and returned
        by the server MUST be "mqtt"; the handshake is RFC 6455 (101, correct Accept)."""
        status, headers, key = http_upgrade(self.broker.ws_port, "/mqtt")
        self.assertIn(" 101", status, "status %r" % status)
        self.assertEqual(headers.get("sec-websocket-protocol"), "mqtt")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.assertEqual(headers.get("sec-websocket-accept"), accept)

    def test_wrong_path_refused_RFC6455_4_2_2(self):
        """A handshake for a path other than the configured /mqtt is not upgraded: RFC 6455
        4.2.2 - if the requested service (resource name) is not available, the server MUST send
        an appropriate HTTP error code (such as 404 Not Found) and abort the handshake."""
        status, headers, key = http_upgrade(self.broker.ws_port, "/wrong")
        self.assertNotIn(" 101", status, "upgraded on the wrong path: %r" % status)

    def test_wrong_path_paho_cannot_connect(self):
        c = self.ws_client("ws-wrong", 5, path="/nope")
        with self.assertRaises(Exception):
            c.connect(self.broker.ws_port, timeout=3.0)

    def _cross(self, version):
        tcp_sub = self.connected("tcp-sub-v%d" % version, version)
        tcp_sub.subscribe("ws/to/tcp", 1)
        ws = self.ws_client("ws-v%d" % version, version)
        ws.connect(self.broker.ws_port)
        self.assertEqual(ws.subscribe("tcp/to/ws", 2), [2])
        ws.publish("ws/to/tcp", b"from-ws", 1)
        self.assertTrue(tcp_sub.wait_messages(1, 5.0), "WS -> TCP message lost")
        self.assertEqual(tcp_sub.messages[0].payload, b"from-ws")
        tcp_pub = self.connected("tcp-pub-v%d" % version, version)
        big = bytes(range(256)) * 300  # > 64 KiB: several WebSocket frames or one long one
        tcp_pub.publish("tcp/to/ws", big, 2)
        self.assertTrue(ws.wait_messages(1, 5.0), "TCP -> WS message lost")
        self.assertEqual((ws.messages[0].payload, ws.messages[0].qos), (big, 2))
        ws.disconnect()

    def test_v5_websocket_and_tcp_clients_exchange_messages(self):
        self._cross(5)

    def test_v311_websocket_and_tcp_clients_exchange_messages(self):
        self._cross(4)

    def test_websocket_will_on_abnormal_close_MQTT_3_1_2_8(self):
        """The Will applies to WebSocket connections as well: a dropped WS client's will is
        published."""
        w = self.connected("ws-watch", 5)
        w.subscribe("ws/will", 1)
        c = self.ws_client("ws-dying", 5)
        c.client.will_set("ws/will", b"ws-gone", 1)
        c.connect(self.broker.ws_port)
        c.kill()
        self.assertTrue(w.wait_messages(1, 5.0))
        self.assertEqual(w.messages[0].payload, b"ws-gone")

    def test_packets_not_aligned_with_frames_MQTT_6_0_0_2(self):
        """MQTT-6.0.0-2: the receiver MUST NOT assume MQTT Control Packets are aligned on
        WebSocket frame boundaries. CONNECT split over three frames (one a continuation
        frame), then SUBSCRIBE + PUBLISH + half a PINGREQ in one frame, the other half in the
        next: all are understood."""
        ws = RawWebSocket(self.broker.ws_port)
        self._clients.append(ws)
        connect = raw_connect("ws-split", version=4)
        ws.send_frame(connect[:3], opcode=0x2, fin=False)
        ws.send_frame(connect[3:9], opcode=0x0, fin=False)
        ws.send_frame(connect[9:], opcode=0x0, fin=True)
        t, flags, body = ws.read_packet()
        self.assertEqual((t, body), (CONNACK, b"\x00\x00"))
        both = raw_subscribe(1, [("wsx/t", 1)]) + raw_publish("wsx/t", b"self", 1, mid=2)
        ws.send_frame(both + b"\xc0")
        ws.send_frame(b"\x00")
        seen = []
        for _ in range(4):
            seen.append(ws.read_packet())
        types = sorted(t for t, f, b in seen)
        self.assertEqual(types, [PUBLISH, PUBACK, SUBACK, PINGRESP], seen)

    def test_text_frame_closes_connection_MQTT_6_0_0_1(self):
        """MQTT-6.0.0-1: MQTT Control Packets MUST be sent in binary frames; if any other type of
        data frame is received the recipient MUST close the Network Connection."""
        ws = RawWebSocket(self.broker.ws_port)
        self._clients.append(ws)
        ws.send_frame(raw_connect("ws-text", version=4), opcode=0x1)
        closed = False
        try:
            for _ in range(3):
                ws.read_packet(5.0)
        except (EOFError, ConnectionResetError):
            closed = True
        self.assertTrue(closed, "text frame was accepted")


if __name__ == "__main__":
    unittest.main()
