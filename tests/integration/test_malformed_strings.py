"""Bad strings and bad topics against a real ferryd over raw TCP: ill-formed UTF-8, U+0000,
surrogates, empty topics, `$` topics, very deep topics and malformed shared subscriptions.

Every case checks (a) the answer the spec asks for, then the close (or that the connection
rightly stays open), (b) that the broker still serves, (c) that the log names the client and
the reason. The bytes are written by hand, one field per line.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (  # noqa: E402
    BadInputChecks, CONNACK, PUBACK, PUBLISH, SUBACK, DISCONNECT, parse_publish, peer_of,
    PINGRESP, publishes_before, raw_publish, raw_subscribe)


def read_until_topic(raw, topic, version):
    """Topics of the PUBLISH packets that came before the marker on `topic`."""
    return [m["topic"] for m in publishes_before(raw, lambda m: m["topic"] == topic, version)]


class Utf8Test(BadInputChecks, unittest.TestCase):
    """MQTT 5.0 section 1.5.4 / 3.1.1 section 1.5.3: UTF-8 Encoded Strings."""

    def _bad_topic_v5(self, client_id, topic_bytes):
        raw = self.connected(client_id, version=5)
        peer = peer_of(raw)
        body = (b"\x00" + bytes([len(topic_bytes)])   # topic length
                + topic_bytes                      # topic bytes (hand-made, see caller)
                + b"\x00"                          # property length 0
                + b"hi")                           # payload
        raw.send(b"\x30"                           # PUBLISH, QoS 0
                 + bytes([len(body)]) + body)      # remaining length, body
        self.assertDisconnect(raw, 0x81)           # Malformed Packet
        self.assertServes()
        self.assertLogged("client_id=" + client_id, peer, "0x81")

    def test_invalid_utf8_in_topic_v5_MQTT_1_5_4_1(self):
        # "If the Client or Server receives an MQTT Control Packet containing ill-formed UTF-8
        # it is a Malformed Packet" (1.5.4).
        self._bad_topic_v5("utf8-ff", b"a/\xff")             # 0xFF never occurs in UTF-8

    def test_overlong_utf8_in_topic_v5_MQTT_1_5_4_1(self):
        self._bad_topic_v5("utf8-overlong", b"a/\xc0\xaf")   # '/' encoded in two bytes

    def test_truncated_utf8_sequence_in_topic_v5_MQTT_1_5_4_1(self):
        self._bad_topic_v5("utf8-cut", b"a/\xe2\x82")        # 3-byte sequence, 2 bytes

    def test_code_point_above_10ffff_in_topic_v5_MQTT_1_5_4_1(self):
        self._bad_topic_v5("utf8-big", b"a/\xf4\x90\x80\x80")  # U+110000

    def test_surrogate_in_topic_v5_MQTT_1_5_4_1(self):
        # "the character data MUST NOT include encodings of code points between U+D800 and
        # U+DFFF" [MQTT-1.5.4-1].
        self._bad_topic_v5("utf8-surrogate", b"a/\xed\xa0\x80")  # U+D800 as UTF-8

    def test_nul_in_topic_v5_MQTT_1_5_4_2(self):
        # "A UTF-8 Encoded String MUST NOT include an encoding of the null character U+0000"
        # [MQTT-1.5.4-2].
        self._bad_topic_v5("utf8-nul", b"a/\x00b")

    def test_invalid_utf8_in_topic_v311_closes_MQTT_1_5_3_1(self):
        raw = self.connected("utf8-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x30"                           # PUBLISH, QoS 0
                 b"\x07"                           # remaining length 7
                 b"\x00\x03" b"a/\xff"             # topic with an 0xFF byte
                 b"hi")                            # payload
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=utf8-311", peer, "0x81")

    def test_nul_in_topic_v311_closes_MQTT_1_5_3_2(self):
        raw = self.connected("nul-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x30"                           # PUBLISH, QoS 0
                 b"\x07"                           # remaining length 7
                 b"\x00\x03" b"a\x00b"             # topic with U+0000
                 b"hi")                            # payload
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=nul-311", peer, "0x81")

    def test_surrogate_in_subscribe_filter_v5_MQTT_1_5_4_1(self):
        raw = self.connected("filter-surrogate", version=5)
        peer = peer_of(raw)
        raw.send(b"\x82"                           # SUBSCRIBE
                 b"\x09"                           # remaining length 9
                 b"\x00\x01"                       # packet id 1
                 b"\x00"                           # property length 0
                 b"\x00\x03" b"\xed\xbf\xbf"       # filter: U+DFFF as UTF-8
                 b"\x01")                          # options: QoS 1
        self.assertDisconnect(raw, 0x81)
        self.assertServes()
        self.assertLogged("client_id=filter-surrogate", peer, "0x81")

    def test_nul_in_client_id_v5_connack_0x81_MQTT_1_5_4_2(self):
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                           # CONNECT
                 b"\x10"                           # remaining length 16
                 b"\x00\x04" b"MQTT"               # protocol name
                 b"\x05"                           # protocol level 5
                 b"\x02"                           # connect flags: clean start
                 b"\x00\x3c"                       # keep alive 60
                 b"\x00"                           # property length 0
                 b"\x00\x03" b"a\x00b")            # client id with U+0000
        self.assertConnackThenClose(raw, 0x81)     # Malformed Packet
        self.assertServes()
        self.assertLogged(peer, "0x81")

    def test_nul_in_client_id_v311_closes_MQTT_1_5_3_2(self):
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                           # CONNECT
                 b"\x0f"                           # remaining length 15
                 b"\x00\x04" b"MQTT"               # protocol name
                 b"\x04"                           # protocol level 4 (3.1.1)
                 b"\x02"                           # connect flags: clean session
                 b"\x00\x3c"                       # keep alive 60
                 b"\x00\x03" b"a\x00b")            # client id with U+0000
        # "it MUST close the Network Connection" (3.1.1 1.5.3); a refusing CONNACK before
        # the close would do no harm, an accepting one would.
        self.assertClosed(raw, allow=(CONNACK,))
        for _, _, body in raw.seen:
            self.assertNotEqual(body[1], 0, "CONNECT with U+0000 in the client id accepted")
        self.assertServes()
        self.assertLogged(peer, "0x81")

    def test_surrogate_in_client_id_v5_connack_0x81_MQTT_1_5_4_1(self):
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                           # CONNECT
                 b"\x10"                           # remaining length 16
                 b"\x00\x04" b"MQTT"               # protocol name
                 b"\x05"                           # protocol level 5
                 b"\x02"                           # connect flags: clean start
                 b"\x00\x3c"                       # keep alive 60
                 b"\x00"                           # property length 0
                 b"\x00\x03" b"\xed\xa0\x80")      # client id: U+D800 as UTF-8
        self.assertConnackThenClose(raw, 0x81)
        self.assertServes()
        self.assertLogged(peer, "0x81")


class TopicTest(BadInputChecks, unittest.TestCase):
    """Topic names that crashed other brokers, and the limits on topics."""

    def test_zero_length_topic_v311_closes_CVE_2021_34432_MQTT_4_7_3_1(self):
        # "All Topic Names and Topic Filters MUST be at least one character long"
        # [MQTT-4.7.3-1]; Mosquitto crashed on this packet (CVE-2021-34432).
        raw = self.connected("empty-topic-311", version=4)
        peer = peer_of(raw)
        raw.send(b"\x30"                           # PUBLISH, QoS 0
                 b"\x04"                           # remaining length 4
                 b"\x00\x00"                       # topic length 0
                 b"hi")                            # payload
        self.assertClosed(raw)
        self.assertServes()
        self.assertLogged("client_id=empty-topic-311", peer)

    def test_zero_length_topic_qos1_v311_closes_CVE_2021_34432(self):
        raw = self.connected("empty-topic-q1", version=4)
        peer = peer_of(raw)
        raw.send(b"\x32"                           # PUBLISH, QoS 1
                 b"\x06"                           # remaining length 6
                 b"\x00\x00"                       # topic length 0
                 b"\x00\x07"                       # packet id 7
                 b"hi")                            # payload
        self.assertClosed(raw)                     # no PUBACK for it
        self.assertServes()
        self.assertLogged("client_id=empty-topic-q1", peer)

    def test_zero_length_topic_without_alias_v5_disconnect_0x82_CVE_2021_34432(self):
        # "It is a Protocol Error if the Topic Name is zero length and there is no Topic
        # Alias" (3.3.2.1).
        raw = self.connected("empty-topic-5", version=5)
        peer = peer_of(raw)
        raw.send(b"\x30"                           # PUBLISH, QoS 0
                 b"\x05"                           # remaining length 5
                 b"\x00\x00"                       # topic length 0
                 b"\x00"                           # property length 0: no Topic Alias
                 b"hi")                            # payload
        self.assertDisconnect(raw, 0x82)           # Protocol Error
        self.assertServes()
        self.assertLogged("client_id=empty-topic-5", peer, "0x82")

    def test_dollar_topic_not_sys_works_CVE_2018_12543_MQTT_4_7_2_1(self):
        # Mosquitto crashed on a PUBLISH to a `$` topic that is not $SYS (CVE-2018-12543).
        # It is an ordinary topic, except that "The Server MUST NOT match Topic Filters
        # starting with a wildcard character (# or +) with Topic Names beginning with a $
        # character" [MQTT-4.7.2-1].
        direct = self.connected("dollar-direct", version=5)
        wild = self.connected("dollar-wild", version=5)
        direct.send(raw_subscribe(1, [("$foo/bar", 1)], version=5))
        self.assertEqual(direct.expect(SUBACK)[1], b"\x00\x01" b"\x00" b"\x01")
        wild.send(raw_subscribe(1, [("#", 1), ("+/bar", 1)], version=5))
        self.assertEqual(wild.expect(SUBACK)[1], b"\x00\x01" b"\x00" b"\x01\x01")
        pub = self.connected("dollar-pub", version=5)
        pub.send(b"\x32"                           # PUBLISH, QoS 1
                 b"\x0f"                           # remaining length 15
                 b"\x00\x08" b"$foo/bar"           # topic "$foo/bar"
                 b"\x00\x01"                       # packet id 1
                 b"\x00"                           # property length 0
                 b"hi")                            # payload
        _, body = pub.expect(PUBACK)
        self.assertEqual(body[:2], b"\x00\x01")
        self.assertEqual(body[2:3] or b"\x00", b"\x00")   # Success: a subscriber matched
        flags, body = direct.expect(PUBLISH)
        msg = parse_publish(flags, body, version=5)
        self.assertEqual((msg["topic"], msg["payload"]), ("$foo/bar", b"hi"))
        pub.send(raw_publish("marker/dollar", b"m", qos=1, mid=2, version=5))
        pub.expect(PUBACK)
        self.assertEqual(read_until_topic(wild, "marker/dollar", 5), [],
                         "a leading wildcard matched a $ topic")
        self.assertServes()

    def test_publish_to_sys_refused_v5(self):
        # $SYS belongs to the broker (issue 2): a client's PUBLISH there is refused, and a
        # $SYS subscriber never sees it.
        watcher = self.connected("sys-watch", version=5)
        watcher.send(raw_subscribe(1, [("$SYS/ferry-test/#", 0), ("marker/sys", 0)], version=5))
        self.assertEqual(watcher.expect(SUBACK)[1], b"\x00\x01" b"\x00" b"\x00\x00")
        pub = self.connected("sys-pub", version=5)
        pub.send(b"\x32"                           # PUBLISH, QoS 1
                 b"\x16"                           # remaining length 22
                 b"\x00\x11" b"$SYS/ferry-test/x"  # topic "$SYS/ferry-test/x" (17 bytes)
                 b"\x00\x01"                       # packet id 1
                 b"\x00")                          # property length 0, empty payload
        _, body = pub.expect(PUBACK)
        self.assertEqual(body[:2], b"\x00\x01")
        self.assertGreaterEqual(body[2], 0x80, "PUBLISH to $SYS acknowledged as a success")
        self.assertStillOpen(pub)
        pub.send(raw_publish("marker/sys", b"m", qos=0, version=5))
        self.assertEqual(read_until_topic(watcher, "marker/sys", 5), [],
                         "a client's PUBLISH reached a $SYS subscriber")
        self.assertServes()
        self.assertLogged("client_id=sys-pub", "$SYS/ferry-test/x")

    def test_publish_to_sys_not_delivered_v311(self):
        watcher = self.connected("sys-watch-311", version=4)
        watcher.send(raw_subscribe(1, [("$SYS/ferry-test/#", 0), ("marker/sys311", 0)]))
        self.assertEqual(watcher.expect(SUBACK)[1], b"\x00\x01" b"\x00\x00")
        pub = self.connected("sys-pub-311", version=4)
        pub.send(raw_publish("$SYS/ferry-test/y", b"evil", qos=0))
        pub.send(raw_publish("marker/sys311", b"m", qos=0))
        self.assertEqual(read_until_topic(watcher, "marker/sys311", 4), [])
        self.assertStillOpen(pub)
        self.assertServes()

    def test_publish_1000_levels_refused_no_crash(self):
        # 1000 levels: Mosquitto-style recursion over levels is where stack depth ran out.
        # max_topic_levels (default 128) refuses it: 5.0 PUBACK 0x90 or DISCONNECT 0x90
        # (Topic Name invalid; either is what 4.13 allows for a packet that parses).
        topic = "/".join(["l"] * 1000)
        wild = self.connected("deep-wild", version=5)
        wild.send(raw_subscribe(1, [("#", 0)], version=5))
        wild.expect(SUBACK)
        pub = self.connected("deep-pub", version=5)
        peer = peer_of(pub)
        pub.send(raw_publish(topic, b"deep", qos=1, mid=3, version=5))
        ptype, flags, body = pub.read_packet(5.0)
        if ptype == PUBACK:
            self.assertEqual(body[:3], b"\x00\x03\x90")
        else:
            self.assertEqual(ptype, DISCONNECT)
            self.assertEqual(body[:1], b"\x90")
            self.assertClosed(pub)
        other = self.connected("deep-marker", version=5)
        other.send(raw_publish("marker/deep", b"m", qos=0, version=5))
        self.assertEqual(read_until_topic(wild, "marker/deep", 5), [],
                         "a 1000-level topic was delivered")
        self.assertServes()
        self.assertLogged("client_id=deep-pub", peer, "0x90")

    def test_publish_1000_levels_v311_no_crash(self):
        topic = "/".join(["m"] * 1000)
        pub = self.connected("deep-pub-311", version=4)
        pub.send(raw_publish(topic, b"deep", qos=0))
        # 3.1.1 cannot say why: dropping the message or the connection are both allowed.
        pub.send(b"\xc0\x00")                      # PINGREQ
        try:
            self.assertEqual(pub.read_packet(5.0)[0], PINGRESP)
        except EOFError:
            pass                                   # closed: also allowed
        self.assertServes()

    def test_topic_levels_at_the_limit_delivered(self):
        # max_topic_levels defaults to 128: a 128-level topic and filter are fine, and the
        # 129-level topic is refused (Topic Name invalid) - the boundary of the check above.
        at_limit = "/".join(["t"] * 128)
        sub = self.connected("levels-sub", version=5)
        sub.send(raw_subscribe(1, [(at_limit, 0), ("/".join(["+"] * 128), 0)], version=5))
        self.assertEqual(sub.expect(SUBACK)[1], b"\x00\x01" b"\x00" b"\x00\x00")
        pub = self.connected("levels-pub", version=5)
        pub.send(raw_publish(at_limit, b"deep-ok", qos=1, mid=1, version=5))
        self.assertEqual(pub.expect(PUBACK)[1][:2], b"\x00\x01")
        flags, body = sub.expect(PUBLISH)
        self.assertEqual(parse_publish(flags, body, 5)["payload"], b"deep-ok")
        pub.send(raw_publish(at_limit + "/t", b"too-deep", qos=1, mid=2, version=5))
        ptype, _, body = pub.read_packet()
        if ptype == PUBACK:
            self.assertEqual(body[:3], b"\x00\x02\x90")
        else:
            self.assertEqual((ptype, body[:1]), (DISCONNECT, b"\x90"))

    def test_topic_of_65535_bytes_no_crash_1_5_4(self):
        # The longest UTF-8 Encoded String (1.5.4: up to 65,535 bytes) as a topic name and as
        # a filter: delivered like any other.
        topic = "L" * 65535
        sub = self.connected("long-sub", version=5)
        sub.send(raw_subscribe(1, [(topic, 0)], version=5))
        self.assertEqual(sub.expect(SUBACK)[1], b"\x00\x01" b"\x00" b"\x00")
        pub = self.connected("long-pub", version=5)
        pub.send(raw_publish(topic, b"long", qos=1, mid=1, version=5))
        self.assertEqual(pub.expect(PUBACK)[1][:2], b"\x00\x01")
        flags, body = sub.expect(PUBLISH)
        msg = parse_publish(flags, body, 5)
        self.assertEqual((len(msg["topic"]), msg["payload"]), (65535, b"long"))
        self.assertServes()

    def test_subscribe_1000_levels_refused_0x8f(self):
        deep = "/".join(["+"] * 999 + ["#"])
        raw = self.connected("deep-sub", version=5)
        raw.send(raw_subscribe(4, [(deep, 1), ("ok/deep", 1)], version=5))
        _, body = raw.expect(SUBACK)
        self.assertEqual(body, b"\x00\x04"         # packet id 4
                               b"\x00"             # property length 0
                               b"\x8f"             # deep filter: Topic Filter invalid
                               b"\x01")            # ok/deep: granted QoS 1
        self.assertStillOpen(raw)
        self.assertServes()

    def test_subscribe_1000_levels_v311_failure_0x80(self):
        deep = "/".join(["n"] * 1000)
        raw = self.connected("deep-sub-311", version=4)
        raw.send(raw_subscribe(4, [(deep, 0)]))
        _, body = raw.expect(SUBACK)
        self.assertEqual(body, b"\x00\x04" b"\x80")  # 0x80 Failure (3.1.1 section 3.9.3)
        self.assertStillOpen(raw)
        self.assertServes()

    def test_share_without_filter_refused_NanoMQ_CVE_2025_68699_MQTT_4_8_2_2(self):
        # "The ShareName MUST NOT contain the characters "/", "+" or "#", but MUST be followed
        # by a "/" character. This "/" character MUST be followed by a Topic Filter"
        # [MQTT-4.8.2-2]. NanoMQ crashed on `$share/ab` followed by a matching PUBLISH.
        raw = self.connected("share-bad", version=5)
        raw.send(raw_subscribe(6, [("$share/ab", 1),       # no second "/", no filter
                                   ("$share/ab/", 1),      # empty filter
                                   ("$share//x", 1),       # empty share name
                                   ("$share/a+/x", 1),     # wildcard in the share name
                                   ("$share/g/ok", 1)],    # well-formed
                                  version=5))
        _, body = raw.expect(SUBACK)
        self.assertEqual(body, b"\x00\x06"                  # packet id 6
                               b"\x00"                      # property length 0
                               b"\x8f\x8f\x8f\x8f"          # Topic Filter invalid x4
                               b"\x01")                     # granted QoS 1
        pub = self.connected("share-pub", version=5)
        pub.send(raw_publish("ab", b"x", qos=1, mid=1, version=5))
        _, body = pub.expect(PUBACK)
        self.assertEqual(body[:2], b"\x00\x01")
        pub.send(raw_publish("$share/ab", b"x", qos=1, mid=2, version=5))
        _, body = pub.expect(PUBACK)
        self.assertEqual(body[:2], b"\x00\x02")
        pub.send(raw_publish("ok", b"shared", qos=1, mid=3, version=5))
        pub.expect(PUBACK)
        flags, body = raw.expect(PUBLISH)                  # the valid share still works
        self.assertEqual(parse_publish(flags, body, 5)["payload"], b"shared")
        self.assertStillOpen(raw)
        self.assertStillOpen(pub)
        self.assertServes()


class SysWillTest(BadInputChecks, unittest.TestCase):
    """$SYS is the broker's (issue 2): a client cannot write there by PUBLISH (TopicTest), nor
    by a will. [sys] interval = 1 gives a clock: $SYS/broker/uptime every second."""

    BROKER_TOML = "[sys]\ninterval = 1\n"

    def _sys_topics_until_uptime(self, raw, count):
        """$SYS/ferry-test topics seen before `count` $SYS/broker/uptime messages."""
        seen = []
        for _ in range(count):
            seen += [m["topic"] for m in publishes_before(
                raw, lambda m: m["topic"] == "$SYS/broker/uptime", 5, limit=200)
                if m["topic"].startswith("$SYS/ferry-test")]
        return seen

    def test_will_topic_in_sys_not_published(self):
        watcher = self.connected("syswill-watch", version=5)
        watcher.send(raw_subscribe(1, [("$SYS/ferry-test/#", 0), ("$SYS/broker/uptime", 0)],
                                   version=5))
        watcher.expect(SUBACK)
        raw = self.raw_client()
        peer = peer_of(raw)
        raw.send(b"\x10"                             # CONNECT
                 b"\x35"                             # remaining length 53
                 b"\x00\x04" b"MQTT"                 # protocol name
                 b"\x05"                             # protocol level 5
                 b"\x26"                             # flags: will retain, will QoS 0, clean
                 b"\x00\x3c"                         # keep alive 60
                 b"\x00"                             # property length 0
                 b"\x00\x07" b"syswill"              # client id "syswill"
                 b"\x00"                             # will property length 0
                 b"\x00\x14" b"$SYS/ferry-test/will"  # will topic in $SYS (20 bytes)
                 b"\x00\x08" b"injected")            # will payload
        _, body = raw.expect(CONNACK)
        if body[1] >= 0x80:                          # refusing the CONNECT is one answer
            self.assertIn(body[1], (0x87, 0x90))     # Not authorized / Topic Name invalid
            self.assertClosed(raw)
            self.assertLogged(peer)
        else:                                        # dropping the will is the other
            raw.close()                              # abnormal close: the will is due now
            self.assertTrue(self.broker.wait_for_log("client_disconnected client_id=syswill "))
            self.assertEqual(self._sys_topics_until_uptime(watcher, 2), [],
                             "a client's will was published into $SYS")
        late = self.connected("syswill-late", version=5)
        late.send(raw_subscribe(1, [("$SYS/ferry-test/#", 0), ("$SYS/broker/uptime", 0)],
                                version=5))
        late.expect(SUBACK)
        self.assertEqual(self._sys_topics_until_uptime(late, 1), [],
                         "a client's will was retained in $SYS")
        self.assertServes()


if __name__ == "__main__":
    unittest.main()
