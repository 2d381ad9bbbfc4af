"""$events/... as rule sources through a real ferryd, with EMQX's event and field names
(docs.emqx.com, "Data Sources and Fields"): client_connected, client_disconnected,
session_subscribed, session_unsubscribed, message_delivered, message_acked, message_dropped.
A rule republishes each event (SELECT *) to a topic a test client reads, so every field the
broker gave the rule is visible.
"""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferry_harness import props  # noqa: E402
from rules_support import RulesTestCase  # noqa: E402

CLIENT_EVENTS = r'''
[[rule]]
name = "lifecycle"
sql = """
SELECT * FROM "$events/client_connected", "$events/client_disconnected",
              "$events/session_subscribed", "$events/session_unsubscribed"
"""
actions = [{ type = "republish", topic = "ev/${event}/${clientid}" }]
'''

MESSAGE_EVENTS = r'''
[[rule]]
name = "audit"
sql = """
SELECT * FROM "$events/message_delivered", "$events/message_acked", "$events/message_dropped"
WHERE topic =~ 'data/#'
"""
actions = [{ type = "republish", topic = "audit/${event}" }]
'''

ID = re.compile(r"^[0-9A-F]{16}$")


class ClientEvents(RulesTestCase):
    RULES = {"events.toml": CLIENT_EVENTS}

    def test_connect_subscribe_unsubscribe_disconnect(self):
        obs = self.connected("observer")
        obs.subscribe("ev/+/evc", 0)
        c = self.connected("evc", username="alice", keepalive=30)
        port = c.client.socket().getsockname()[1]
        c.subscribe("a/+/b", 1)
        c.unsubscribe("a/+/b")
        c.disconnect()
        got = self.wait_on(obs, "ev/", 4)
        by = {m.topic: self.js(m) for m in got}
        node = by["ev/client.connected/evc"]["node"]
        self.assertTrue(node.startswith("ferry@"), node)

        con = by["ev/client.connected/evc"]
        self.assertEqual(set(con), {"clientid", "username", "peername", "sockname", "proto_name",
                                    "proto_ver", "keepalive", "clean_start", "receive_maximum",
                                    "expiry_interval", "is_bridge", "conn_props",
                                    "connected_at", "timestamp", "event", "node"})
        self.assertEqual({k: con[k] for k in ["clientid", "username", "peername", "sockname",
                                               "proto_name", "proto_ver", "keepalive",
                                               "clean_start", "receive_maximum",
                                               "expiry_interval", "is_bridge", "conn_props",
                                               "event"]},
                         {"clientid": "evc", "username": "alice",
                          "peername": "127.0.0.1:%d" % port,
                          "sockname": "127.0.0.1:%d" % self.broker.port, "proto_name": "MQTT",
                          "proto_ver": 5, "keepalive": 30, "clean_start": True,
                          "receive_maximum": 65535, "expiry_interval": 0, "is_bridge": False,
                          "conn_props": {}, "event": "client.connected"})
        self.assertIsInstance(con["connected_at"], int)
        self.assertIsInstance(con["timestamp"], int)

        sub = by["ev/session.subscribed/evc"]
        self.assertEqual({k: v for k, v in sub.items() if k != "timestamp"},
                         {"clientid": "evc", "username": "alice", "peerhost": "127.0.0.1",
                          "topic": "a/+/b", "qos": 1, "event": "session.subscribed",
                          "node": node})
        unsub = by["ev/session.unsubscribed/evc"]
        self.assertEqual({k: v for k, v in unsub.items() if k != "timestamp"},
                         {"clientid": "evc", "username": "alice", "peerhost": "127.0.0.1",
                          "topic": "a/+/b", "event": "session.unsubscribed", "node": node})

        dis = by["ev/client.disconnected/evc"]
        self.assertEqual(set(dis), {"clientid", "username", "peername", "sockname", "proto_name",
                                    "proto_ver", "reason", "disconn_props", "disconnected_at",
                                    "timestamp", "event", "node"})
        self.assertEqual({k: dis[k] for k in ["clientid", "username", "reason", "peername",
                                               "sockname", "proto_name", "proto_ver",
                                               "disconn_props"]},
                         {"clientid": "evc", "username": "alice", "reason": "normal",
                          "peername": "127.0.0.1:%d" % port,
                          "sockname": "127.0.0.1:%d" % self.broker.port, "proto_name": "MQTT",
                          "proto_ver": 5, "disconn_props": {}})
        self.assertGreaterEqual(dis["disconnected_at"], con["connected_at"])

    def test_conn_props_and_disconn_props(self):
        """An MQTT 5 client's CONNECT and DISCONNECT properties reach the events as EMQX's
        conn_props and disconn_props: the specification's property names, 'User-Property' a
        map."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.reasoncodes import ReasonCodes
        obs = self.connected("observer")
        obs.subscribe("ev/+/propc", 0)
        c = self.connected("propc", properties=props(
            "CONNECT", SessionExpiryInterval=30, ReceiveMaximum=10,
            UserProperty=[("site", "north")]))
        c.disconnect(reasoncode=ReasonCodes(PacketTypes.DISCONNECT, identifier=0),
                     properties=props("DISCONNECT", ReasonString="bye",
                                      UserProperty=[("why", "done")]))
        got = self.wait_on(obs, "ev/", 2)
        by = {m.topic: self.js(m) for m in got}
        con = by["ev/client.connected/propc"]
        self.assertEqual(con["conn_props"], {"Session-Expiry-Interval": 30,
                                             "Receive-Maximum": 10,
                                             "User-Property": {"site": "north"}})
        self.assertEqual((con["expiry_interval"], con["receive_maximum"]), (30, 10))
        dis = by["ev/client.disconnected/propc"]
        self.assertEqual(dis["disconn_props"], {"Reason-String": "bye",
                                                "User-Property": {"why": "done"}})
        self.assertEqual((dis["reason"], dis["sockname"]),
                         ("normal", "127.0.0.1:%d" % self.broker.port))

    def test_sockname_when_the_client_vanishes_and_over_websocket(self):
        """sockname is the listener's address and port the client reached, also when the
        client went without DISCONNECT (the broker learns it after the socket closed) and for
        MQTT over WebSocket."""
        from ferry_harness import raw_connected
        obs = self.connected("observer")
        obs.subscribe("ev/#", 0)
        self.connected("vanish").kill()
        ws = raw_connected(self.broker.ws_port, "wsc", version=5, ws=True)
        self.addCleanup(ws.close)
        want = {"ev/client.disconnected/vanish", "ev/client.connected/wsc"}
        self.assertTrue(obs.wait(lambda: want <= {m.topic for m in self.on(obs, "ev/")}, 5.0),
                        [m.topic for m in self.on(obs, "ev/")])
        by = {m.topic: self.js(m) for m in self.on(obs, "ev/")}
        dis = by["ev/client.disconnected/vanish"]
        self.assertEqual((dis["reason"], dis["sockname"], dis["disconn_props"]),
                         ("tcp_closed", "127.0.0.1:%d" % self.broker.port, {}))
        self.assertEqual(by["ev/client.connected/wsc"]["sockname"],
                         "127.0.0.1:%d" % self.broker.ws_port)
        ws.close()
        gone = "ev/client.disconnected/wsc"
        self.assertTrue(obs.wait(lambda: gone in {m.topic for m in self.on(obs, "ev/")}, 5.0))
        dis = [self.js(m) for m in self.on(obs, gone)][0]
        self.assertEqual((dis["reason"], dis["sockname"]),
                         ("tcp_closed", "127.0.0.1:%d" % self.broker.ws_port))

    def test_disconnect_reasons_tcp_closed_keepalive_timeout_takenover(self):
        """EMQX's reason values for client.disconnected: the peer vanished ("tcp_closed"), its
        keep alive ran out ("keepalive_timeout", 1.5 x 1 s), another connection took the
        session ("takenover")."""
        from ferry_harness import raw_connected
        obs = self.connected("observer")
        obs.subscribe("ev/client.disconnected/#", 0)
        self.connected("gone").kill()
        quiet = raw_connected(self.broker.port, "quiet", version=5, keepalive=1)
        self.addCleanup(quiet.close)
        self.connected("twin")
        self.connected("twin")
        want = {"gone", "quiet", "twin"}

        def first_reasons():
            reasons = {}
            for m in self.on(obs, "ev/client.disconnected/"):
                reasons.setdefault(m.topic.rsplit("/", 1)[1], self.js(m)["reason"])
            return reasons
        obs.wait(lambda: want <= set(first_reasons()), 10.0)
        self.assertEqual({k: v for k, v in first_reasons().items() if k in want},
                         {"gone": "tcp_closed", "quiet": "keepalive_timeout",
                          "twin": "takenover"})

    def test_mqtt311_client_without_username(self):
        """proto_ver 4 for MQTT 3.1.1; no username means the field is undefined (absent)."""
        obs = self.connected("observer")
        obs.subscribe("ev/client.connected/old", 0)
        self.connected("old", version=4)
        con = self.js(self.wait_on(obs, "ev/", 1)[0])
        self.assertEqual((con["proto_ver"], con["proto_name"], con["clean_start"],
                          con["conn_props"], con["sockname"]),
                         (4, "MQTT", True, {}, "127.0.0.1:%d" % self.broker.port))
        self.assertNotIn("username", con)


class MessageEvents(RulesTestCase):
    RULES = {"audit.toml": MESSAGE_EVENTS,
             "fwd.toml": r'''
[[rule]]
name = "fwd"
sql = 'SELECT payload FROM "src/#"'
actions = [{ type = "republish", topic = "data/from-rule", payload = "${payload}" }]
'''}

    def events(self, obs, name, n):
        return [self.js(m) for m in self.wait_on(obs, "audit/" + name, n)]

    def test_delivered_acked_dropped_fields(self):
        obs = self.connected("auditor")
        obs.subscribe("audit/#", 0)
        rcv = self.connected("rcv", username="bob")
        rcv.subscribe("data/1", 1)
        snd = self.connected("snd", username="alice")
        snd.publish("data/1", b"hello", qos=1,
                    properties=props("PUBLISH", UserProperty=[("k", "v")]))
        self.assertTrue(rcv.wait_messages(1))
        snd.publish("data/none", b"lost", qos=0)

        delivered = self.events(obs, "message.delivered", 1)[0]
        acked = self.events(obs, "message.acked", 1)[0]
        dropped = self.events(obs, "message.dropped", 1)[0]

        common = {"from_clientid": "snd", "from_username": "alice", "clientid": "rcv",
                  "username": "bob", "payload": "hello", "peerhost": "127.0.0.1",
                  "topic": "data/1", "qos": 1, "flags": {"retain": False, "dup": False},
                  "pub_props": {"User-Property": {"k": "v"}}}
        for ev, name, extra in [(delivered, "message.delivered", set()),
                                (acked, "message.acked", {"puback_props"})]:
            self.assertEqual(set(ev), set(common) | {"id", "timestamp", "publish_received_at",
                                                     "node", "event"} | extra, ev)
            self.assertEqual({k: ev[k] for k in common}, common, ev)
            self.assertEqual(ev["event"], name)
            self.assertRegex(ev["id"], ID)
            self.assertGreaterEqual(ev["timestamp"], ev["publish_received_at"])
        self.assertEqual(delivered["id"], acked["id"])
        self.assertEqual(acked["puback_props"], {})

        self.assertEqual(set(dropped), {"id", "reason", "clientid", "username", "payload",
                                        "peerhost", "topic", "qos", "flags", "pub_props",
                                        "timestamp", "publish_received_at", "node", "event"})
        self.assertEqual({k: dropped[k] for k in ["reason", "clientid", "username", "payload",
                                                  "peerhost", "topic", "qos", "event"]},
                         {"reason": "no_subscribers", "clientid": "snd", "username": "alice",
                          "payload": "lost", "peerhost": "127.0.0.1", "topic": "data/none",
                          "qos": 0, "event": "message.dropped"})
        self.assertRegex(dropped["id"], ID)
        self.assertNotEqual(dropped["id"], delivered["id"])

    def test_rule_output_without_subscribers_is_dropped(self):
        """A rule's republish that reaches nobody raises message_dropped too; it has no
        client behind it, so clientid and username are undefined."""
        obs = self.connected("auditor")
        obs.subscribe("audit/#", 0)
        snd = self.connected("snd4")
        snd.publish("src/1", b"via-rule", qos=1)
        dropped = self.events(obs, "message.dropped", 1)[0]
        self.assertEqual({k: dropped.get(k) for k in ["reason", "topic", "payload", "qos",
                                                      "clientid", "username"]},
                         {"reason": "no_subscribers", "topic": "data/from-rule",
                          "payload": "via-rule", "qos": 0, "clientid": None, "username": None})
        self.assertRegex(dropped["id"], ID)

    def test_qos2_acked_on_pubcomp_and_qos0_not_acked(self):
        """A QoS 2 delivery is acked when PUBCOMP comes (qos 2 in the event); a QoS 0 delivery
        is delivered but never acked."""
        obs = self.connected("auditor")
        obs.subscribe("audit/#", 0)
        rcv = self.connected("rcv2")
        rcv.subscribe("data/#", 2)
        snd = self.connected("snd2")
        snd.publish("data/q0", b"zero", qos=0)
        snd.publish("data/q2", b"two", qos=2)
        acked = self.events(obs, "message.acked", 1)
        delivered = self.events(obs, "message.delivered", 2)
        self.assertEqual([(e["topic"], e["qos"]) for e in delivered],
                         [("data/q0", 0), ("data/q2", 2)])
        # The QoS 0 delivery happened first; had it been acked, its event would be first.
        self.assertEqual([(e["topic"], e["qos"]) for e in acked], [("data/q2", 2)])


class MessageEventsAfterReload(RulesTestCase):
    # At start no rule reads message events: the broker builds none.
    RULES = {"audit.toml": CLIENT_EVENTS}

    def test_rule_reading_events_added_by_sighup(self):
        """Whether the broker builds message events is decided on each load, not once at
        start: a SIGHUP that adds a rule reading them turns them on."""
        obs = self.connected("auditor")
        obs.subscribe("audit/#", 0)
        obs.subscribe("marker", 0)
        rcv = self.connected("rcv3")
        rcv.subscribe("data/#", 0)
        snd = self.connected("snd3")
        snd.publish("data/before", b"1", qos=1)
        snd.publish("marker", b"m", qos=1)
        self.wait_on(obs, "marker", 1)
        self.write_rule("audit.toml", MESSAGE_EVENTS)
        self.assertNotIn("rules_refused", self.sighup())
        snd.publish("data/after", b"2", qos=1)
        got = self.events(obs, "message.delivered", 1)
        self.assertEqual([e["topic"] for e in got], ["data/after"])

    def events(self, obs, name, n):
        return [self.js(m) for m in self.wait_on(obs, "audit/" + name, n)]


class ClientEventsAfterReload(RulesTestCase):
    """Client events are built only while a rule listens to them, decided on each load."""
    RULES = {"audit.toml": MESSAGE_EVENTS}

    def test_rule_reading_client_events_added_by_sighup(self):
        obs = self.connected("watcher")
        obs.subscribe("ev/#", 0)
        early = self.connected("early")
        early.subscribe("x/early", 0)
        self.write_rule("events.toml", CLIENT_EVENTS)
        self.assertNotIn("rules_refused", self.sighup())
        late = self.connected("late")
        late.subscribe("x/late", 0)
        got = [self.js(m) for m in self.wait_on(obs, "ev/", 2)]
        self.assertEqual([(e["event"], e["clientid"]) for e in got],
                         [("client.connected", "late"), ("session.subscribed", "late")])


class EventLoops(RulesTestCase):
    RULES = {
        "chain.toml": r'''
[[rule]]
name = "ack-chain"
sql = """SELECT topic, payload FROM "$events/message_acked" WHERE topic =~ 'chain/#'"""
actions = [{ type = "republish", topic = "chain/again", qos = 1 }]
''',
    }

    def test_event_republish_chain_is_bounded(self):
        """A rule on message_acked republishes to a topic its subscriber acks again: a loop no
        load-time check can see (FROM is an event). Each republished message carries how many
        rule republishes led to it, so the chain stops at the depth limit (4) although every
        step comes in a later event."""
        sub = self.connected("chain-sub")
        sub.subscribe("chain/#", 1)
        sub.subscribe("mark", 0)
        pub = self.connected("chain-pub")
        pub.publish("chain/start", b"go", qos=1)
        self.assertTrue(self.broker.wait_for_log(r"republish depth limit 4 reached", 10.0),
                        self.broker.log()[-3000:])
        pub.publish("mark", b"m", qos=1)
        self.wait_on(sub, "mark", 1)
        with sub.cond:
            topics = [m.topic for m in sub.messages]
        before = topics[:topics.index("mark")]
        self.assertEqual(before, ["chain/start"] + ["chain/again"] * 4)


if __name__ == "__main__":
    unittest.main(verbosity=2)
