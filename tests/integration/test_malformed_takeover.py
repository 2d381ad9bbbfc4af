"""Session takeover races against a real ferryd over raw TCP: many connections with one client
id and Clean Start 0 at once (the session takeover races other brokers crashed on).

"If the ClientID represents a Client already connected to the Server, the Server sends a
DISCONNECT packet to the existing Client with Reason Code of 0x8E (Session taken over) ... and
MUST close the Network Connection of the existing Client" [MQTT-3.1.4-3]. Bytes by hand.
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
    BadInputChecks, CONNACK, DISCONNECT, PINGRESP, RawClient)

RACERS = 50


def connect_v5_resume(client_id):
    """CONNECT, 5.0, Clean Start 0, Session Expiry Interval 300."""
    cid = client_id.encode()
    body = (b"\x00\x04" b"MQTT"           # protocol name
            b"\x05"                       # protocol level 5
            b"\x00"                       # connect flags: Clean Start 0
            b"\x00\x3c"                   # keep alive 60
            b"\x05"                       # property length 5
            b"\x11" b"\x00\x00\x01\x2c"   # Session Expiry Interval 300
            + struct.pack("!H", len(cid)) + cid)  # client id
    assert len(body) < 128
    return b"\x10" + bytes([len(body)]) + body   # CONNECT, remaining length, body


def split_packets(data):
    """Whole packets in data -> [(type, body)] (bodies here are always < 128 bytes)."""
    out, pos = [], 0
    while pos + 2 <= len(data):
        length = data[pos + 1]
        out.append((data[pos] >> 4, data[pos + 2:pos + 2 + length]))
        pos += 2 + length
    return out


class TakeoverRaceTest(BadInputChecks, unittest.TestCase):

    def _race(self, client_id, abrupt=()):
        """Opens RACERS connections, sends every CONNECT at once from its own thread (a barrier
        releases them together); connections whose index is in `abrupt` reset right after.
        Returns the list of RawClients (abrupt ones closed)."""
        clients = [RawClient(self.broker.port) for _ in range(RACERS)]
        for c in clients:
            self.addCleanup(c.close)
        barrier = threading.Barrier(RACERS, timeout=10)
        packet = connect_v5_resume(client_id)

        def go(i):
            barrier.wait()
            clients[i].send(packet)
            if i in abrupt:
                clients[i].sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))   # close = RST
                clients[i].close()

        threads = [threading.Thread(target=go, args=(i,)) for i in range(RACERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        return clients

    def _collect(self, clients, expect_closed, timeout=15.0):
        """Reads every open socket until `expect_closed` of them closed (or the timeout);
        returns ({index: bytes received}, set of closed indexes)."""
        data = {i: b"" for i in range(len(clients))}
        closed = set()
        deadline = time.monotonic() + timeout
        while len(closed) < expect_closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            open_socks = {clients[i].sock: i for i in data if i not in closed}
            readable, _, _ = select.select(list(open_socks), [], [], remaining)
            for sock in readable:
                i = open_socks[sock]
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    data[i] += chunk
                else:
                    closed.add(i)
        return data, closed

    def test_50_concurrent_takeovers_clean_start_0_MQTT_3_1_4_3(self):
        clients = self._race("racer")
        data, closed = self._collect(clients, RACERS - 1)
        self.assertEqual(len(closed), RACERS - 1,
                         "expected every connection but one taken over and closed")
        survivor = next(i for i in range(RACERS) if i not in closed)
        for i in closed:
            packets = split_packets(data[i])
            self.assertEqual([p[0] for p in packets], [CONNACK, DISCONNECT], "client %d" % i)
            self.assertEqual(packets[0][1][1], 0x00)     # CONNACK: Success
            self.assertEqual(packets[1][1][:1], b"\x8e")  # DISCONNECT: Session taken over
        # The survivor's CONNACK may still be on its way when the last takeover's close is
        # seen, so it is read with a deadline rather than taken from what arrived so far.
        live = clients[survivor]
        live.buf = data[survivor]
        ptype, _, body = live.read_packet(timeout=10.0)
        self.assertEqual(ptype, CONNACK)
        self.assertEqual(body[:2], b"\x01\x00",  # session present, Success:
                         "the last connection did not resume the session")
        self.assertEqual(live.buf, b"", "the survivor got more than its CONNACK")
        # The last one is connected and working...
        live.send(b"\xc0\x00")                           # PINGREQ
        self.assertEqual(live.read_packet()[0], PINGRESP)
        # ...and is the one a 51st connection takes over.
        late = RawClient(self.broker.port)
        self.addCleanup(late.close)
        late.send(connect_v5_resume("racer"))
        _, body = late.expect(CONNACK)
        self.assertEqual(body[:2], b"\x01\x00")
        self.assertDisconnect(live, 0x8E)
        self.assertGreaterEqual(self.broker.log().count("session_taken_over client_id=racer "),
                                RACERS)
        self.assertServes()

    def test_takeover_storm_with_abrupt_closes(self):
        # Every other racer resets its connection right after its CONNECT: takeovers and
        # closes interleave. The broker survives and the session is still there to resume.
        abrupt = set(range(0, RACERS, 2))
        clients = self._race("stormer", abrupt=abrupt)
        polite = [i for i in range(RACERS) if i not in abrupt]
        data, closed = self._collect([clients[i] for i in polite], len(polite) - 1)
        self.assertGreaterEqual(len(closed), len(polite) - 1)
        for i in closed:
            packets = split_packets(data[i])
            self.assertEqual([p[0] for p in packets], [CONNACK, DISCONNECT])
            self.assertEqual(packets[1][1][:1], b"\x8e")  # Session taken over
        final = RawClient(self.broker.port)
        self.addCleanup(final.close)
        final.send(connect_v5_resume("stormer"))
        _, body = final.expect(CONNACK)
        self.assertEqual(body[:2], b"\x01\x00")          # session present, Success
        final.send(b"\xc0\x00")                          # PINGREQ
        self.assertEqual(final.read_packet()[0], PINGRESP)
        self.assertServes()


# Bad inputs for the crowd below: (needs a CONNECT first, bytes).
CROWD_CASES = [
    (True, b"\x36\x0a\x00\x03s/x\x00\x01\x00hi"),        # PUBLISH QoS 3
    (True, b"\x30\x80\x80\x80\x80\x01"),                 # 5-byte remaining length
    (False, b"\x30\xff\xff\xff\x7f"),                     # first packet not CONNECT
    (False, b"\x10\x10\x00\x04MQTT\x05\x02\x00\x3c\x00"
            b"\x00\x03a\x00b"),                             # U+0000 in the client id
    (True, b"\x82\x08\x00\x01\x00\x00\x03s/x"),          # SUBSCRIBE cut after its filter
]


class ConcurrentBadInputTest(BadInputChecks, unittest.TestCase):

    def test_200_bad_clients_at_once(self):
        # Every bad input at once from 200 connections: each closes alone, the broker and the
        # bystander stay.
        clients = []
        for i in range(200):
            raw = RawClient(self.broker.port)
            self.addCleanup(raw.close)
            needs_connect, _ = CROWD_CASES[i % len(CROWD_CASES)]
            if needs_connect:
                raw.send(connect_v5_resume("crowd-%d" % i))
            clients.append(raw)
        for i, raw in enumerate(clients):
            if CROWD_CASES[i % len(CROWD_CASES)][0]:
                raw.expect(CONNACK)
        for i, raw in enumerate(clients):
            raw.send(CROWD_CASES[i % len(CROWD_CASES)][1])
        for i, raw in enumerate(clients):
            self.assertTrue(raw.wait_closed(10.0), "client %d still open" % i)
        self.assertServes()


if __name__ == "__main__":
    unittest.main()
