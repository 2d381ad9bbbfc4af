"""Retained messages against a real ferryd: store, replace, clear, delivery on subscribe with
RETAIN=1, retain handling 0/1/2 and retain as published (MQTT 3.1.1 3.3.1.3, 5.0 3.3.1.3 and
3.8.3.1)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import BrokerTestCase  # noqa: E402


def opts(qos, retain_handling=0, rap=False, no_local=False):
    from paho.mqtt.subscribeoptions import SubscribeOptions
    return SubscribeOptions(qos=qos, noLocal=no_local, retainAsPublished=rap,
                            retainHandling=retain_handling)


class Retained(BrokerTestCase):
    def _late(self, name, topic, qos=1, version=5, expect=1, timeout=5.0):
        s = self.connected(name, version)
        s.subscribe(topic, qos)
        if expect:
            self.assertTrue(s.wait_messages(expect, timeout), "%s got %d retained, wanted %d"
                            % (name, len(s.messages), expect))
        s.wait(lambda: len(s.messages) > expect, 0.3)
        return s

    def test_retained_delivered_to_new_subscriber_with_retain_1_MQTT_3_3_1_6_and_3_3_1_8(self):
        """3.1.1 MQTT-3.3.1-5/-8, 5.0 MQTT-3.3.1-5/-9: a retained message is stored and sent to a
        new matching subscription with the RETAIN flag set to 1."""
        for version in (4, 5):
            p = self.connected("rp%d" % version, version)
            p.publish("ret/v%d" % version, b"kept", 1, retain=True)
            s = self._late("rs%d" % version, "ret/v%d" % version, version=version)
            self.assertEqual([(m.topic, m.payload, m.retain) for m in s.messages],
                             [("ret/v%d" % version, b"kept", True)])

    def test_established_subscription_gets_retain_0_MQTT_3_3_1_9(self):
        """3.1.1 MQTT-3.3.1-9: a message forwarded to an established subscription has RETAIN 0,
        however the publisher set it (5.0 same with Retain As Published 0, MQTT-3.3.1-12)."""
        for version in (4, 5):
            s = self.connected("est%d" % version, version)
            s.subscribe("est/t%d" % version, 1)
            p = self.connected("estp%d" % version, version)
            p.publish("est/t%d" % version, b"live", 1, retain=True)
            self.assertTrue(s.wait_messages(1, 5.0))
            self.assertFalse(s.messages[0].retain)

    def test_retained_replaced_by_newer_MQTT_3_3_1_5(self):
        """MQTT-3.3.1-5: the new retained message replaces any existing one for that topic; a
        QoS 0 retained message also replaces (3.1.1 MQTT-3.3.1-7)."""
        p = self.connected("rep", 5)
        p.publish("rep/t", b"first", 1, retain=True)
        p.publish("rep/t", b"second", 2, retain=True)
        p.publish("rep/t", b"third", 0, retain=True)
        p.publish("rep/u", b"other", 1, retain=True)  # a QoS 1 flow after the QoS 0 one
        s = self._late("reps", "rep/t", qos=2)
        self.assertEqual([m.payload for m in s.messages], [b"third"])
        self.assertEqual(s.messages[0].qos, 0, "delivered at min(retained QoS 0, granted 2)")

    def test_empty_payload_clears_and_is_still_forwarded_MQTT_3_3_1_10_and_11(self):
        """3.1.1 MQTT-3.3.1-10/-11, 5.0 MQTT-3.3.1-6/-7: a retained PUBLISH with a zero-byte payload
        is forwarded as normal, removes the retained message, and is not itself stored."""
        live = self.connected("live", 5)
        live.subscribe("clr/t", 1)
        p = self.connected("clrp", 5)
        p.publish("clr/t", b"x", 1, retain=True)
        p.publish("clr/t", b"", 1, retain=True)
        self.assertTrue(live.wait_messages(2, 5.0), "the empty retained publish was not forwarded")
        self.assertEqual(live.messages[1].payload, b"")
        p.publish("clr/other", b"y", 1, retain=True)
        s = self._late("clrs", "clr/#", expect=1)
        self.assertEqual([m.topic for m in s.messages], ["clr/other"])

    def test_wildcard_subscription_gets_every_matching_retained(self):
        """3.3.1.3: retained messages are sent for every matching Topic Name of a new
        subscription, including wildcard ones; $-topics are not matched by '#' (MQTT-4.7.2-1)."""
        p = self.connected("wp", 5)
        for t in ("wr/a", "wr/b/c", "wr", "other/x"):
            p.publish(t, t.encode(), 1, retain=True)
        s = self._late("ws", "wr/#", expect=3)
        self.assertEqual(sorted(m.topic for m in s.messages), ["wr", "wr/a", "wr/b/c"])
        self.assertTrue(all(m.retain for m in s.messages))

    def test_v5_retain_handling_0_sends_on_every_subscribe_MQTT_3_3_1_9(self):
        """5.0 MQTT-3.3.1-9: Retain Handling 0 -> retained messages are sent whenever a
        subscribe is made, including a re-subscribe (3.1.1 MQTT-3.8.4-3 says the same)."""
        p = self.connected("rh0p", 5)
        p.publish("rh0/t", b"r", 1, retain=True)
        s = self.connected("rh0", 5)
        s.subscribe("rh0/t", options=opts(1, 0))
        self.assertTrue(s.wait_messages(1, 5.0))
        s.subscribe("rh0/t", options=opts(1, 0))
        self.assertTrue(s.wait_messages(2, 5.0), "re-subscribe with RH 0 did not resend")

    def test_v5_retain_handling_1_only_for_new_subscription_MQTT_3_3_1_10(self):
        """5.0 MQTT-3.3.1-10: Retain Handling 1 -> retained messages are sent only if the
        subscription did not already exist."""
        p = self.connected("rh1p", 5)
        p.publish("rh1/t", b"r", 1, retain=True)
        s = self.connected("rh1", 5)
        s.subscribe("rh1/t", options=opts(1, 1))
        self.assertTrue(s.wait_messages(1, 5.0), "new subscription with RH 1 got no retained")
        s.subscribe("rh1/t", options=opts(1, 1))
        self.assertFalse(s.wait_messages(2, 0.8), "existing subscription with RH 1 got it again")

    def test_v5_retain_handling_2_never_sends_MQTT_3_3_1_11(self):
        """5.0 MQTT-3.3.1-11: Retain Handling 2 -> no retained messages at subscribe time; live
        messages still flow."""
        p = self.connected("rh2p", 5)
        p.publish("rh2/t", b"r", 1, retain=True)
        s = self.connected("rh2", 5)
        s.subscribe("rh2/t", options=opts(1, 2))
        p.publish("rh2/t", b"live", 1)
        self.assertTrue(s.wait_messages(1, 5.0))
        s.wait(lambda: len(s.messages) > 1, 0.3)
        self.assertEqual([m.payload for m in s.messages], [b"live"])

    def test_v5_retain_as_published_MQTT_3_3_1_12_and_13(self):
        """5.0 MQTT-3.3.1-12: RAP 0 -> forwarded with RETAIN 0; MQTT-3.3.1-13: RAP 1 -> RETAIN as
        the publisher set it."""
        keep = self.connected("rap1", 5)
        keep.subscribe("rap/t", options=opts(1, 2, rap=True))
        drop = self.connected("rap0", 5)
        drop.subscribe("rap/t", options=opts(1, 2, rap=False))
        p = self.connected("rapp", 5)
        p.publish("rap/t", b"a", 1, retain=True)
        p.publish("rap/t", b"b", 1, retain=False)
        self.assertTrue(keep.wait_messages(2, 5.0))
        self.assertTrue(drop.wait_messages(2, 5.0))
        self.assertEqual([m.retain for m in keep.messages], [True, False])
        self.assertEqual([m.retain for m in drop.messages], [False, False])

    def test_retained_survives_publisher_disconnect(self):
        """The retained message belongs to the topic, not to the publisher's session."""
        p = self.connected("gone", 4)
        p.publish("keep/t", b"v", 2, retain=True)
        p.disconnect()
        s = self._late("after", "keep/t", qos=2, version=4)
        self.assertEqual((s.messages[0].payload, s.messages[0].qos), (b"v", 2))


if __name__ == "__main__":
    unittest.main()
