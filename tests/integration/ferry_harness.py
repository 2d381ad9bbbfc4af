"""Starts a real ferryd for a test and stops it afterwards.

Usage:
    with FerryBroker(extra_toml="[limits]\\nmax_inflight = 5\\n") as broker:
        broker.port      # MQTT over TCP
        broker.ws_port   # MQTT over WebSocket (path /mqtt)
        broker.log()     # everything ferryd printed so far

ferryd binds port 0 and prints the port it got ("listening protocol=mqtt ... port=N"), so
tests never guess a free port. Everything is bounded in time.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

FERRYD = os.environ.get("FERRYD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "app", "ferryd")

_LISTEN = re.compile(r"listening protocol=(\S+) address=\S+ port=(\d+)")


class FerryBroker:
    def __init__(self, extra_toml="", listeners=None, startup_timeout=10.0, config_text=None):
        self.extra_toml = extra_toml
        self.listeners = listeners if listeners is not None else [
            ("mqtt", "127.0.0.1:0", ""), ("mqtt-ws", "127.0.0.1:0", 'path = "/mqtt"\n')]
        self.startup_timeout = startup_timeout
        self.config_text = config_text
        self.proc = None
        self.ports = {}
        self.dir = None

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def write_config(self):
        if self.config_text is not None:
            text = self.config_text
        else:
            text = ""
            for protocol, bind, extra in self.listeners:
                text += '[[listener]]\nprotocol = "%s"\nbind = "%s"\n%s\n' % (protocol, bind, extra)
            text += '[storage]\npath = "%s"\n' % os.path.join(self.dir, "ferry.db")
            text += self.extra_toml
        path = os.path.join(self.dir, "ferry.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self):
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="ferry-test-")
        config = self.write_config()
        self.log_path = os.path.join(self.dir, "ferryd.log")
        self._log_file = open(self.log_path, "ab")
        # A restart appends to the same log: read ports only from what this run printed.
        self._log_start = self._log_file.tell()
        self.proc = subprocess.Popen([FERRYD, "--config", config], stdout=self._log_file,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + self.startup_timeout
        expected = len(self.listeners) if self.config_text is None else 1
        self.ports = {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ferryd exited with %s:\n%s" % (self.proc.returncode, self.log()))
            current = self.log()[self._log_start:]
            found = _LISTEN.findall(current)
            if len(found) >= expected and "ready" in current:
                for protocol, port in found:
                    self.ports.setdefault(protocol, int(port))
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("ferryd did not start:\n" + self.log())

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self._log_file.close()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait(5)
        self._log_file.close()

    def restart(self):
        """Stops (SIGTERM) and starts again on the same directory (and database)."""
        self.stop()
        self.start()

    def cleanup(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- access ------------------------------------------------------------------------
    @property
    def port(self):
        return self.ports["mqtt"]

    @property
    def ws_port(self):
        return self.ports["mqtt-ws"]

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern, timeout=5.0):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            if rx.search(self.log()):
                return True
            time.sleep(0.02)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


# ======================================================================================
# Client helpers for the test_mqtt_*.py files (added by the MQTT integration tests).
# Everything waits on a Condition with a timeout: no unbounded loop, no bare sleep-poll.
# ======================================================================================
import socket
import struct
import threading


def wait_until(cond, predicate, timeout):
    """Waits on `cond` (a threading.Condition, not held) until predicate() is true or the
    timeout passes. Returns the final value of predicate(). The predicate is re-checked at
    least every 50 ms, so it may also look at other clients (whose events notify other
    conditions)."""
    deadline = time.monotonic() + timeout
    with cond:
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return predicate()
            cond.wait(min(remaining, 0.05))
        return True


class PahoClient:
    """A paho client that records what it sees (CONNACK, messages, SUBACK, DISCONNECT) and
    lets a test wait for it with a bound. `version` is 4 (3.1.1) or 5."""

    def __init__(self, client_id="", version=5, clean_session=None, transport="tcp",
                 userdata=None):
        import paho.mqtt.client as mqtt
        self.mqtt = mqtt
        self.version = version
        protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        kwargs = {}
        if version != 5 and clean_session is not None:
            kwargs["clean_session"] = clean_session
        self.client = mqtt.Client(client_id=client_id, protocol=protocol, transport=transport,
                                  **kwargs)
        self.cond = threading.Condition()
        self.connacks = []      # (flags dict, reason code int, properties or None)
        self.messages = []      # paho MQTTMessage
        self.subacks = {}       # mid -> list of reason codes / granted qos (ints)
        self.unsubacks = {}     # mid -> list of reason codes (5.0) or [] (3.1.1)
        self.disconnects = []   # reason code int
        self.acked = set()      # mids of completed outgoing publishes
        c = self.client
        if version == 5:
            c.on_connect = lambda cl, u, flags, rc, props: self._add(
                self.connacks, (flags, _rc(rc), props))
            c.on_subscribe = lambda cl, u, mid, rcs, props: self._put(
                self.subacks, mid, [_rc(r) for r in rcs])
            c.on_unsubscribe = lambda cl, u, mid, props, rcs: self._put(
                self.unsubacks, mid, [_rc(r) for r in (rcs if isinstance(rcs, list) else [rcs])])
            c.on_disconnect = lambda cl, u, rc, props=None: self._add(self.disconnects, _rc(rc))
        else:
            c.on_connect = lambda cl, u, flags, rc: self._add(self.connacks, (flags, rc, None))
            c.on_subscribe = lambda cl, u, mid, granted: self._put(self.subacks, mid,
                                                                   list(granted))
            c.on_unsubscribe = lambda cl, u, mid: self._put(self.unsubacks, mid, [])
            c.on_disconnect = lambda cl, u, rc: self._add(self.disconnects, rc)
        c.on_message = lambda cl, u, msg: self._add(self.messages, msg)
        c.on_publish = lambda cl, u, mid: self._addset(self.acked, mid)

    # -- recording ---------------------------------------------------------------------
    def _add(self, lst, item):
        with self.cond:
            lst.append(item)
            self.cond.notify_all()

    def _put(self, d, key, value):
        with self.cond:
            d[key] = value
            self.cond.notify_all()

    def _addset(self, s, item):
        with self.cond:
            s.add(item)
            self.cond.notify_all()

    def wait(self, predicate, timeout=5.0):
        return wait_until(self.cond, predicate, timeout)

    # -- actions -----------------------------------------------------------------------
    def connect(self, port, host="127.0.0.1", keepalive=60, clean_start=True, properties=None,
                timeout=5.0, expect_success=True):
        """Connects, starts the network thread and waits for the CONNACK. Returns
        (flags, reason code, properties)."""
        n = len(self.connacks)
        if self.version == 5:
            self.client.connect(host, port, keepalive=keepalive, clean_start=clean_start,
                                properties=properties)
        else:
            self.client.connect(host, port, keepalive=keepalive)
        self.client.loop_start()
        if not self.wait(lambda: len(self.connacks) > n or self.disconnects, timeout):
            raise AssertionError("no CONNACK within %.1fs" % timeout)
        if len(self.connacks) <= n:
            raise AssertionError("connection closed before CONNACK: %r" % self.disconnects)
        result = self.connacks[n]
        if expect_success and result[1] != 0:
            raise AssertionError("CONNACK refused: %r" % (result,))
        return result

    def subscribe(self, topic, qos=0, options=None, properties=None, timeout=5.0):
        """Subscribes (topic is a string or a list of (topic, qos|SubscribeOptions)) and waits for
        the SUBACK. Returns the list of reason codes (5.0) / granted QoS (3.1.1)."""
        if options is not None:
            rc, mid = self.client.subscribe(topic, options=options, properties=properties)
        elif properties is not None:
            rc, mid = self.client.subscribe(topic, qos, properties=properties)
        else:
            rc, mid = self.client.subscribe(topic, qos)
        if rc != 0:
            raise AssertionError("subscribe not sent: rc=%s" % rc)
        if not self.wait(lambda: mid in self.subacks, timeout):
            raise AssertionError("no SUBACK within %.1fs" % timeout)
        return self.subacks[mid]

    def unsubscribe(self, topic, timeout=5.0):
        rc, mid = self.client.unsubscribe(topic)
        if not self.wait(lambda: mid in self.unsubacks, timeout):
            raise AssertionError("no UNSUBACK within %.1fs" % timeout)
        return self.unsubacks[mid]

    def publish(self, topic, payload=b"", qos=0, retain=False, properties=None, wait=True,
                timeout=5.0):
        """Publishes; for QoS 1/2 (and wait=True) waits until the flow completes."""
        info = self.client.publish(topic, payload, qos, retain, properties=properties)
        if wait and qos > 0:
            if not self.wait(lambda: info.mid in self.acked, timeout):
                raise AssertionError("QoS %d publish to %s not acknowledged" % (qos, topic))
        return info

    def wait_messages(self, n, timeout=5.0):
        """Waits for at least n messages; returns True if they came."""
        return self.wait(lambda: len(self.messages) >= n, timeout)

    def wait_disconnect(self, timeout=5.0):
        return self.wait(lambda: len(self.disconnects) > 0, timeout)

    def disconnect(self, reasoncode=None, properties=None, timeout=5.0):
        n = len(self.disconnects)
        if reasoncode is not None:
            self.client.disconnect(reasoncode=reasoncode, properties=properties)
        else:
            self.client.disconnect()
        self.wait(lambda: len(self.disconnects) > n, timeout)
        self.client.loop_stop()

    def stop(self):
        """Stops the network thread without a DISCONNECT packet (for cleanup)."""
        self.signal_stop()
        thread = getattr(self.client, "_thread", None)
        if thread is not None:
            thread.join(5.0)
            self.client._thread = None
        try:
            sock = self.client.socket()
            if sock:
                sock.close()
        except Exception:
            pass

    def signal_stop(self):
        """Asks paho's network thread to end and wakes it (its select() otherwise sleeps up to
        1 s), so many clients can be stopped in parallel. Uses paho 1.6 internals, guarded."""
        c = self.client
        c._thread_terminate = True
        wake = getattr(c, "_sockpairW", None)
        if wake is not None:
            try:
                wake.send(b"0")
            except OSError:
                pass

    def kill(self):
        """Abnormal close: the TCP connection goes away without a DISCONNECT packet. The network
        thread is told to stop first, so it does not sit in paho's reconnect wait (up to 1 s)
        and the close happens now."""
        self.signal_stop()
        sock = self.client.socket()
        sock = getattr(sock, "_socket", sock)  # paho's WebsocketWrapper holds the TCP socket
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.stop()


def _rc(rc):
    """paho 1.6 gives ReasonCodes objects in 5.0 and ints in 3.1.1: always an int."""
    value = getattr(rc, "value", rc)
    return int(value)


def props(packet_type_name, **values):
    """props("CONNECT", SessionExpiryInterval=60) -> paho Properties."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    p = Properties(getattr(PacketTypes, packet_type_name))
    for k, v in values.items():
        setattr(p, k, v)
    return p


# -- raw MQTT over a socket: hand-built packets for what paho cannot do -----------------
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = \
    8, 9, 10, 11, 12, 13, 14, 15


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def utf8(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def raw_connect(client_id, version=4, clean=True, keepalive=60, will=None, properties=b""):
    """CONNECT bytes. will = (topic, payload, qos, retain[, will_properties bytes])."""
    flags = 0x02 if clean else 0
    payload = utf8(client_id)
    will_props = b""
    if will:
        topic, wpayload, wqos, wretain = will[:4]
        will_props = will[4] if len(will) > 4 else b""
        flags |= 0x04 | (wqos << 3) | (0x20 if wretain else 0)
        if version == 5:
            payload += varint(len(will_props)) + will_props
        payload += utf8(topic) + utf8(wpayload)
    var = utf8("MQTT") + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == 5:
        var += varint(len(properties)) + properties
    return packet(CONNECT, 0, var + payload)


def raw_subscribe(mid, filters, version=4):
    """filters: list of (filter, options byte)."""
    body = struct.pack("!H", mid)
    if version == 5:
        body += b"\x00"
    for f, opts in filters:
        body += utf8(f) + bytes([opts])
    return packet(SUBSCRIBE, 2, body)


def raw_publish(topic, payload, qos=0, mid=None, retain=False, dup=False, version=4,
                properties=b""):
    flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = utf8(topic)
    if qos:
        body += struct.pack("!H", mid)
    if version == 5:
        body += varint(len(properties)) + properties
    return packet(PUBLISH, flags, body + payload)


def raw_ack(ptype, mid, version=4):
    flags = 2 if ptype == PUBREL else 0
    return packet(ptype, flags, struct.pack("!H", mid))


class RawClient:
    """A plain TCP socket speaking hand-built MQTT."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by broker")
            self.buf += chunk

    def read_packet(self, timeout=5.0):
        """Returns (type, flags, body). Raises EOFError when the broker closed the connection,
        socket.timeout when nothing complete came within the timeout."""
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        length, mult, i = 0, 1, 1
        while True:
            self._fill(i + 1, deadline)
            b = self.buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
            if i > 4:
                raise ValueError("bad remaining length from broker")
        self._fill(i + length, deadline)
        first = self.buf[0]
        body = self.buf[i:i + length]
        self.buf = self.buf[i + length:]
        return first >> 4, first & 0x0F, body

    def expect(self, ptype, timeout=5.0):
        t, flags, body = self.read_packet(timeout)
        if t != ptype:
            raise AssertionError("expected packet type %d, got %d (flags %x body %r)"
                                 % (ptype, t, flags, body))
        return flags, body

    def wait_closed(self, timeout=5.0):
        """True if the broker closes the connection within timeout (packets read meanwhile
        are returned in self.seen)."""
        self.seen = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.seen.append(self.read_packet(remaining))
        except EOFError:
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse_publish(flags, body, version=4):
    """-> dict(topic, payload, qos, dup, retain, mid, props bytes)."""
    qos = (flags >> 1) & 3
    tlen = struct.unpack("!H", body[:2])[0]
    topic = body[2:2 + tlen].decode("utf-8")
    pos = 2 + tlen
    mid = None
    if qos:
        mid = struct.unpack("!H", body[pos:pos + 2])[0]
        pos += 2
    properties = b""
    if version == 5:
        plen, mult = 0, 1
        while True:
            b = body[pos]
            pos += 1
            plen += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        properties = body[pos:pos + plen]
        pos += plen
    return {"topic": topic, "payload": body[pos:], "qos": qos, "dup": bool(flags & 8),
            "retain": bool(flags & 1), "mid": mid, "props": properties}


import unittest


class BrokerTestCase(unittest.TestCase):
    """One fresh ferryd per test. Subclasses set BROKER_TOML (extra config text). Clients made
    with self.client() / self.raw() are closed after the test; a broker that died during the
    test fails it, with its log."""

    BROKER_TOML = ""

    def setUp(self):
        self.broker = FerryBroker(extra_toml=self.BROKER_TOML)
        self.broker.start()
        self._clients = []
        self.addCleanup(self._teardown_broker)

    def _teardown_broker(self):
        for c in self._clients:
            if isinstance(c, PahoClient):
                c.signal_stop()
        for c in self._clients:
            if isinstance(c, PahoClient):
                c.stop()
            else:
                c.close()
        died = not self.broker.alive()
        log = self.broker.log()
        self.broker.stop()
        self.broker.cleanup()
        if died:
            self.fail("ferryd died during the test:\n" + log[-4000:])

    def client(self, client_id="", version=5, **kw):
        c = PahoClient(client_id, version=version, **kw)
        self._clients.append(c)
        return c

    def connected(self, client_id="", version=5, clean_start=True, properties=None,
                  keepalive=60, **kw):
        c = self.client(client_id, version, **kw)
        c.connect(self.broker.port, clean_start=clean_start, properties=properties,
                  keepalive=keepalive)
        return c

    def raw(self):
        r = RawClient(self.broker.port)
        self._clients.append(r)
        return r


# ======================================================================================
# Bad-input helpers for the test_malformed_*.py files (added by the malformed-input tests):
# a raw WebSocket client, a CONNECT-then-CONNACK shortcut, and the three checks every bad
# input case ends with (a: the right answer then a close, b: the broker still serves,
# c: the log names the client and the reason). Every wait is bounded.
# ======================================================================================
import base64
import hashlib

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   # RFC 6455 section 1.3


class RawWsClient(RawClient):
    """MQTT over a hand-made WebSocket (RFC 6455): HTTP upgrade with Sec-WebSocket-Protocol
    mqtt, masked frames out (a client MUST mask, 5.3), unmasked frames in. send() writes one
    binary frame; read_packet()/expect()/wait_closed() work as for RawClient, on the byte
    stream carried by the binary frames. A close frame from the broker reads as EOF."""

    def __init__(self, port, host="127.0.0.1", path="/mqtt", timeout=5.0, protocol="mqtt"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""          # MQTT bytes taken out of binary frames
        self.wire = b""         # WebSocket bytes not yet parsed into frames
        self.close_code = None  # set when the broker's close frame arrives
        key = base64.b64encode(os.urandom(16))
        request = (b"GET " + path.encode() + b" HTTP/1.1\r\n"
                   b"Host: " + ("%s:%d" % (host, port)).encode() + b"\r\n"
                   b"Upgrade: websocket\r\n"
                   b"Connection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: " + key + b"\r\n"
                   b"Sec-WebSocket-Version: 13\r\n"
                   b"Sec-WebSocket-Protocol: " + protocol.encode() + b"\r\n\r\n")
        self.sock.sendall(request)
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.wire:
            self._recv_wire(deadline)
        head, self.wire = self.wire.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise AssertionError("WebSocket upgrade refused: %r" % head)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise AssertionError("bad Sec-WebSocket-Accept: %r" % headers)
        self.subprotocol = headers.get("sec-websocket-protocol")

    def _recv_wire(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by broker")
        self.wire += chunk

    def send_frame(self, opcode, payload, fin=True):
        """One masked frame: FIN|opcode, MASK|length (7, 7+16 or 7+64 bits), mask key, data."""
        out = bytearray([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            out.append(0x80 | n)
        elif n < 65536:
            out.append(0x80 | 126)
            out += struct.pack("!H", n)
        else:
            out.append(0x80 | 127)
            out += struct.pack("!Q", n)
        mask = os.urandom(4)
        out += mask
        out += bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(out))

    def send(self, data):
        self.send_frame(0x2, data)

    def send_close(self, code=1000):
        self.send_frame(0x8, struct.pack("!H", code))

    def _read_frame(self, deadline):
        """Parses one frame from the wire; returns (opcode, payload)."""
        while len(self.wire) < 2:
            self._recv_wire(deadline)
        b0, b1 = self.wire[0], self.wire[1]
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            while len(self.wire) < 4:
                self._recv_wire(deadline)
            n = struct.unpack("!H", self.wire[2:4])[0]
            pos = 4
        elif n == 127:
            while len(self.wire) < 10:
                self._recv_wire(deadline)
            n = struct.unpack("!Q", self.wire[2:10])[0]
            pos = 10
        if b1 & 0x80:
            raise AssertionError("server frames MUST NOT be masked (RFC 6455 5.1)")
        while len(self.wire) < pos + n:
            self._recv_wire(deadline)
        payload = self.wire[pos:pos + n]
        self.wire = self.wire[pos + n:]
        return b0 & 0x0F, payload

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            opcode, payload = self._read_frame(deadline)
            if opcode in (0x0, 0x2):
                self.buf += payload
            elif opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise EOFError("WebSocket close frame from broker (code %s)" % self.close_code)
            elif opcode == 0x9:
                self.send_frame(0xA, payload)
            elif opcode == 0x1:
                raise AssertionError("broker sent a text frame (MQTT-6.0.0-1)")


def peer_of(raw):
    """The broker's name for this client's end of the connection ("127.0.0.1:port")."""
    host, port = raw.sock.getsockname()[:2]
    return "%s:%d" % (host, port)


def connack_reason(body):
    """CONNACK body -> reason code (5.0) / return code (3.1.1): the second byte."""
    return body[1]


def disconnect_reason(body):
    """5.0 DISCONNECT body -> reason code; an empty body means 0x00 (3.14.2.1)."""
    return body[0] if body else 0


def raw_connected(port, client_id, version=5, clean=True, properties=b"", ws=False,
                  keepalive=60, timeout=5.0):
    """A raw client (TCP, or WebSocket when ws) that sent a valid CONNECT and got a
    successful CONNACK (kept in .connack)."""
    raw = RawWsClient(port, timeout=timeout) if ws else RawClient(port, timeout=timeout)
    raw.send(raw_connect(client_id, version=version, clean=clean, keepalive=keepalive,
                         properties=properties))
    try:
        _, body = raw.expect(CONNACK, timeout)
    except BaseException:
        raw.close()
        raise
    if connack_reason(body) != 0:
        raw.close()
        raise AssertionError("CONNACK refused %s: %r" % (client_id, body))
    raw.connack = body
    return raw


class BadInputChecks:
    """Mixin for unittest.TestCase classes that share one FerryBroker per class.
    Set BROKER_TOML (extra ferry.toml text) on the class."""

    BROKER_TOML = ""
    broker = None

    @classmethod
    def setUpClass(cls):
        cls.broker = FerryBroker(extra_toml=cls.BROKER_TOML)
        cls.broker.start()
        # Connected for the whole class (keep alive 0: never times out): every bad input must
        # close only its own connection, so this one must still answer in assertServes.
        cls.bystander = raw_connected(cls.broker.port, "bystander-" + cls.__name__, version=4,
                                      keepalive=0)

    @classmethod
    def tearDownClass(cls):
        cls.bystander.close()
        broker = cls.broker
        alive = broker.alive()
        code = broker.stop()
        log = broker.log()
        broker.cleanup()
        # A crash during the class shows here even if every test passed.
        if not alive or code not in (0, None):
            raise AssertionError("ferryd died or exited %s; log:\n%s" % (code, log[-4000:]))

    # -- clients closed after the test ------------------------------------------------
    def raw_client(self, ws=False):
        """A raw TCP (or WebSocket) connection to the class broker, closed after the test."""
        raw = RawWsClient(self.broker.ws_port) if ws else RawClient(self.broker.port)
        self.addCleanup(raw.close)
        return raw

    def connected(self, client_id, version=5, ws=False, **kw):
        """raw_connected() to the class broker, closed after the test."""
        port = self.broker.ws_port if ws else self.broker.port
        raw = raw_connected(port, client_id, version=version, ws=ws, **kw)
        self.addCleanup(raw.close)
        return raw

    # -- (a) the answer, then the close ----------------------------------------------
    def assertDisconnect(self, raw, reason, timeout=5.0):
        """5.0 after CONNACK: the next packet is DISCONNECT with `reason` (an int or a set
        of ints), then the broker closes the connection."""
        try:
            ptype, flags, body = raw.read_packet(timeout)
        except (EOFError, ConnectionResetError):
            self.fail("broker closed without a DISCONNECT (expected reason %s)" % _hex(reason))
        except socket.timeout:
            self.fail("no DISCONNECT within %.1fs (expected reason %s)" % (timeout, _hex(reason)))
        self.assertEqual(ptype, DISCONNECT, "expected DISCONNECT, got type %d body %r"
                         % (ptype, body))
        self.assertEqual(flags, 0)
        got = disconnect_reason(body)
        allowed = reason if isinstance(reason, (set, frozenset)) else {reason}
        self.assertIn(got, allowed, "DISCONNECT reason 0x%02x, expected %s"
                      % (got, _hex(reason)))
        self.assertClosed(raw, timeout)
        return got

    def assertConnackThenClose(self, raw, reason, timeout=5.0):
        """An error inside CONNECT: a CONNACK with `reason`, then the close."""
        try:
            _, body = raw.expect(CONNACK, timeout)
        except (EOFError, ConnectionResetError):
            self.fail("broker closed without a CONNACK (expected 0x%02x)" % reason)
        self.assertEqual(connack_reason(body), reason,
                         "CONNACK reason 0x%02x, expected 0x%02x" % (connack_reason(body), reason))
        self.assertClosed(raw, timeout)

    def assertClosed(self, raw, timeout=5.0, allow=()):
        """The broker closes the connection within timeout, sending nothing more (packet
        types in `allow` excepted)."""
        closed = raw.wait_closed(timeout)
        extra = [p for p in raw.seen if p[0] not in allow]
        self.assertTrue(closed, "connection still open after %.1fs (read %r)" % (timeout, raw.seen))
        self.assertEqual(extra, [], "broker sent packets before closing")

    def assertStillOpen(self, raw, timeout=5.0):
        """PINGREQ is answered with PINGRESP: the connection survived what came before."""
        raw.send(b"\xc0\x00")
        ptype, _, _ = raw.read_packet(timeout)
        self.assertEqual(ptype, PINGRESP)

    # -- (b) the broker still serves -------------------------------------------------
    def assertServes(self, tag=None):
        """A fresh subscriber and publisher complete a QoS 1 round trip, and the class's
        bystander connection is still there."""
        self.assertTrue(self.broker.alive(), "ferryd died:\n" + self.broker.log()[-4000:])
        self.bystander.send(b"\xc0\x00")           # PINGREQ
        self.assertEqual(self.bystander.read_packet()[0], PINGRESP,
                         "an innocent connection was affected")
        tag = tag or self.id().rsplit(".", 1)[-1]
        topic = "serves/" + tag
        sub = raw_connected(self.broker.port, "sub-" + tag, version=4)
        pub = raw_connected(self.broker.port, "pub-" + tag, version=5)
        try:
            sub.send(raw_subscribe(1, [(topic, 1)]))
            _, body = sub.expect(SUBACK)
            self.assertEqual(body, b"\x00\x01\x01")
            pub.send(raw_publish(topic, b"still-here", qos=1, mid=5, version=5))
            _, body = pub.expect(PUBACK)
            self.assertEqual(body[:2], b"\x00\x05")
            flags, body = sub.expect(PUBLISH)
            msg = parse_publish(flags, body, version=4)
            self.assertEqual((msg["topic"], msg["payload"]), (topic, b"still-here"))
            sub.send(raw_ack(PUBACK, msg["mid"]))
            sub.send(b"\xe0\x00")
            pub.send(b"\xe0\x00")
        finally:
            sub.close()
            pub.close()

    # -- (c) the log -----------------------------------------------------------------
    def assertLogged(self, *needles, timeout=5.0):
        """Some single log line contains every needle (client id, peer, reason...)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.broker.log().splitlines():
                if all(n in line for n in needles):
                    return line
            if time.monotonic() >= deadline:
                self.fail("no log line with %r; log tail:\n%s"
                          % (needles, self.broker.log()[-3000:]))
            time.sleep(0.05)


def _hex(reason):
    if isinstance(reason, (set, frozenset)):
        return "{%s}" % ", ".join("0x%02x" % r for r in sorted(reason))
    return "0x%02x" % reason


# -- MQTT 5.0 properties on raw packets -------------------------------------------------
# Property id -> value kind (5.0 2.2.2.2).
_PROP_KINDS = {
    0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "bin", 0x0B: "varint",
    0x11: "u32", 0x12: "str", 0x13: "u16", 0x15: "str", 0x16: "bin", 0x17: "byte",
    0x18: "u32", 0x19: "byte", 0x1A: "str", 0x1C: "str", 0x1F: "str", 0x21: "u16",
    0x22: "u16", 0x23: "u16", 0x24: "byte", 0x25: "byte", 0x26: "pair", 0x27: "u32",
    0x28: "byte", 0x29: "byte", 0x2A: "byte",
}


def read_varint(data, pos):
    value, mult = 0, 1
    while True:
        b = data[pos]
        pos += 1
        value += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            return value, pos


def parse_properties(data):
    """Property bytes (without their length) -> list of (id, value)."""
    out, pos = [], 0
    while pos < len(data):
        pid = data[pos]
        pos += 1
        kind = _PROP_KINDS[pid]
        if kind == "byte":
            value = data[pos]
            pos += 1
        elif kind == "u16":
            value = struct.unpack("!H", data[pos:pos + 2])[0]
            pos += 2
        elif kind == "u32":
            value = struct.unpack("!I", data[pos:pos + 4])[0]
            pos += 4
        elif kind == "varint":
            value, pos = read_varint(data, pos)
        elif kind in ("str", "bin"):
            n = struct.unpack("!H", data[pos:pos + 2])[0]
            value = data[pos + 2:pos + 2 + n]
            pos += 2 + n
        else:  # pair
            n = struct.unpack("!H", data[pos:pos + 2])[0]
            k = data[pos + 2:pos + 2 + n]
            pos += 2 + n
            m = struct.unpack("!H", data[pos:pos + 2])[0]
            value = (k, data[pos + 2:pos + 2 + m])
            pos += 2 + m
        out.append((pid, value))
    return out


def prop_u16(pid, value):
    return bytes([pid]) + struct.pack("!H", value)


def prop_u32(pid, value):
    return bytes([pid]) + struct.pack("!I", value)


def prop_str(pid, value):
    return bytes([pid]) + utf8(value)


def parse_connack_v5(body):
    """-> (session present, reason code, [(id, value)])."""
    plen, pos = read_varint(body, 2)
    return body[0] & 1, body[1], parse_properties(body[pos:pos + plen])


def parse_ack_v5(body):
    """SUBACK/UNSUBACK body -> (packet id, [(id, value)], [reason codes])."""
    mid = struct.unpack("!H", body[:2])[0]
    plen, pos = read_varint(body, 2)
    return mid, parse_properties(body[pos:pos + plen]), list(body[pos + plen:])


def publishes_before(raw, is_marker, version, limit=50):
    """Reads PUBLISH packets (acknowledging QoS 1 ones) until is_marker(msg) is true; returns
    the messages (parse_publish dicts) seen before the marker. The marker is sent after the
    packet under test on the same path, so nothing that could still arrive is missed.
    Bounded by `limit` packets and the read timeout."""
    before = []
    for _ in range(limit):
        flags, body = raw.expect(PUBLISH)
        msg = parse_publish(flags, body, version)
        if msg["qos"] == 1:
            raw.send(raw_ack(PUBACK, msg["mid"]))
        if is_marker(msg):
            return before
        before.append(msg)
    raise AssertionError("no marker in %d PUBLISH packets" % limit)


# ======================================================================================
# Durability helpers for the test_storage_*.py files: a publisher that records exactly
# which publishes the broker acknowledged, a draining subscriber, and a commit barrier.
# Every wait is bounded.
# ======================================================================================
def payload_of(tag, n, size=0):
    """b"<tag>-<n, 6 digits>" padded with '.' to `size` bytes: the number is recoverable."""
    head = b"%s-%06d" % (tag.encode(), n)
    return head + b"." * max(0, size - len(head))


def number_of(payload):
    """payload_of() -> (tag, n)."""
    head = payload.split(b".", 1)[0]
    tag, _, n = head.rpartition(b"-")
    return tag.decode(), int(n)


class AckedPublisher(threading.Thread):
    """A raw client that publishes payload_of(tag, 0..) to `topic` at one QoS as fast as
    acknowledgements come, with up to `window` publishes outstanding, until stop(), `limit`
    messages, or the connection ends. Records, in arrival order:
      acked   numbers acknowledged with a success reason (PUBACK for QoS 1, PUBREC for QoS 2:
              the point where the broker took responsibility),
      refused (number, reason code) acknowledged with a reason >= 0x80 (5.0 only),
      sent    every number put on the wire.
    `closed` is set when the broker closed the connection (or it broke)."""

    def __init__(self, port, client_id, topic, qos, tag, version=5, window=10, limit=1000000,
                 size=0, connect_properties=b"", read_timeout=5.0):
        super().__init__(daemon=True)
        self.raw = raw_connected(port, client_id, version=version, properties=connect_properties)
        self.topic, self.qos, self.tag, self.version = topic, qos, tag, version
        self.window, self.limit, self.size = window, limit, size
        self.read_timeout = read_timeout
        self.acked, self.refused, self.sent = [], [], []
        self.closed = threading.Event()
        self.error = None
        self._halt = threading.Event()
        self.cond = threading.Condition()

    def stop(self):
        self._halt.set()

    def wait_acked(self, n, timeout):
        return wait_until(self.cond, lambda: len(self.acked) >= n or self.closed.is_set(),
                          timeout) and len(self.acked) >= n

    def run(self):
        pending, releasing = {}, set()
        next_mid, n = 1, 0
        try:
            while not self._halt.is_set() and (n < self.limit or pending or releasing):
                while n < self.limit and len(pending) + len(releasing) < self.window \
                        and not self._halt.is_set():
                    while next_mid in pending or next_mid in releasing:
                        next_mid = next_mid % 65535 + 1
                    mid, next_mid = next_mid, next_mid % 65535 + 1
                    self.raw.send(raw_publish(self.topic, payload_of(self.tag, n, self.size),
                                              qos=self.qos, mid=mid, version=self.version))
                    pending[mid] = n
                    self.sent.append(n)
                    n += 1
                ptype, _, body = self.raw.read_packet(self.read_timeout)
                mid = struct.unpack("!H", body[:2])[0]
                reason = body[2] if self.version == 5 and len(body) > 2 else 0
                if ptype in (PUBACK, PUBREC) and mid in pending:
                    number = pending.pop(mid)
                    with self.cond:
                        if reason < 0x80:
                            self.acked.append(number)
                        else:
                            self.refused.append((number, reason))
                        self.cond.notify_all()
                    if ptype == PUBREC and reason < 0x80:
                        self.raw.send(raw_ack(PUBREL, mid))
                        releasing.add(mid)
                elif ptype == PUBCOMP:
                    releasing.discard(mid)
                elif ptype == DISCONNECT:
                    break
        except (EOFError, OSError) as e:   # socket.timeout is an OSError
            self.error = e
        finally:
            self.closed.set()
            with self.cond:
                self.cond.notify_all()
            self.raw.close()


def drain(raw, version, idle=1.0, limit=200000, deadline_s=20.0):
    """Reads until nothing came for `idle` seconds (or the broker closed), completing every
    flow as a well-behaved receiver: PUBACK for QoS 1, PUBREC for QoS 2, PUBCOMP for PUBREL.
    Returns the list of packets as ("PUBLISH", parse_publish dict) or ("PUBREL", mid)."""
    out = []
    deadline = time.monotonic() + deadline_s
    for _ in range(limit):
        timeout = min(idle, deadline - time.monotonic())
        if timeout <= 0:
            break
        try:
            ptype, flags, body = raw.read_packet(timeout)
        except (socket.timeout, EOFError, ConnectionResetError):
            break
        if ptype == PUBLISH:
            msg = parse_publish(flags, body, version)
            if msg["qos"] == 1:
                raw.send(raw_ack(PUBACK, msg["mid"]))
            elif msg["qos"] == 2:
                raw.send(raw_ack(PUBREC, msg["mid"]))
            out.append(("PUBLISH", msg))
        elif ptype == PUBREL:
            mid = struct.unpack("!H", body[:2])[0]
            raw.send(raw_ack(PUBCOMP, mid))
            out.append(("PUBREL", mid))
    return out


def commit_barrier(port, topic="$barrier", timeout=5.0):
    """Returns once everything the broker wrote to storage before this call is committed: a
    retained QoS 1 message is acknowledged only after its commit, and the store commits in
    the order writes were made. The retained message is cleared again afterwards."""
    t = "barrier/" + topic.strip("$/")
    raw = raw_connected(port, "barrier-%d" % os.getpid(), version=5)
    try:
        raw.send(raw_publish(t, b"b", qos=1, mid=1, retain=True, version=5))
        _, body = raw.expect(PUBACK, timeout)
        if len(body) > 2 and body[2] >= 0x80:
            raise AssertionError("barrier publish refused: 0x%02x" % body[2])
        raw.send(raw_publish(t, b"", qos=1, mid=2, retain=True, version=5))
        raw.expect(PUBACK, timeout)
        raw.send(b"\xe0\x00")
    finally:
        raw.close()
