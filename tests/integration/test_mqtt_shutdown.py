"""SIGTERM with clients connected, against a real ferryd: every open connection is found and
closed (5.0 clients over TCP and WebSocket get DISCONNECT 0x8B Server shutting down, 3.1.1
clients and sockets that never sent CONNECT are closed), also with a connection closed just
before, and ferryd exits 0."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (DISCONNECT, FerryBroker, RawClient,  # noqa: E402
                           disconnect_reason, raw_connected)

SERVER_SHUTTING_DOWN = 0x8B


class Shutdown(unittest.TestCase):
    def setUp(self):
        self.broker = FerryBroker()
        self.broker.start()
        self._clients = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for c in self._clients:
            c.close()
        self.broker.stop()
        self.broker.cleanup()

    def test_sigterm_closes_every_connection(self):
        port, ws_port = self.broker.port, self.broker.ws_port
        v5_tcp = [raw_connected(port, "v5-tcp-%d" % i) for i in range(3)]
        v5_ws = [raw_connected(ws_port, "v5-ws-%d" % i, ws=True) for i in range(2)]
        v311 = raw_connected(port, "v311", version=4)
        silent = RawClient(port)   # never sends CONNECT
        # A client that has already gone (its connection closed, maybe not yet deleted).
        gone = raw_connected(port, "gone")
        gone.close()
        clients = v5_tcp + v5_ws + [v311, silent]
        self._clients.extend(clients)

        code = self.broker.stop()
        self.assertEqual(code, 0, self.broker.log()[-3000:])

        for c in v5_tcp + v5_ws:
            self.assertTrue(c.wait_closed(5.0), "not closed")
            disconnects = [body for t, _, body in c.seen if t == DISCONNECT]
            self.assertEqual(len(disconnects), 1, c.seen)
            self.assertEqual(disconnect_reason(disconnects[0]), SERVER_SHUTTING_DOWN)
        for c in (v311, silent):
            self.assertTrue(c.wait_closed(5.0), "not closed")
            self.assertEqual(c.seen, [])   # 3.1.1 has no DISCONNECT from the server


if __name__ == "__main__":
    unittest.main()
