"""Bad framing against a real ferryd over raw TCP: remaining lengths too large or too long,
variable byte integers cut off, bodies shorter than their fields, and a silent peer.

Every case checks (a) the answer the spec asks for, then the close, (b) that the broker still
serves a normal publish/subscribe, (c) that the log names the client (id or peer) and the reason.
The bytes are written by hand, one field per line.
"""
import os
import select
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (  # noqa: E402
    BadInputChecks, CONNACK, DISCONNECT, PINGRESP, parse_connack_v5, peer_of)


class PacketSizeTest(BadInputChecks, unittest.TestCase):
    """[limits] max_packet_size = 1024: the Maximum Packet Size the broker advertises and
    enforces, counted over the whole packet (header included, 5.0 section 3.2.2.3.6)."""

    BROKER_TOML = "[limits]\nmax_packet_size = 1024\n"

    def test_connack_advertises_maximum_packet_size_3_2_2_3_6(self):
        raw = self.connected("size-advert", version=5)
        # Maximum Packet Size property: identifier 0x27, four byte integer 1024.
        self.assertEqual(dict(parse_connack_v5(raw.connack)[2]).get(0x27), 1024)

    def test_packet_of_exactly_max_size_is_accepted_MQTT_3_2_2_15(self):
        raw = self.connected("size-exact", version=5)
        # 1 + 2 + 1021 = 1024 bytes in all: the limit itself is allowed.
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\xfd\x07"             # remaining length 1021 (0x7d + 7*128)
                 b"\x00\x03" b"s/x"      # topic "s/x"
                 b"\x00"                 # property length 0
                 + b"p" * 1015)          # payload: 1021 - 5 - 1
        self.assertStillOpen(raw)
        raw.close()

    def test_packet_one_byte_over_max_size_v5_disconnect_0x95(self):
        raw = self.connected("size-over", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\xfe\x07"             # remaining length 1022: 1025 bytes in all
                 b"\x00\x03" b"s/x"      # topic "s/x"
                 b"\x00"                 # property length 0
                 + b"p" * 1016)          # payload
        self.assertDisconnect(raw, 0x95)  # Packet too large
        self.assertServes()
        self.assertLogged("client_id=size-over", peer, "0x95")

    def test_oversized_remaining_length_disconnects_before_body_v5(self):
        # Only the fixed header is sent: the broker must answer from the length alone and
        # not wait for 268 MB that will never come (Mosquitto CVE-2017-7651 / CVE-2023-0809).
        raw = self.connected("size-huge", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\xff\xff\xff\x7f")    # remaining length 268,435,455 (largest legal)
        self.assertDisconnect(raw, 0x95)  # Packet too large
        self.assertServes()
        self.assertLogged("client_id=size-huge", peer, "0x95")

    def test_oversized_remaining_length_v311_closes(self):
        raw = self.connected("size-huge-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x80\x80\x01")        # remaining length 16384 > 1024
        self.assertClosed(raw)           # 3.1.1 has no DISCONNECT from the server
        self.assertServes()
        self.assertLogged("client_id=size-huge-311", peer)

    def test_oversized_connect_closes_without_waiting_CVE_2017_7651(self):
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                 # CONNECT
                 b"\xff\xff\xff\x7f"     # remaining length 268,435,455
                 b"\x00\x04" b"MQTT"     # protocol name
                 b"\x05")                # protocol level 5
        # The protocol level is not known before the length is refused: a close, or at most
        # a CONNACK 0x95 (5.0 table 3-1) - never a wait for the body.
        closed = raw.wait_closed(5.0)
        self.assertTrue(closed, "CONNECT announcing 268 MB kept the connection open")
        for ptype, _, body in raw.seen:
            self.assertEqual((ptype, body[1:2]), (CONNACK, b"\x95"))
        self.assertServes()
        self.assertLogged(peer, "0x95")

    def test_remaining_length_five_bytes_v5_MQTT_1_5_5(self):
        # "The maximum number of bytes in the Variable Byte Integer field is four" (1.5.5);
        # a fifth continuation byte is a Malformed Packet.
        raw = self.connected("vbi-five", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x80\x80\x80\x80\x01")  # five length bytes, four with continuation
        self.assertDisconnect(raw, 0x81)  # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=vbi-five", peer, "0x81")

    def test_remaining_length_five_bytes_v311_closes_MQTT_2_2_3(self):
        raw = self.connected("vbi-five-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x81\x80\x80\x80\x00")  # five length bytes (value would fit: still bad)
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=vbi-five-311", peer, "0x81")

    def test_10000_packets_in_one_write_all_answered(self):
        # The decoder walks a buffer holding many packets: 10,000 PINGREQ in one 20 kB write
        # get 10,000 PINGRESP, in order, and nothing else.
        raw = self.connected("pipelined", version=5)
        raw.send(b"\xc0\x00" * 10000)     # PINGREQ x 10,000
        for _ in range(10000):
            self.assertEqual(raw.read_packet(10.0), (PINGRESP, 0, b""))
        self.assertStillOpen(raw)

    def test_truncated_remaining_length_at_end_of_stream(self):
        raw = self.connected("vbi-cut", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\xff\xff")            # two continuation bytes, then the stream ends
        raw.sock.shutdown(socket.SHUT_WR)
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_disconnected", "client_id=vbi-cut", peer)

    def test_truncated_remaining_length_in_connect_at_end_of_stream(self):
        raw = self.raw_client()
        raw.send(b"\x10"                 # CONNECT
                 b"\x80")                # one continuation byte, then the stream ends
        raw.sock.shutdown(socket.SHUT_WR)
        self.assertClosed(raw)
        self.assertServes()

    def test_truncated_body_at_end_of_stream(self):
        raw = self.connected("body-cut", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x64"                 # remaining length 100
                 b"\x00\x03" b"s/x")     # 5 of the 100 bytes, then the stream ends
        raw.sock.shutdown(socket.SHUT_WR)
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_disconnected", "client_id=body-cut", peer)

    def test_first_packet_not_connect_huge_length_CVE_2017_7651_MQTT_3_1_0_1(self):
        # "After a Network Connection is established by a Client to a Server, the first packet
        # sent from the Client to the Server MUST be a CONNECT packet" [MQTT-3.1.0-1]. The
        # broker closes at once, without waiting for the announced body.
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH (not CONNECT)
                 b"\xff\xff\xff\x7f")    # remaining length 268,435,455
        self.assertClosed(raw)           # nothing is sent: there is no session to answer
        self.assertServes()
        self.assertLogged(peer, "first packet is not CONNECT")

    def test_first_packet_pingreq_closes_MQTT_3_1_0_1(self):
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\xc0"                 # PINGREQ
                 b"\x00")                # remaining length 0
        self.assertClosed(raw)           # no PINGRESP before CONNECT
        self.assertServes()
        self.assertLogged(peer, "first packet is not CONNECT")

    def test_property_length_five_bytes_NanoMQ_CVE_2026_21888(self):
        # A properties length whose Variable Byte Integer has a fifth continuation byte.
        raw = self.connected("props-vbi", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x0c"                 # remaining length 12
                 b"\x00\x03" b"s/x"      # topic "s/x"
                 b"\xff\xff\xff\xff\x7f"  # property length: five bytes
                 b"hi")                  # payload
        self.assertDisconnect(raw, 0x81)  # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=props-vbi", peer, "0x81")

    def test_property_block_past_packet_end_2_2_2_1(self):
        raw = self.connected("props-past", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x09"                 # remaining length 9
                 b"\x00\x03" b"s/x"      # topic "s/x"
                 b"\x10"                 # property length 16: runs past the packet
                 b"\x02\x00\x00")        # Message Expiry Interval, cut short
        self.assertDisconnect(raw, 0x81)  # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=props-past", peer, "0x81")

    def test_property_value_past_block_end(self):
        # The block length is inside the packet, but the last property's value is not
        # inside the block.
        raw = self.connected("props-value", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x0d"                 # remaining length 13
                 b"\x00\x03" b"s/x"      # topic "s/x"
                 b"\x03"                 # property length 3
                 b"\x02\x00\x00"         # Message Expiry Interval: 2 of its 4 bytes
                 b"\x00\x00" b"hi")      # payload (the rest of the value is not in the block)
        self.assertDisconnect(raw, 0x81)  # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=props-value", peer, "0x81")

    def test_connect_property_block_past_end_connack_0x81(self):
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                 # CONNECT
                 b"\x0f"                 # remaining length 15
                 b"\x00\x04" b"MQTT"     # protocol name
                 b"\x05"                 # protocol level 5
                 b"\x02"                 # connect flags: clean start
                 b"\x00\x3c"             # keep alive 60
                 b"\x20"                 # property length 32: past the packet end
                 b"\x00\x02" b"cp")      # (client id)
        self.assertConnackThenClose(raw, 0x81)
        self.assertServes()
        self.assertLogged(peer, "0x81")

    def test_subscribe_truncated_after_topic_NanoMQ_2268_v5(self):
        raw = self.connected("sub-cut", version=5)
        peer = peer_of(raw)
        raw.send(b"\x82"                 # SUBSCRIBE
                 b"\x08"                 # remaining length 8
                 b"\x00\x01"             # packet id 1
                 b"\x00"                 # property length 0
                 b"\x00\x03" b"s/x")     # topic filter, no subscription options byte
        self.assertDisconnect(raw, 0x81)  # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=sub-cut", peer, "0x81")

    def test_subscribe_truncated_after_topic_NanoMQ_2268_v311(self):
        raw = self.connected("sub-cut-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x82"                 # SUBSCRIBE
                 b"\x07"                 # remaining length 7
                 b"\x00\x01"             # packet id 1
                 b"\x00\x03" b"s/x")     # topic filter, no requested QoS byte
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=sub-cut-311", peer, "0x81")

    def test_subscribe_filter_length_past_end(self):
        raw = self.connected("sub-len", version=5)
        peer = peer_of(raw)
        raw.send(b"\x82"                 # SUBSCRIBE
                 b"\x08"                 # remaining length 8
                 b"\x00\x01"             # packet id 1
                 b"\x00"                 # property length 0
                 b"\x7f\xff" b"s/x")     # filter length 32767, 3 bytes present
        self.assertDisconnect(raw, 0x81)  # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=sub-len", peer, "0x81")

    def test_qos1_publish_truncated_before_packet_id_NanoMQ_2270_v5(self):
        raw = self.connected("pub-cut", version=5)
        peer = peer_of(raw)
        raw.send(b"\x32"                 # PUBLISH, QoS 1
                 b"\x05"                 # remaining length 5
                 b"\x00\x03" b"s/x")     # topic, and nothing after it: no packet id
        self.assertDisconnect(raw, 0x81)  # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=pub-cut", peer, "0x81")

    def test_qos2_publish_half_a_packet_id_NanoMQ_2270_v311(self):
        raw = self.connected("pub-cut-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x34"                 # PUBLISH, QoS 2
                 b"\x06"                 # remaining length 6
                 b"\x00\x03" b"s/x"      # topic "s/x"
                 b"\x00")                # one byte of the two-byte packet id
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=pub-cut-311", peer, "0x81")

    def test_topic_length_past_end_v5(self):
        raw = self.connected("topic-len", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x04"                 # remaining length 4
                 b"\x00\x09" b"ab")      # topic length 9, 2 bytes present
        self.assertDisconnect(raw, 0x81)  # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=topic-len", peer, "0x81")


def rss_mib(pid):
    """Resident set size of a process in MiB (Linux /proc)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


class FloodTest(BadInputChecks, unittest.TestCase):
    """A client that writes without ever reading must not make the broker buffer its answers
    without limit (a gateway has a few hundred MB): the broker stops reading it (TCP pushes
    back on the sender) or drops it. One test per class: a fresh ferryd for each RSS delta."""

    def test_non_reading_client_pingreq_flood_bounded_memory(self):
        raw = self.connected("flood", version=5)
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        before = rss_mib(self.broker.proc.pid)
        chunk = b"\xc0\x00" * (512 * 1024)   # 1 MiB of PINGREQ, 524,288 packets
        raw.sock.settimeout(3.0)             # a blocked send means back-pressure works
        try:
            for _ in range(64):              # at most 64 MiB
                raw.sock.sendall(chunk)
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            pass
        grown = rss_mib(self.broker.proc.pid) - before
        self.assertLess(grown, 32, "ferryd grew by %d MiB buffering PINGRESPs for a client "
                        "that does not read" % grown)
        raw.close()
        self.assertServes()


class WebSocketFloodTest(BadInputChecks, unittest.TestCase):
    """The same over WebSocket, on a broker of its own: an RSS delta is only meaningful from
    a fresh process (memory freed by an earlier flood would be reused and hide growth)."""

    def test_non_reading_websocket_client_pingreq_flood_bounded_memory(self):
        raw = self.connected("ws-flood", version=5, ws=True)
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        before = rss_mib(self.broker.proc.pid)
        payload = b"\xc0\x00" * (32 * 1024)  # 64 KiB of PINGREQ per frame
        frame = (b"\x82"                      # FIN, binary
                 b"\xff"                      # MASK, 64-bit length follows
                 + struct.pack("!Q", len(payload)) +
                 b"\x00\x00\x00\x00"          # mask key 0: the payload goes as it is
                 + payload)
        raw.sock.settimeout(3.0)
        try:
            for _ in range(1024):            # at most 64 MiB
                raw.sock.sendall(frame)
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            pass
        grown = rss_mib(self.broker.proc.pid) - before
        self.assertLess(grown, 32, "ferryd grew by %d MiB buffering PINGRESPs for a "
                        "WebSocket client that does not read" % grown)
        # QWebSocket cannot stop reading, so the broker drops such a client (and says why).
        self.assertLogged("websocket_output_backlog", "action=close")
        raw.close()
        self.assertServes()


class BackPressureTest(BadInputChecks, unittest.TestCase):

    def test_flood_then_read_gets_every_answer(self):
        # Back-pressure must pause, not lose or stall: 1,000,000 PINGREQ written while the
        # client reads nothing for a second, then every PINGRESP arrives, in order.
        raw = self.connected("flood-read", version=5)
        count = 1000000
        writer = threading.Thread(target=raw.sock.sendall, args=(b"\xc0\x00" * count,))
        raw.sock.settimeout(None)
        writer.start()
        writer.join(1.0)                     # the broker's output backs up meanwhile
        raw.sock.settimeout(30.0)
        received = bytearray()
        while len(received) < 2 * count:
            chunk = raw.sock.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        writer.join(30.0)
        self.assertFalse(writer.is_alive(), "the client could not finish writing")
        self.assertEqual(len(received), 2 * count)
        self.assertEqual(bytes(received), b"\xd0\x00" * count)   # PINGRESP x 1,000,000
        self.assertStillOpen(raw)


class KeepAliveTest(BadInputChecks, unittest.TestCase):
    """A packet sent one byte at a time is not a packet: keep alive counts whole packets."""

    def test_trickled_partial_packet_does_not_reset_keep_alive_MQTT_3_1_2_22(self):
        # "If the Keep Alive value is non-zero and the Server does not receive an MQTT Control
        # Packet from the Client within one and a half times the Keep Alive time period, it
        # MUST close the Network Connection to the Client as if the network had failed"
        # [MQTT-3.1.2-22]. Keep alive 1 s: the limit is 1.5 s; the client trickles the body
        # of a 100-byte PUBLISH at one byte per 0.5 s for up to 8 s (five times the limit).
        raw = self.connected("trickle", version=5, keepalive=1)
        peer = peer_of(raw)
        raw.send(b"\x30"                 # PUBLISH, QoS 0
                 b"\x64")                # remaining length 100, body to follow slowly
        ended = False
        for _ in range(16):
            readable, _, _ = select.select([raw.sock], [], [], 0.5)
            if readable:
                ended = True             # the broker spoke (DISCONNECT) or closed
                break
            try:
                raw.send(b"x")           # one more body byte: still no whole packet
            except (BrokenPipeError, ConnectionResetError):
                ended = True
                break
        self.assertTrue(ended, "still open after 8 s of trickling with keep alive 1 s")
        self.assertClosed(raw, timeout=2.0, allow=(DISCONNECT,))
        for _, _, body in raw.seen:
            self.assertEqual(body[:1], b"\x8d")   # Keep Alive timeout
        self.assertServes()
        self.assertLogged("keepalive_timeout", "client_id=trickle", peer)

    def test_idle_client_closed_after_keep_alive_MQTT_3_1_2_22(self):
        # The control case: nothing at all is sent after CONNACK.
        raw = self.connected("idle-ka", version=5, keepalive=1)
        peer = peer_of(raw)
        self.assertClosed(raw, timeout=10.0, allow=(DISCONNECT,))
        for _, _, body in raw.seen:
            self.assertEqual(body[:1], b"\x8d")
        self.assertServes()
        self.assertLogged("keepalive_timeout", "client_id=idle-ka", peer)


class ConnectTimeoutTest(BadInputChecks, unittest.TestCase):
    """[limits] connect_timeout = 1: a connection that does not complete CONNECT in time is
    dropped (issue 2: "a slow or silent client ... is dropped after a configurable timeout")."""

    BROKER_TOML = "[limits]\nconnect_timeout = 1\n"

    def test_silent_connection_dropped_after_connect_timeout(self):
        raw = self.raw_client()
        peer = peer_of(raw)
        self.assertClosed(raw, timeout=10.0)   # 1 s configured; the bound only guards a hang
        self.assertServes()
        self.assertLogged("connect_timeout", peer)

    def test_half_sent_connect_dropped_after_connect_timeout(self):
        # A slowloris CONNECT: the header and a few bytes, then nothing. Bytes arriving must
        # not restart the clock.
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                 # CONNECT
                 b"\x20"                 # remaining length 32
                 b"\x00\x04" b"MQ")      # 4 of the 32 bytes
        self.assertClosed(raw, timeout=10.0)
        self.assertServes()
        self.assertLogged("connect_timeout", peer)

    def test_silent_websocket_dropped_after_connect_timeout(self):
        # Upgraded to WebSocket, then no CONNECT: the same timeout applies.
        raw = self.raw_client(ws=True)
        peer = peer_of(raw)
        self.assertClosed(raw, timeout=10.0)
        self.assertServes()
        self.assertLogged("connect_timeout", peer)

    def test_silent_tcp_on_websocket_port_dropped_after_connect_timeout(self):
        # Not even the HTTP upgrade request: a silent peer on the WebSocket port has not sent
        # CONNECT either, so connect_timeout (1 s) applies, not Qt's own 10 s handshake
        # timeout. The 5 s bound leaves 4 s of slack over the configured second.
        sock = socket.create_connection(("127.0.0.1", self.broker.ws_port), timeout=5.0)
        self.addCleanup(sock.close)
        peer = "%s:%d" % sock.getsockname()[:2]
        try:
            self.assertEqual(sock.recv(1), b"", "broker sent data to a silent peer")
        except socket.timeout:
            self.fail("silent connection on the WebSocket port still open after 5 s "
                      "(connect_timeout = 1 s)")
        except ConnectionResetError:
            pass
        self.assertServes()
        self.assertLogged(peer)

    def test_connected_client_outlives_connect_timeout(self):
        raw = self.connected("ct-ok", version=5)
        time.sleep(2.0)                  # twice the connect timeout
        self.assertStillOpen(raw)
        raw.close()


if __name__ == "__main__":
    unittest.main()
