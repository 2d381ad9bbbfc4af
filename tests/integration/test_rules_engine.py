"""The rule engine through a real ferryd (issue 4): rule files in rules.d filter, reshape,
aggregate in windows, FOREACH and republish as written; SIGHUP reloads them atomically and a
broken file keeps the running set; a rule republishing onto its own FROM is refused at load or
bounded; $SYS/rules/<name>/... counts what happens.

Ordering rather than time proves that something did not arrive: a publisher's messages are
handled in order and a rule republishes while the broker handles the message, so when the
output of a later message has arrived, every output of the earlier ones has too.
"""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rules_support import RulesTestCase  # noqa: E402


class FilterReshapeForeach(RulesTestCase):
    RULES = {
        "10-filter.toml": r'''
[[rule]]
name = "hot"
sql = """
SELECT payload.temp AS temp, clientid
FROM "sensors/+/temp"
WHERE payload.temp > 30
"""
actions = [{ type = "republish", topic = "alerts/${clientid}", qos = 1 }]
''',
        "20-reshape.toml": r'''
[[rule]]
name = "reshape"
sql = """
SELECT payload.device.id AS id,
       upper(payload.device.name) AS name,
       payload.readings[2] AS second,
       payload.t * 2 + 1 AS calc,
       concat(clientid, '@', topic) AS src,
       payload.t AS data.celsius,
       CASE WHEN payload.t > 20 THEN 'warm' ELSE 'cold' END AS data.feel,
       qos
FROM "raw/#"
"""
actions = [{ type = "republish", topic = "shaped/${id}" }]
''',
        "30-foreach.toml": r'''
[[rule]]
name = "each"
sql = """
FOREACH payload.sensors AS s
DO s.name AS name, s.v * 10 AS v, clientid
INCASE s.v > 1
FROM "multi/+"
"""
actions = [{ type = "republish", topic = "each/${name}" }]
''',
    }

    def test_where_filters_on_json_field(self):
        """Only payloads whose temp is > 30 come out, as {"clientid", "temp"}; equal, lower,
        missing field and a payload that is not JSON produce nothing."""
        sub = self.connected("hot-sub")
        sub.subscribe("alerts/#", 1)
        dev = self.connected("dev7")
        for p in [b'{"temp": 25}', b'{"temp": 31.5}', b'{"temp": 30}', b'{"hum": 50}',
                  b'not json', b'{"temp": "x"}', b'{"temp": 45}', b'{"temp": 99}']:
            dev.publish("sensors/7/temp", p, qos=1)
        dev.publish("sensors/7/other", b'{"temp": 77}', qos=1)   # FROM does not match
        got = self.wait_on(sub, "alerts/", 3)
        # 99 is the last publish that passes: everything before it has been decided.
        self.assertEqual([(m.topic, m.payload) for m in got[:3]],
                         [("alerts/dev7", b'{"clientid":"dev7","temp":31.5}'),
                          ("alerts/dev7", b'{"clientid":"dev7","temp":45}'),
                          ("alerts/dev7", b'{"clientid":"dev7","temp":99}')])
        self.assertTrue(all(m.qos == 1 for m in got), "republish qos = 1 not honoured")

    def test_select_reshapes_with_aliases_nested_fields_and_functions(self):
        """SELECT with aliases, nested payload fields, an array index (1-based), arithmetic,
        functions, CASE and a dotted alias that nests the output: the exact JSON comes out on
        the topic templated from the output."""
        sub = self.connected("shape-sub")
        sub.subscribe("shaped/#", 0)
        dev = self.connected("gw1")
        payload = json.dumps({"device": {"id": "d-42", "name": "boiler"},
                              "readings": [5, 6, 7], "t": 21.5})
        dev.publish("raw/x/y", payload.encode(), qos=1)
        msg = self.wait_on(sub, "shaped/", 1)[0]
        self.assertEqual(msg.topic, "shaped/d-42")
        self.assertEqual(msg.payload,
                         b'{"calc":44.0,"data":{"celsius":21.5,"feel":"warm"},"id":"d-42",'
                         b'"name":"BOILER","qos":1,"second":6,"src":"gw1@raw/x/y"}')

    def test_foreach_one_output_per_element(self):
        """FOREACH ... DO ... INCASE gives one output per array element that passes INCASE."""
        sub = self.connected("each-sub")
        sub.subscribe("each/#", 0)
        dev = self.connected("fe1")
        dev.publish("multi/a", json.dumps({"sensors": [
            {"name": "a", "v": 1}, {"name": "b", "v": 2}, {"name": "c", "v": 3.5}]}).encode(),
            qos=1)
        dev.publish("multi/a", b'{"sensors": "not an array"}', qos=1)
        dev.publish("multi/a", b'{"sensors": [{"name": "z", "v": 9}]}', qos=1)
        got = self.wait_on(sub, "each/", 3)
        self.assertEqual([(m.topic, self.js(m)) for m in got[:3]],
                         [("each/b", {"name": "b", "v": 20, "clientid": "fe1"}),
                          ("each/c", {"name": "c", "v": 35.0, "clientid": "fe1"}),
                          ("each/z", {"name": "z", "v": 90, "clientid": "fe1"})])


class TumblingWindow(RulesTestCase):
    RULES = {
        "win.toml": r'''
[[rule]]
name = "avg"
sql = """
SELECT avg(payload.t) AS avg, max(payload.t) AS peak, min(payload.t) AS low,
       sum(payload.t) AS total, count(*) AS n, clientid
FROM "win/+"
GROUP BY clientid, TUMBLING(1s)
"""
actions = [{ type = "republish", topic = "agg/${clientid}" }]
''',
    }

    def test_window_closes_without_further_messages(self):
        """Two devices publish; one output per device and window arrives when the 1 s window
        ends, although nothing is published afterwards. The values are checked, not the time:
        if the publishes straddle a window boundary, the outputs of both windows together
        must account for every value."""
        sub = self.connected("agg-sub")
        sub.subscribe("agg/#", 0)
        values = {"devA": [10, 20, 33, 41], "devB": [-5, 7]}
        pubs = {cid: self.connected(cid) for cid in values}
        for cid, vs in values.items():
            for v in vs:
                pubs[cid].publish("win/" + cid, json.dumps({"t": v}).encode(), qos=1)

        def counted(cid):
            return sum(self.js(m)["n"] for m in self.on(sub, "agg/" + cid))

        ok = sub.wait(lambda: all(counted(c) >= len(vs) for c, vs in values.items()), 10.0)
        self.assertTrue(ok, "window outputs missing: %r; log:\n%s" % (
            [(m.topic, m.payload) for m in self.on(sub, "agg/")], self.broker.log()[-2000:]))
        for cid, vs in values.items():
            outs = [self.js(m) for m in self.on(sub, "agg/" + cid)]
            self.assertEqual(sum(o["n"] for o in outs), len(vs), outs)
            self.assertEqual(sum(o["total"] for o in outs), sum(vs), outs)
            self.assertEqual(max(o["peak"] for o in outs), max(vs), outs)
            self.assertEqual(min(o["low"] for o in outs), min(vs), outs)
            for o in outs:
                self.assertEqual(o["clientid"], cid)
                self.assertAlmostEqual(o["avg"], o["total"] / o["n"])
        if all(len(self.on(sub, "agg/" + c)) == 1 for c in values):
            self.assertEqual(self.js(self.on(sub, "agg/devA")[0])["avg"], 26)


GOOD_V1 = r'''
[[rule]]
name = "route"
sql = 'SELECT payload.x AS x FROM "in/t"'
actions = [{ type = "republish", topic = "out/v1" }]
'''
GOOD_V2 = GOOD_V1.replace("out/v1", "out/v2")
GOOD_V3 = GOOD_V1.replace("out/v1", "out/v3")
BROKEN_TOML = '''[[rule]]
name = "broken"
sql = "SELECT 1 FROM \\"t\\""
actions = [{ type = "republish", topic = "x" }
'''
BROKEN_SQL = """[[rule]]
name = "broken"
sql = '''
SELECT payload.temp AS temp,
  upper(clientid
FROM "sensors/+/temp"
'''
"""


class Reload(RulesTestCase):
    RULES = {"route.toml": GOOD_V1}

    def route(self, pub, sub, x):
        """Publishes {"x": x} and returns the topic the rule's one output came on."""
        n = len(self.on(sub, "out/"))
        pub.publish("in/t", json.dumps({"x": x}).encode(), qos=1)
        got = self.wait_on(sub, "out/", n + 1)
        self.assertEqual(len(got), n + 1, "more than one output: %r" % got)
        self.assertEqual(self.js(got[-1]), {"x": x})
        return got[-1].topic

    def test_sighup_applies_changed_rule_and_refuses_broken_files(self):
        sub = self.connected("reload-sub")
        sub.subscribe("out/#", 0)
        pub = self.connected("reload-pub")
        self.assertEqual(self.route(pub, sub, 1), "out/v1")

        # A changed rule takes effect.
        self.write_rule("route.toml", GOOD_V2)
        added = self.sighup()
        self.assertIn("loaded=1", added)
        self.assertEqual(self.route(pub, sub, 2), "out/v2")

        # A TOML error in another file: nothing of the new set is taken (not even the valid
        # change to route.toml), the error names file:line:column, v2 keeps working.
        self.write_rule("route.toml", GOOD_V3)
        self.write_rule("zz-broken.toml", BROKEN_TOML)
        added = self.sighup()
        path = self.rule_path("zz-broken.toml")
        self.assertRegex(added, re.escape(path) + r":\d+:\d+: ", added)
        self.assertIn("rules_refused", added)
        self.assertEqual(self.route(pub, sub, 3), "out/v2")

        # A SQL error: its position is given within the file (line 6, column 1: FROM where
        # ')' was expected), not within the SQL string.
        self.write_rule("zz-broken.toml", BROKEN_SQL)
        added = self.sighup()
        self.assertIn(path + ":6:1: expected ')', found 'FROM'", added)
        self.assertEqual(self.route(pub, sub, 4), "out/v2")

        # Fixing the directory loads the pending change.
        os.remove(path)
        added = self.sighup()
        self.assertNotIn("rules_refused", added)
        self.assertEqual(self.route(pub, sub, 5), "out/v3")


class Loops(RulesTestCase):
    RULES = {
        "loop.toml": r'''
[[rule]]
name = "counter"
sql = 'SELECT payload.n + 1 AS n FROM "loop/#"'
actions = [{ type = "republish", topic = "loop/x", payload = '{"n": ${n}}', allow_loop = true }]
''',
    }

    def test_republish_onto_own_from_is_bounded(self):
        """allow_loop = true: the rule republishes its output onto its own FROM; the chain stops
        at the depth limit (4 republishes) instead of running forever, the broker carries on,
        and the refusal is counted and logged."""
        sub = self.connected("loop-sub")
        sub.subscribe("loop/#", 0)
        sub.subscribe("mark", 0)
        pub = self.connected("loop-pub")
        pub.publish("loop/start", b'{"n": 0}', qos=1)
        pub.publish("mark", b"after", qos=1)
        self.wait_on(sub, "mark", 1)
        with sub.cond:
            seen = [(m.topic, m.payload) for m in sub.messages]
        self.assertEqual(seen, [("loop/start", b'{"n": 0}')]
                         + [("loop/x", b'{"n": %d}' % n) for n in range(1, 5)]
                         + [("mark", b"after")])
        self.assertTrue(self.broker.wait_for_log(r"republish depth limit 4 reached"),
                        self.broker.log()[-2000:])

    def test_loop_without_allow_loop_is_refused_at_load(self):
        """Without allow_loop, a republish topic that can match the rule's own FROM is refused
        when the file is loaded (file:line:column), and the running rules stay."""
        self.write_rule("loop.toml", r'''
[[rule]]
name = "echo"
sql = 'SELECT * FROM "echo/+"'
actions = [{ type = "republish", topic = "echo/${clientid}" }]
''')
        added = self.sighup()
        self.assertRegex(added, re.escape(self.rule_path("loop.toml"))
                         + r":5:\d+: republish topic 'echo/\$\{clientid\}' can match the rule's "
                         r"own FROM \"echo/\+\"")
        # The old "counter" rule still runs (and "echo" does not).
        sub = self.connected("loop-sub2")
        sub.subscribe("loop/#", 0)
        sub.subscribe("echo/#", 0)
        pub = self.connected("loop-pub2")
        pub.publish("echo/a", b"{}", qos=1)
        pub.publish("loop/start", b'{"n": 10}', qos=1)
        got = self.wait_on(sub, "loop/x", 4)
        self.assertEqual(got[-1].payload, b'{"n": 14}')
        self.assertEqual([m.topic for m in sub.messages if m.topic.startswith("echo/")],
                         ["echo/a"])


class Metrics(RulesTestCase):
    BROKER_TOML = "[sys]\ninterval = 1\n"
    RULES = {
        "m.toml": r'''
[[rule]]
name = "ratio"
sql = 'SELECT 100 / payload.d AS q FROM "met/t" WHERE payload.v > 10'
actions = [{ type = "republish", topic = "met/out" }]
''',
    }

    def test_sys_rules_metrics_follow_messages(self):
        """$SYS/rules/ratio/... starts at 0 and then counts: matched (every message on the
        FROM), passed (output produced), no_result (WHERE false), failed (an error, with the
        last error), outputs and actions fired."""
        sub = self.connected("met-sub")
        sub.subscribe("$SYS/rules/ratio/#", 0)
        sub.subscribe("met/out", 0)

        def value(name):
            vals = [m.payload for m in self.on(sub, "$SYS/rules/ratio/" + name)
                    if m.topic == "$SYS/rules/ratio/" + name]
            return vals[-1].decode() if vals else None

        first = ["matched", "passed", "failed"]
        self.assertTrue(sub.wait(lambda: all(value(k) is not None for k in first), 5.0),
                        "no $SYS/rules/ratio/{matched,passed,failed}")
        self.assertEqual((value("matched"), value("passed"), value("failed")), ("0", "0", "0"))
        pub = self.connected("met-pub")
        for p in [b'{"v": 11, "d": 4}', b'{"v": 5, "d": 1}', b'{"v": 20, "d": 0}',
                  b'{"v": 12, "d": 5}', b'{"d": 2}', b'{"v": 99, "d": 50}']:
            pub.publish("met/t", p, qos=1)
        pub.publish("met/other", b'{"v": 99, "d": 1}', qos=1)
        self.wait_on(sub, "met/out", 3)
        want = {"matched": "6", "passed": "3", "no_result": "2", "failed": "1",
                "outputs": "3", "actions/fired": "3", "actions/failed": "0"}
        ok = sub.wait(lambda: all(value(k) == v for k, v in want.items())
                      and "division by zero" in (value("last_error") or ""), 5.0)
        self.assertTrue(ok, "metrics %r, want %r and last_error" % (
            {k: value(k) for k in list(want) + ["last_error"]}, want))
        self.assertRegex(value("time_us"), r"^\d+$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
