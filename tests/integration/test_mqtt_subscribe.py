"""SUBSCRIBE/UNSUBSCRIBE against a real ferryd: wildcards, overlapping subscriptions,
$-topics, invalid filters, replacement, UNSUBACK reason codes."""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import (CONNACK, SUBACK, UNSUBACK, BrokerTestCase, packet,  # noqa: E402
                           props, raw_connect, raw_subscribe, utf8)

TOPICS = ["a", "a/b", "a/b/c", "a/b/c/d", "a//c", "a/x/c", "b/b/c", "/a/b"]


class Wildcards(BrokerTestCase):
    def _matches(self, version):
        """Each filter gets exactly the topics 4.7.1 says it matches."""
        expected = {
            "a/+/c": {"a/b/c", "a//c", "a/x/c"},
            "a/#": {"a", "a/b", "a/b/c", "a/b/c/d", "a//c", "a/x/c"},  # '#' matches the parent
            "+/b/c": {"a/b/c", "b/b/c"},
            "+": {"a"},
            "#": set(TOPICS),
            "+/+": {"a/b"},
            "/+/b": {"/a/b"},
            "a/b/c/#": {"a/b/c", "a/b/c/d"},
            "+/#": set(TOPICS),
        }
        subs = {}
        for i, f in enumerate(expected):
            s = self.connected("w%d-v%d" % (i, version), version)
            self.assertEqual(s.subscribe(f, 1), [1], "filter %r" % f)
            subs[f] = s
        p = self.connected("wpub-v%d" % version, version)
        for t in TOPICS:
            p.publish(t, t.encode(), 1)
        marker = self.connected("wmark-v%d" % version, version)
        for f, s in subs.items():
            n = len(expected[f])
            self.assertTrue(s.wait_messages(n, 5.0), "%r got %d of %d" % (f, len(s.messages), n))
            s.wait(lambda: len(s.messages) > n, 0.2)
            self.assertEqual(sorted(m.topic for m in s.messages), sorted(expected[f]),
                             "filter %r" % f)
        del marker

    def test_v311_single_and_multi_level_wildcards_MQTT_4_7_1(self):
        """3.1.1 4.7.1.2/4.7.1.3: '#' matches the parent and any number of levels, '+' exactly
        one level (including an empty one)."""
        self._matches(4)

    def test_v5_single_and_multi_level_wildcards_MQTT_4_7_1(self):
        self._matches(5)


class Overlapping(BrokerTestCase):
    def test_v5_overlap_one_copy_max_qos_all_subscription_ids_MQTT_3_3_4_2_and_4(self):
        """5.0 MQTT-3.3.4-2: overlapping subscriptions -> delivered respecting the maximum QoS of
        all matching subscriptions; MQTT-3.3.4-4: a single copy carries the Subscription
        Identifiers of all matching subscriptions. Ferry (issue 2) sends one copy."""
        s = self.connected("ovl", 5)
        s.subscribe("ov/#", 1, properties=props("SUBSCRIBE", SubscriptionIdentifier=1))
        s.subscribe("ov/+", 2, properties=props("SUBSCRIBE", SubscriptionIdentifier=2))
        s.subscribe("ov/x", 0, properties=props("SUBSCRIBE", SubscriptionIdentifier=3))
        p = self.connected("ovp", 5)
        p.publish("ov/x", b"m", 2)
        self.assertTrue(s.wait_messages(1, 5.0))
        s.wait(lambda: len(s.messages) > 1, 0.5)
        self.assertEqual(len(s.messages), 1, "expected one copy")
        m = s.messages[0]
        self.assertEqual(m.qos, 2)
        ids = getattr(m.properties, "SubscriptionIdentifier", [])
        self.assertEqual(sorted(ids), [1, 2, 3])

    def test_v5_subscription_id_only_from_matching_subscriptions_MQTT_3_3_4_3(self):
        """5.0 MQTT-3.3.4-3: the identifiers sent are those of the matching subscriptions only; a
        subscription without an identifier contributes none."""
        s = self.connected("ovl2", 5)
        s.subscribe("id/a", 1, properties=props("SUBSCRIBE", SubscriptionIdentifier=7))
        s.subscribe("id/b", 1, properties=props("SUBSCRIBE", SubscriptionIdentifier=8))
        s.subscribe("id/c", 1)
        p = self.connected("ovp2", 5)
        p.publish("id/a", b"1", 1)
        p.publish("id/c", b"3", 1)
        self.assertTrue(s.wait_messages(2, 5.0))
        self.assertEqual(getattr(s.messages[0].properties, "SubscriptionIdentifier", None), [7])
        self.assertIsNone(getattr(s.messages[1].properties, "SubscriptionIdentifier", None))

    def test_v311_overlap_delivered_with_max_qos_MQTT_3_3_5_1(self):
        """3.1.1 MQTT-3.3.5-1: overlapping subscriptions -> the Server MUST deliver respecting the
        maximum QoS of all matching subscriptions."""
        s = self.connected("ovl3", 4)
        s.subscribe("ov3/#", 0)
        s.subscribe("ov3/+", 2)
        p = self.connected("ovp3", 4)
        p.publish("ov3/x", b"m", 2)
        self.assertTrue(s.wait_messages(1, 5.0))
        s.wait(lambda: len(s.messages) > 1, 0.3)
        self.assertIn(2, [m.qos for m in s.messages])

    def test_resubscribe_replaces_subscription_MQTT_3_8_4_3(self):
        """3.1.1/5.0 MQTT-3.8.4-3: an identical Topic Filter replaces the existing subscription
        (new QoS, one copy of each message)."""
        for version in (4, 5):
            s = self.connected("resub%d" % version, version)
            s.subscribe("re/t", 0)
            s.subscribe("re/t", 2)
            p = self.connected("repub%d" % version, version)
            p.publish("re/t", b"x", 2)
            self.assertTrue(s.wait_messages(1, 5.0))
            s.wait(lambda: len(s.messages) > 1, 0.3)
            self.assertEqual([(m.payload, m.qos) for m in s.messages], [(b"x", 2)])

    def test_v5_resubscribe_without_identifier_drops_it_3_8_2_1_2(self):
        """5.0 3.8.2.1.2: the Subscription Identifier is associated with the subscription created
        or modified by the SUBSCRIBE; re-subscribing the same filter without one replaces the
        subscription (MQTT-3.8.4-3), so later messages carry no identifier."""
        s = self.connected("sidrep", 5)
        s.subscribe("sr/t", 1, properties=props("SUBSCRIBE", SubscriptionIdentifier=3))
        s.subscribe("sr/t", 1)
        p = self.connected("sidrep-pub", 5)
        p.publish("sr/t", b"x", 1)
        self.assertTrue(s.wait_messages(1, 5.0))
        self.assertIsNone(getattr(s.messages[0].properties, "SubscriptionIdentifier", None))

    def test_v5_no_local_on_one_of_overlapping_subscriptions_MQTT_3_8_3_3(self):
        """5.0 MQTT-3.8.3-3 is per subscription: own message, "nl/#" with No Local and "nl/t"
        without -> the client still gets it (through "nl/t"), once, with the identifier of
        "nl/t" only (MQTT-3.3.4-3)."""
        from paho.mqtt.subscribeoptions import SubscribeOptions
        me = self.connected("nlo", 5)
        me.subscribe("nlo/#", options=SubscribeOptions(qos=1, noLocal=True),
                     properties=props("SUBSCRIBE", SubscriptionIdentifier=1))
        me.subscribe("nlo/t", 1, properties=props("SUBSCRIBE", SubscriptionIdentifier=2))
        me.publish("nlo/t", b"mine", 1)
        self.assertTrue(me.wait_messages(1, 5.0), "own message lost although 'nlo/t' allows it")
        me.wait(lambda: len(me.messages) > 1, 0.3)
        self.assertEqual(len(me.messages), 1)
        self.assertEqual(getattr(me.messages[0].properties, "SubscriptionIdentifier", None), [2])

    def test_utf8_topics_match_MQTT_4_7_3(self):
        """4.7.3: topics are UTF-8, case-sensitive, may contain spaces; '+' matches a multi-byte
        level."""
        s = self.connected("utf", 5)
        s.subscribe("ünï/+/日本", 1)
        p = self.connected("utf-pub", 4)
        for t in ("ünï/a b/日本", "ünï/ç/日本", "Ünï/x/日本", "ünï/x/日本/more"):
            p.publish(t, t.encode("utf-8"), 1)
        self.assertTrue(s.wait_messages(2, 5.0))
        s.wait(lambda: len(s.messages) > 2, 0.3)
        self.assertEqual([m.topic for m in s.messages], ["ünï/a b/日本", "ünï/ç/日本"])

    def test_no_unicode_normalization_in_matching_MQTT_4_7_3_4(self):
        """MQTT-4.7.3-4: the Server MUST NOT normalize Topic Names or Filters when matching:
        "é" as U+00E9 and as "e" + U+0301 are different topics."""
        s = self.connected("norm", 5)
        s.subscribe("norm/\u00e9", 1)
        p = self.connected("norm-pub", 5)
        p.publish("norm/e\u0301", b"decomposed", 1)
        p.publish("norm/\u00e9", b"precomposed", 1)
        self.assertTrue(s.wait_messages(1, 5.0))
        s.wait(lambda: len(s.messages) > 1, 0.3)
        self.assertEqual([m.payload for m in s.messages], [b"precomposed"])


class DollarTopics(BrokerTestCase):
    BROKER_TOML = "[sys]\ninterval = 1\n"

    def test_dollar_topics_not_matched_by_leading_wildcards_MQTT_4_7_2_1(self):
        """3.1.1/5.0 MQTT-4.7.2-1: Topic Filters starting with '#' or '+' MUST NOT match Topic Names
        beginning with '$'. $SYS/# itself does match (with [sys] interval = 1)."""
        hash_ = self.connected("hash", 5)
        hash_.subscribe("#", 0)
        plus = self.connected("plus", 5)
        plus.subscribe("+/broker/#", 0)
        sys_ = self.connected("sys", 5)
        sys_.subscribe("$SYS/#", 0)
        self.assertTrue(sys_.wait_messages(1, 4.0), "no $SYS message arrived at all")
        # Give a second $SYS round time to reach the others too.
        sys_.wait(lambda: len(sys_.messages) > 0 and False, 1.2)
        self.assertEqual([m.topic for m in hash_.messages if m.topic.startswith("$")], [])
        self.assertEqual([m.topic for m in plus.messages], [])


class InvalidFilters(BrokerTestCase):
    BAD = ["a/#/b", "a+", "a/b#", "#a", "+a/b", "a/+b"]

    def test_v5_invalid_filters_get_0x8F_MQTT_3_9_3(self):
        """5.0 3.9.3: SUBACK reason 0x8F (Topic Filter invalid) for a filter that breaks 4.7.1
        (MQTT-4.7.1-1/-2), one reason code per filter in order (MQTT-3.9.3-1); a valid filter in
        the same SUBSCRIBE is still granted."""
        r = self.raw()
        r.send(raw_connect("bad5", version=5))
        r.expect(CONNACK)
        r.send(raw_subscribe(3, [(f, 1) for f in self.BAD] + [("ok/+", 1)], version=5))
        flags, body = r.expect(SUBACK)
        self.assertEqual(body[:2], b"\x00\x03")
        plen = body[2]
        codes = list(body[3 + plen:])
        self.assertEqual(codes, [0x8F] * len(self.BAD) + [1])

    def test_v311_invalid_filters_get_0x80_MQTT_3_9_3(self):
        """3.1.1 3.9.3: return code 0x80 (Failure) for a filter that is not valid."""
        r = self.raw()
        r.send(raw_connect("bad4", version=4))
        r.expect(CONNACK)
        r.send(raw_subscribe(4, [(f, 0) for f in self.BAD] + [("ok/#", 2)]))
        flags, body = r.expect(SUBACK)
        self.assertEqual(body, b"\x00\x04" + b"\x80" * len(self.BAD) + b"\x02")

    def test_many_filters_in_one_subscribe_MQTT_3_8_4_5_and_3_9_3_1(self):
        """3.1.1/5.0 MQTT-3.8.4-5 (one SUBSCRIBE with several filters is handled as a sequence of
        subscriptions) and MQTT-3.9.3-1 (one return code per filter, same order): 60 filters with
        QoS 0,1,2 in turn, one of them invalid."""
        filters = [("many/%d" % i, i % 3) for i in range(60)]
        filters[30] = ("many/#/bad", 1)
        r = self.raw()
        r.send(raw_connect("many", version=4))
        r.expect(CONNACK)
        r.send(raw_subscribe(7, filters))
        flags, body = r.expect(SUBACK)
        expected = bytes(0x80 if i == 30 else i % 3 for i in range(60))
        self.assertEqual(body, b"\x00\x07" + expected)


class Unsubscribe(BrokerTestCase):
    def test_v5_unsuback_success_and_no_subscription_existed_0x11_MQTT_3_11_3(self):
        """5.0 3.11.3: UNSUBACK carries 0x00 for a removed subscription and 0x11 (No subscription
        existed) for one that did not exist, in order (MQTT-3.11.3-1)."""
        r = self.raw()
        r.send(raw_connect("uns5", version=5))
        r.expect(CONNACK)
        r.send(raw_subscribe(1, [("u/a", 1)], version=5))
        r.expect(SUBACK)
        body = b"\x00\x09\x00" + utf8("u/a") + utf8("u/none")
        r.send(packet(10, 2, body))
        flags, body = r.expect(UNSUBACK)
        self.assertEqual(body[:2], b"\x00\x09")
        plen = body[2]
        self.assertEqual(list(body[3 + plen:]), [0x00, 0x11])

    def test_v311_unsuback_even_without_subscription_MQTT_3_10_4_5(self):
        """3.1.1 MQTT-3.10.4-5: the Server MUST respond to UNSUBSCRIBE with UNSUBACK even if no
        Topic Filters were removed; the UNSUBACK has the same Packet Identifier (MQTT-3.10.4-4)."""
        r = self.raw()
        r.send(raw_connect("uns4", version=4))
        r.expect(CONNACK)
        r.send(packet(10, 2, b"\x12\x34" + utf8("never/subscribed")))
        flags, body = r.expect(UNSUBACK)
        self.assertEqual(body, b"\x12\x34")

    def test_unsubscribe_stops_delivery_MQTT_3_10_4_2(self):
        """MQTT-3.10.4-2: after UNSUBSCRIBE the Server MUST stop adding new messages for that
        filter; the other subscription keeps receiving."""
        s = self.connected("uns", 5)
        s.subscribe("us/a", 1)
        s.subscribe("us/b", 1)
        self.assertEqual(s.unsubscribe("us/a"), [0])
        p = self.connected("unsp", 5)
        p.publish("us/a", b"no", 1)
        p.publish("us/b", b"yes", 1)
        self.assertTrue(s.wait_messages(1, 5.0))
        s.wait(lambda: len(s.messages) > 1, 0.3)
        self.assertEqual([m.payload for m in s.messages], [b"yes"])


if __name__ == "__main__":
    unittest.main()
