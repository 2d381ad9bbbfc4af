#pragma once
// Sample rule files for tst_ferryctl_rules (kept out of the .cpp: moc cannot read raw
// string literals that contain quotes).

inline const char kGood[] = R"([[rule]]
name = "hot-sensors"
sql = '''
SELECT payload.temp AS temp, clientid
FROM "sensors/+/temp"
WHERE payload.temp > 30
'''
actions = [
  { type = "republish", topic = "alerts/${clientid}", qos = 1 },
  { type = "bridge", bridge = "cloud", topic = "edge/gw1/${clientid}" },
]

[[rule]]
name = "per-sensor"
sql = "FOREACH payload.s AS s DO s.id AS id, s.v AS v INCASE s.v > 1 FROM \"multi/#\""
actions = [{ type = "store", table = "history", max_rows = 100 }]
)";

inline const char kBad[] = R"([[rule]]
name = "broken"
sql = '''
SELECT payload.temp AS temp,
  upper(clientid
FROM "sensors/+/temp"
'''
)";
