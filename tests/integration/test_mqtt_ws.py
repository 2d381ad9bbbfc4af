"""MQTT over WebSocket (MQTT 3.1.1 / 5.0 section 6) against a real ferryd: the handshake at
/mqtt with subprotocol "mqtt", a wrong path refused, and messages crossing between WebSocket and
TCP clients."""
import base64
import hashlib
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import BrokerTestCase, PahoClient  # noqa: E402

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


if __name__ == "__main__":
    unittest.main()
