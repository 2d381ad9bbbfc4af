// Configuration loading: defaults, every key, every class of error with its exact position,
// conf.d merging and reload classification. Positions in the expected strings were counted by
// hand from the TOML text next to them (line:column, both 1-based).

#include "config/ConfigLoader.h"
#include "config/ConfigReload.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace ferry::config;

namespace {

QStringList errorStrings(const LoadResult &r)
{
    QStringList out;
    for (const ConfigError &e : r.errors)
        out << e.toString();
    return out;
}

Config mustLoad(const QString &text)
{
    const LoadResult r = loadConfigText(text, QStringLiteral("t.toml"));
    if (!r.config)
        qWarning() << errorStrings(r);
    Q_ASSERT(r.config);
    return *r.config;
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

const QString kLimitsKeys = QStringLiteral(
    "expected one of: max_packet_size, max_inflight, receive_maximum, max_queued_messages, "
    "max_connections, max_keep_alive, max_topic_alias, connect_timeout, max_topic_levels, "
    "queue_overflow");
const QString kSections =
    QStringLiteral("expected one of: listener, limits, storage, rules, log, sys");

} // namespace

class TestConfig : public QObject {
    Q_OBJECT
private slots:
    void defaultsWithoutFile();
    void emptyFileGivesDefaults();
    void everyKeyParsed();
    void listenerDefaultPortFollowsProtocolAndTls();
    void portZeroListenersDoNotCollide();
    void errors_data();
    void errors();
    void errorsAreCollectedAndSortedByPosition();
    void syntaxErrorHasPosition();
    void errorToStringWithoutPosition();
    void confDMergesInByteOrder();
    void confDErrorsNameTheirFile();
    void confDDuplicateListenerPointsAtFirst();
    void missingMainFileIsAnError();
    void reloadIdenticalHasNoDifferences();
    void reloadClassifiesLiveAndRestart();
    void reloadChangedListener();
};

void TestConfig::defaultsWithoutFile()
{
    const LoadResult r = loadConfigFile(QString());
    QVERIFY(r.errors.isEmpty());
    QVERIFY(r.config);
    const Config &c = *r.config;
    QVERIFY(c.sourceFiles.isEmpty());

    QCOMPARE(c.listeners.size(), 2);
    QCOMPARE(c.listeners[0].protocol, QStringLiteral("mqtt"));
    QCOMPARE(c.listeners[0].host, QStringLiteral("127.0.0.1"));
    QCOMPARE(c.listeners[0].port, quint16(1883));
    QCOMPARE(c.listeners[0].allowAnonymous, true);
    QCOMPARE(c.listeners[0].tls.enabled(), false);
    QCOMPARE(c.listeners[0].name, QStringLiteral("mqtt@127.0.0.1:1883"));
    QCOMPARE(c.listeners[1].protocol, QStringLiteral("mqtt-ws"));
    QCOMPARE(c.listeners[1].host, QStringLiteral("127.0.0.1"));
    QCOMPARE(c.listeners[1].port, quint16(8083));
    QCOMPARE(c.listeners[1].path, QStringLiteral("/mqtt"));
    QCOMPARE(c.listeners[1].name, QStringLiteral("mqtt-ws@127.0.0.1:8083"));

    QCOMPARE(c.limits.maxPacketSize, 1048576u);
    QCOMPARE(c.limits.maxInflight, quint16(20));
    QCOMPARE(c.limits.receiveMaximum, quint16(100));
    QCOMPARE(c.limits.maxQueuedMessages, 1000u);
    QCOMPARE(c.limits.maxConnections, 0u);
    QCOMPARE(c.limits.maxKeepAlive, quint16(65535));
    QCOMPARE(c.limits.maxTopicAlias, quint16(10));
    QCOMPARE(c.limits.connectTimeout, 10u);
    QCOMPARE(c.limits.maxTopicLevels, 128u);
    QCOMPARE(c.limits.queueOverflow, QStringLiteral("drop-oldest"));
    QCOMPARE(c.storage.path, QStringLiteral("./var/ferry.db"));
    QCOMPARE(c.storage.sync, QStringLiteral("normal"));
    QCOMPARE(c.storage.maxQueuedBytes, 0ull);
    QCOMPARE(c.storage.maxDiskBytes, 0ull);
    QCOMPARE(c.rules.dir, QStringLiteral("./rules.d"));
    QCOMPARE(c.log.level, QStringLiteral("info"));
    QCOMPARE(c.sys.interval, 10u);
}

void TestConfig::emptyFileGivesDefaults()
{
    const Config c = mustLoad(QStringLiteral("# nothing but a comment\n"));
    QCOMPARE(c.sourceFiles, QStringList{QStringLiteral("t.toml")});
    QCOMPARE(c.listeners, defaultListeners());
    QCOMPARE(c.limits.maxInflight, quint16(20));
}

void TestConfig::everyKeyParsed()
{
    const Config c = mustLoad(QStringLiteral(R"([[listener]]
protocol = "mqtt"
bind = "0.0.0.0:1999"
allow_anonymous = false
tls = { cert = "/etc/ferry/cert.pem", key = "/etc/ferry/key.pem", ca = "/etc/ferry/ca.pem" }

[[listener]]
protocol = "mqtt-ws"
bind = "[::1]:0"
path = "/ws"

[[listener]]
protocol = "amqp"
bind = "[0:0::1]:5673"

[limits]
max_packet_size = 268435455
max_inflight = 1
receive_maximum = 65535
max_queued_messages = 0
max_connections = 5000
max_keep_alive = 600
max_topic_alias = 0
connect_timeout = 30
max_topic_levels = 16
queue_overflow = "refuse"

[storage]
path = "/var/lib/ferry/ferry.db"
sync = "full"
max_queued_bytes = 104_857_600
max_disk_bytes = 5368709120   # more than 32 bits

[rules]
dir = "/etc/ferry/rules.d"

[log]
level = "debug"

[sys]
interval = 0
)"));
    QCOMPARE(c.listeners.size(), 3);
    const ListenerConfig &a = c.listeners[0];
    QCOMPARE(a.protocol, QStringLiteral("mqtt"));
    QCOMPARE(a.host, QStringLiteral("0.0.0.0"));
    QCOMPARE(a.port, quint16(1999));
    QCOMPARE(a.allowAnonymous, false);
    QCOMPARE(a.tls.cert, QStringLiteral("/etc/ferry/cert.pem"));
    QCOMPARE(a.tls.key, QStringLiteral("/etc/ferry/key.pem"));
    QCOMPARE(a.tls.ca, QStringLiteral("/etc/ferry/ca.pem"));
    QVERIFY(a.tls.enabled());
    QCOMPARE(a.name, QStringLiteral("mqtt@0.0.0.0:1999"));
    const ListenerConfig &b = c.listeners[1];
    QCOMPARE(b.protocol, QStringLiteral("mqtt-ws"));
    QCOMPARE(b.host, QStringLiteral("::1"));
    QCOMPARE(b.port, quint16(0));
    QCOMPARE(b.path, QStringLiteral("/ws"));
    QCOMPARE(b.allowAnonymous, true);
    QVERIFY(!b.tls.enabled());
    QCOMPARE(b.name, QStringLiteral("mqtt-ws@[::1]:0"));
    const ListenerConfig &d = c.listeners[2];
    QCOMPARE(d.protocol, QStringLiteral("amqp"));
    QCOMPARE(d.host, QStringLiteral("::1")); // canonical form of 0:0::1
    QCOMPARE(d.port, quint16(5673));
    QCOMPARE(d.name, QStringLiteral("amqp@[::1]:5673"));

    QCOMPARE(c.limits.maxPacketSize, 268435455u);
    QCOMPARE(c.limits.maxInflight, quint16(1));
    QCOMPARE(c.limits.receiveMaximum, quint16(65535));
    QCOMPARE(c.limits.maxQueuedMessages, 0u);
    QCOMPARE(c.limits.maxConnections, 5000u);
    QCOMPARE(c.limits.maxKeepAlive, quint16(600));
    QCOMPARE(c.limits.maxTopicAlias, quint16(0));
    QCOMPARE(c.limits.connectTimeout, 30u);
    QCOMPARE(c.limits.maxTopicLevels, 16u);
    QCOMPARE(c.limits.queueOverflow, QStringLiteral("refuse"));
    QCOMPARE(c.storage.path, QStringLiteral("/var/lib/ferry/ferry.db"));
    QCOMPARE(c.storage.sync, QStringLiteral("full"));
    QCOMPARE(c.storage.maxQueuedBytes, 104857600ull);
    QCOMPARE(c.storage.maxDiskBytes, 5368709120ull);
    QCOMPARE(c.rules.dir, QStringLiteral("/etc/ferry/rules.d"));
    QCOMPARE(c.log.level, QStringLiteral("debug"));
    QCOMPARE(c.sys.interval, 0u);
}

void TestConfig::listenerDefaultPortFollowsProtocolAndTls()
{
    const Config c = mustLoad(QStringLiteral(R"([[listener]]
[[listener]]
tls = { cert = "c", key = "k" }
[[listener]]
protocol = "mqtt-ws"
[[listener]]
protocol = "mqtt-ws"
tls = { cert = "c", key = "k" }
[[listener]]
protocol = "amqp"
[[listener]]
protocol = "amqp"
tls = { cert = "c", key = "k" }
)"));
    QStringList names;
    for (const ListenerConfig &l : c.listeners)
        names << l.name;
    QCOMPARE(names,
             (QStringList{"mqtt@127.0.0.1:1883", "mqtt@127.0.0.1:8883", "mqtt-ws@127.0.0.1:8083",
                          "mqtt-ws@127.0.0.1:8084", "amqp@127.0.0.1:5672", "amqp@127.0.0.1:5671"}));
}

void TestConfig::portZeroListenersDoNotCollide()
{
    // Tests bind port 0 several times and read the chosen ports back from the log.
    const Config c = mustLoad(QStringLiteral(R"([[listener]]
bind = "127.0.0.1:0"
[[listener]]
protocol = "mqtt-ws"
bind = "127.0.0.1:0"
)"));
    QCOMPARE(c.listeners.size(), 2);
    QCOMPARE(c.listeners[0].port, quint16(0));
    QCOMPARE(c.listeners[1].port, quint16(0));
}

void TestConfig::errors_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("expected");

    QTest::newRow("unknown key in table, at the key")
        << QStringLiteral("[limits]\nmax_infligt = 5\n")
        << QStringList{"t.toml:2:1: unknown key 'max_infligt' in [limits]; " + kLimitsKeys};
    QTest::newRow("unknown key, indented")
        << QStringLiteral("[limits]\n  foo  =  5\n")
        << QStringList{"t.toml:2:3: unknown key 'foo' in [limits]; " + kLimitsKeys};
    QTest::newRow("unknown top-level table, at its name")
        << QStringLiteral("[limts]\nmax_inflight = 5\n")
        << QStringList{"t.toml:1:2: unknown table [limts]; " + kSections};
    QTest::newRow("unknown top-level array of tables")
        << QStringLiteral("\n[[bridge]]\nname = \"x\"\n")
        << QStringList{"t.toml:2:3: unknown table [[bridge]]; " + kSections};
    QTest::newRow("unknown top-level key")
        << QStringLiteral("verbose = true\n")
        << QStringList{"t.toml:1:1: unknown key 'verbose' at top level; " + kSections};
    QTest::newRow("dotted key into a known table is checked too")
        << QStringLiteral("log.lvl = \"debug\"\n")
        << QStringList{"t.toml:1:5: unknown key 'lvl' in [log]; expected one of: level"};
    QTest::newRow("wrong type string for integer, at the value")
        << QStringLiteral("[limits]\nmax_inflight = \"20\"\n")
        << QStringList{"t.toml:2:16: limits.max_inflight: expected integer, got string"};
    QTest::newRow("wrong type float for integer")
        << QStringLiteral("[sys]\ninterval = 1.5\n")
        << QStringList{"t.toml:2:12: sys.interval: expected integer, got float"};
    QTest::newRow("wrong type integer for boolean")
        << QStringLiteral("[[listener]]\nallow_anonymous = 1\n")
        << QStringList{"t.toml:2:19: listener.allow_anonymous: expected boolean, got integer"};
    QTest::newRow("wrong type integer for string")
        << QStringLiteral("[rules]\ndir = 5\n")
        << QStringList{"t.toml:2:7: rules.dir: expected string, got integer"};
    QTest::newRow("section that is not a table")
        << QStringLiteral("limits = 5\n")
        << QStringList{"t.toml:1:10: limits: expected table, got integer"};
    QTest::newRow("listener as a single table")
        << QStringLiteral("[listener]\nbind = \"127.0.0.1:1\"\n")
        << QStringList{"t.toml:1:1: listener: expected array of tables ([[listener]]), got table"};
    QTest::newRow("out of range low")
        << QStringLiteral("[limits]\nmax_packet_size = 0\n")
        << QStringList{"t.toml:2:19: limits.max_packet_size: 0 is out of range 1..268435455"};
    QTest::newRow("out of range high, MQTT 5 2.2.3")
        << QStringLiteral("[limits]\nmax_packet_size = 268435456\n")
        << QStringList{
               "t.toml:2:19: limits.max_packet_size: 268435456 is out of range 1..268435455"};
    QTest::newRow("receive maximum 0, MQTT 5 3.2.2.3.3")
        << QStringLiteral("[limits]\nreceive_maximum = 0\n")
        << QStringList{"t.toml:2:19: limits.receive_maximum: 0 is out of range 1..65535"};
    QTest::newRow("quint16 overflow")
        << QStringLiteral("[limits]\nmax_topic_alias = 65536\n")
        << QStringList{"t.toml:2:19: limits.max_topic_alias: 65536 is out of range 0..65535"};
    QTest::newRow("negative for unsigned")
        << QStringLiteral("[storage]\nmax_disk_bytes = -1\n")
        << QStringList{
               "t.toml:2:18: storage.max_disk_bytes: -1 is out of range 0..9223372036854775807"};
    QTest::newRow("invalid enum")
        << QStringLiteral("[log]\nlevel = \"verbose\"\n")
        << QStringList{"t.toml:2:9: log.level: invalid value 'verbose'; expected one of: debug, "
                       "info, warning, error"};
    QTest::newRow("invalid enum protocol")
        << QStringLiteral("[[listener]]\nprotocol = \"mqtts\"\n")
        << QStringList{"t.toml:2:12: listener.protocol: invalid value 'mqtts'; expected one of: "
                       "mqtt, mqtt-ws, amqp"};
    QTest::newRow("empty string") << QStringLiteral("[storage]\npath = \"\"\n")
                                  << QStringList{"t.toml:2:8: storage.path: must not be empty"};
    QTest::newRow("bind with a host name")
        << QStringLiteral("[[listener]]\nbind = \"localhost:1883\"\n")
        << QStringList{"t.toml:2:8: listener.bind: invalid address 'localhost:1883'; expected "
                       "\"host:port\" with an IP address, e.g. \"127.0.0.1:1883\" or "
                       "\"[::1]:1883\""};
    QTest::newRow("bind IPv6 without brackets")
        << QStringLiteral("[[listener]]\nbind = \"::1:1883\"\n")
        << QStringList{"t.toml:2:8: listener.bind: invalid address '::1:1883'; expected "
                       "\"host:port\" with an IP address, e.g. \"127.0.0.1:1883\" or "
                       "\"[::1]:1883\""};
    QTest::newRow("bind without port")
        << QStringLiteral("[[listener]]\nbind = \"127.0.0.1\"\n")
        << QStringList{"t.toml:2:8: listener.bind: invalid address '127.0.0.1'; expected "
                       "\"host:port\" with an IP address, e.g. \"127.0.0.1:1883\" or "
                       "\"[::1]:1883\""};
    QTest::newRow("bind port too large")
        << QStringLiteral("[[listener]]\nbind = \"127.0.0.1:70000\"\n")
        << QStringList{"t.toml:2:8: listener.bind: invalid port '70000' in '127.0.0.1:70000'; "
                       "expected 0..65535"};
    QTest::newRow("bind port with sign")
        << QStringLiteral("[[listener]]\nbind = \"127.0.0.1:+80\"\n")
        << QStringList{"t.toml:2:8: listener.bind: invalid port '+80' in '127.0.0.1:+80'; "
                       "expected 0..65535"};
    QTest::newRow("duplicate listener, at the second bind")
        << QStringLiteral("[[listener]]\nbind = \"127.0.0.1:1883\"\n\n[[listener]]\n"
                          "protocol = \"mqtt-ws\"\nbind = \"127.0.0.1:1883\"\n")
        << QStringList{"t.toml:6:8: listener.bind: mqtt-ws@127.0.0.1:1883 overlaps the "
                       "listener mqtt@127.0.0.1:1883 at t.toml:2:8"};
    QTest::newRow("duplicate listener via the default port, at the table")
        << QStringLiteral("[[listener]]\nbind = \"127.0.0.1:1883\"\n[[listener]]\n")
        << QStringList{"t.toml:3:1: listener.bind: mqtt@127.0.0.1:1883 overlaps the listener "
                       "mqtt@127.0.0.1:1883 at t.toml:2:8"};
    QTest::newRow("listener overlapping the IPv4 wildcard")
        << QStringLiteral("[[listener]]\nbind = \"0.0.0.0:1883\"\n[[listener]]\n"
                          "bind = \"127.0.0.1:1883\"\n")
        << QStringList{"t.toml:4:8: listener.bind: mqtt@127.0.0.1:1883 overlaps the listener "
                       "mqtt@0.0.0.0:1883 at t.toml:2:8"};
    QTest::newRow("path on a non-WebSocket listener")
        << QStringLiteral("[[listener]]\npath = \"/x\"\n")
        << QStringList{
               "t.toml:2:8: listener.path: only valid with protocol \"mqtt-ws\", not \"mqtt\""};
    QTest::newRow("WebSocket path without slash")
        << QStringLiteral("[[listener]]\nprotocol = \"mqtt-ws\"\npath = \"mqtt\"\n")
        << QStringList{"t.toml:3:8: listener.path: must start with '/'"};
    QTest::newRow("tls without key")
        << QStringLiteral("[[listener]]\ntls = { cert = \"c.pem\" }\n")
        << QStringList{"t.toml:2:7: listener.tls: both cert and key are required"};
    QTest::newRow("tls not a table")
        << QStringLiteral("[[listener]]\ntls = true\n")
        << QStringList{"t.toml:2:7: listener.tls: expected table, got boolean"};
    QTest::newRow("tls unknown key, at the key inside the inline table")
        << QStringLiteral("[[listener]]\ntls = { cert = \"c\", key = \"k\", cafile = \"x\" }\n")
        << QStringList{"t.toml:2:32: unknown key 'cafile' in [listener.tls]; expected one of: "
                       "cert, key, ca"};
    QTest::newRow("columns count characters, not bytes")
        << QString::fromUtf8("[[listener]]\ntls = { cert = \"\u00e9\", bogus = 1 }\n")
        << QStringList{"t.toml:2:7: listener.tls: both cert and key are required",
                       "t.toml:2:21: unknown key 'bogus' in [listener.tls]; expected one of: "
                       "cert, key, ca"};
}

void TestConfig::errors()
{
    QFETCH(QString, text);
    QFETCH(QStringList, expected);
    const LoadResult r = loadConfigText(text, QStringLiteral("t.toml"));
    QVERIFY(!r.config);
    QCOMPARE(errorStrings(r), expected);
}

void TestConfig::errorsAreCollectedAndSortedByPosition()
{
    // toml++ iterates a table in key order (connect_timeout before max_topic_levels); the errors
    // must still come out in source order, and all of them, not only the first.
    const LoadResult r = loadConfigText(QStringLiteral("[limits]\n"
                                                       "max_topic_levels = 0\n"
                                                       "connect_timeout = \"x\"\n"
                                                       "[log]\n"
                                                       "level = 3\n"
                                                       "colour = true\n"),
                                        QStringLiteral("t.toml"));
    QVERIFY(!r.config);
    QCOMPARE(errorStrings(r),
             (QStringList{"t.toml:2:20: limits.max_topic_levels: 0 is out of range 1..65535",
                          "t.toml:3:19: limits.connect_timeout: expected integer, got string",
                          "t.toml:5:9: log.level: expected string, got integer",
                          "t.toml:6:1: unknown key 'colour' in [log]; expected one of: level"}));
    QCOMPARE(r.errors[0].file, QStringLiteral("t.toml"));
    QCOMPARE(r.errors[0].line, 2);
    QCOMPARE(r.errors[0].column, 20);
    QCOMPARE(r.errors[0].message,
             QStringLiteral("limits.max_topic_levels: 0 is out of range 1..65535"));
}

void TestConfig::syntaxErrorHasPosition()
{
    // The message text is toml++'s; the position is what we promise.
    const LoadResult r = loadConfigText(
        QStringLiteral("[limits]\nmax_inflight = 5\nmax_inflight = 6\n"), QStringLiteral("t.toml"));
    QVERIFY(!r.config);
    QCOMPARE(r.errors.size(), 1);
    QCOMPARE(r.errors[0].file, QStringLiteral("t.toml"));
    QCOMPARE(r.errors[0].line, 3);
    QCOMPARE(r.errors[0].column, 16);
    QVERIFY2(r.errors[0].message.contains(QLatin1String("max_inflight")),
             qPrintable(r.errors[0].message));

    const LoadResult r2 =
        loadConfigText(QStringLiteral("[log]\nlevel = \"debug\nx = 1\n"), QStringLiteral("u.toml"));
    QVERIFY(!r2.config);
    QCOMPARE(r2.errors.size(), 1);
    QCOMPARE(r2.errors[0].toString().left(12), QStringLiteral("u.toml:2:15:"));
}

void TestConfig::errorToStringWithoutPosition()
{
    const ConfigError e{QStringLiteral("/etc/ferry/ferry.toml"), 0, 0, QStringLiteral("gone")};
    QCOMPARE(e.toString(), QStringLiteral("/etc/ferry/ferry.toml: gone"));
    const ConfigError f{QStringLiteral("a.toml"), 3, 7, QStringLiteral("bad")};
    QCOMPARE(f.toString(), QStringLiteral("a.toml:3:7: bad"));
}

void TestConfig::confDMergesInByteOrder()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("conf.d")));
    const QString main = dir.filePath(QStringLiteral("ferry.toml"));
    QVERIFY(writeFile(main, "[limits]\nmax_inflight = 5\nmax_connections = 7\n"
                            "[[listener]]\nbind = \"127.0.0.1:1884\"\n"));
    QVERIFY(writeFile(dir.filePath("conf.d/20-b.toml"),
                      "[limits]\nmax_inflight = 30\n"
                      "[[listener]]\nprotocol = \"mqtt-ws\"\nbind = \"127.0.0.1:9001\"\n"));
    QVERIFY(
        writeFile(dir.filePath("conf.d/10-a.toml"),
                  "[limits]\nmax_inflight = 10\nreceive_maximum = 50\n[log]\nlevel = \"debug\"\n"));
    // Byte order: "9-..." sorts after "20-...", so this file is read last and wins.
    QVERIFY(writeFile(dir.filePath("conf.d/9-c.toml"), "[limits]\nmax_inflight = 40\n"));
    // Not *.toml, or hidden: ignored (they would not even parse).
    QVERIFY(writeFile(dir.filePath("conf.d/notes.txt"), "this is not toml ["));
    QVERIFY(writeFile(dir.filePath("conf.d/.10-a.toml.swp"), "[[["));
    QVERIFY(writeFile(dir.filePath("conf.d/.hidden.toml"), "[[["));

    const LoadResult r = loadConfigFile(main);
    QVERIFY2(r.errors.isEmpty(), qPrintable(errorStrings(r).join('\n')));
    const Config &c = *r.config;
    QCOMPARE(c.sourceFiles,
             (QStringList{main, dir.filePath("conf.d/10-a.toml"), dir.filePath("conf.d/20-b.toml"),
                          dir.filePath("conf.d/9-c.toml")}));
    QCOMPARE(c.limits.maxInflight, quint16(40));    // 9-c, last
    QCOMPARE(c.limits.receiveMaximum, quint16(50)); // 10-a only
    QCOMPARE(c.limits.maxConnections, 7u);          // ferry.toml only
    QCOMPARE(c.log.level, QStringLiteral("debug"));
    QCOMPARE(c.listeners.size(), 2); // appended; the defaults do not apply
    QCOMPARE(c.listeners[0].name, QStringLiteral("mqtt@127.0.0.1:1884"));
    QCOMPARE(c.listeners[1].name, QStringLiteral("mqtt-ws@127.0.0.1:9001"));
}

void TestConfig::confDErrorsNameTheirFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("conf.d")));
    const QString main = dir.filePath(QStringLiteral("ferry.toml"));
    QVERIFY(writeFile(main, "[sys]\ninterval = -5\n"));
    QVERIFY(writeFile(dir.filePath("conf.d/b.toml"), "\n[storage]\nsync = \"sometimes\"\n"));
    QVERIFY(writeFile(dir.filePath("conf.d/a.toml"), "[limits]\nmax_inflight = 0\n"));

    const LoadResult r = loadConfigFile(main);
    QVERIFY(!r.config);
    QCOMPARE(errorStrings(r),
             (QStringList{main + ":2:12: sys.interval: -5 is out of range 0..86400",
                          dir.filePath("conf.d/a.toml") +
                              ":2:16: limits.max_inflight: 0 is out of range 1..65535",
                          dir.filePath("conf.d/b.toml") +
                              ":3:8: storage.sync: invalid value 'sometimes'; expected one of: "
                              "full, normal, off"}));
}

void TestConfig::confDDuplicateListenerPointsAtFirst()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("conf.d")));
    const QString main = dir.filePath(QStringLiteral("ferry.toml"));
    QVERIFY(writeFile(main, "[[listener]]\nbind = \"[::1]:1883\"\n"));
    QVERIFY(writeFile(dir.filePath("conf.d/ws.toml"),
                      "[[listener]]\nprotocol = \"mqtt-ws\"\n  bind = \"[::1]:1883\"\n"));
    const LoadResult r = loadConfigFile(main);
    QVERIFY(!r.config);
    QCOMPARE(errorStrings(r),
             QStringList{dir.filePath("conf.d/ws.toml") +
                         ":3:10: listener.bind: mqtt-ws@[::1]:1883 overlaps the listener "
                         "mqtt@[::1]:1883 at " +
                         main + ":2:8"});
}

void TestConfig::missingMainFileIsAnError()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString main = dir.filePath(QStringLiteral("absent.toml"));
    const LoadResult r = loadConfigFile(main);
    QVERIFY(!r.config);
    QCOMPARE(r.errors.size(), 1);
    QCOMPARE(r.errors[0].file, main);
    QCOMPARE(r.errors[0].line, 0);
    QVERIFY2(r.errors[0].message.startsWith(QLatin1String("cannot read: ")),
             qPrintable(r.errors[0].message));
}

void TestConfig::reloadIdenticalHasNoDifferences()
{
    const Config a = mustLoad(QStringLiteral("[limits]\nmax_inflight = 3\n"));
    const Config b = mustLoad(QStringLiteral("[limits]\nmax_inflight = 3\n"));
    QStringList restart;
    QCOMPARE(reloadableDifferences(a, b, &restart), QStringList());
    QCOMPARE(restart, QStringList());
}

void TestConfig::reloadClassifiesLiveAndRestart()
{
    const Config running = *loadConfigFile(QString()).config;
    const Config next = mustLoad(QStringLiteral(R"([[listener]]
bind = "127.0.0.1:1883"
[[listener]]
bind = "127.0.0.1:1884"
[limits]
max_inflight = 50
queue_overflow = "refuse"
[storage]
path = "/tmp/other.db"
max_disk_bytes = 1000
[rules]
dir = "/etc/ferry/rules.d"
[log]
level = "warning"
[sys]
interval = 60
)"));
    QStringList restart;
    const QStringList live = reloadableDifferences(running, next, &restart);
    QCOMPARE(live,
             (QStringList{"limits.max_inflight", "limits.queue_overflow", "storage.max_disk_bytes",
                          "rules.dir", "log.level", "sys.interval"}));
    QCOMPARE(restart, (QStringList{"listener mqtt-ws@127.0.0.1:8083 (removed)",
                                   "listener mqtt@127.0.0.1:1884 (added)", "storage.path"}));
    // A null needsRestart is allowed.
    QCOMPARE(reloadableDifferences(running, next, nullptr), live);
}

void TestConfig::reloadChangedListener()
{
    const Config a = mustLoad(QStringLiteral("[[listener]]\nallow_anonymous = true\n"));
    const Config b = mustLoad(QStringLiteral("[[listener]]\nallow_anonymous = false\n"));
    QStringList restart;
    QCOMPARE(reloadableDifferences(a, b, &restart), QStringList());
    QCOMPARE(restart, QStringList{"listener mqtt@127.0.0.1:1883 (changed)"});
}

QTEST_APPLESS_MAIN(TestConfig)
#include "tst_config.moc"
