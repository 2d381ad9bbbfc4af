// The engine as the broker sees it: FROM matching, events, actions (republish, bridge, store,
// webhook, log), republish loop bound, metrics, and atomic reload from a directory.

#include "RuleHarness.h"
#include "rules/FilterMatch.h"
#include "rules/StoreDatabase.h"

#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

using namespace ferry::rules;
using namespace ferry::rules::test;

namespace {

void writeFile(const QString &path, const QByteArray &text)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(text);
}

// A one-request-per-connection HTTP server on 127.0.0.1 that answers with `status`.
struct HttpStub {
    QTcpServer server;
    int status = 200;
    QList<QByteArray> requests;
    HttpStub()
    {
        server.listen(QHostAddress::LocalHost, 0);
        QObject::connect(&server, &QTcpServer::newConnection, [this] {
            while (QTcpSocket *s = server.nextPendingConnection()) {
                auto buf = std::make_shared<QByteArray>();
                QObject::connect(s, &QTcpSocket::readyRead, s, [this, s, buf] {
                    *buf += s->readAll();
                    const qsizetype head = buf->indexOf("\r\n\r\n");
                    if (head < 0)
                        return;
                    qsizetype length = 0;
                    for (const QByteArray &line : buf->left(head).split('\n'))
                        if (line.toLower().startsWith("content-length:"))
                            length = line.mid(15).trimmed().toLongLong();
                    if (buf->size() < head + 4 + length)
                        return;
                    requests.append(*buf);
                    s->write("HTTP/1.1 " + QByteArray::number(status) +
                             " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    s->disconnectFromHost();
                });
            }
        });
    }
    QByteArray url() const
    {
        return "http://127.0.0.1:" + QByteArray::number(server.serverPort()) + "/hook";
    }
};

} // namespace

class TestRuleEngine : public QObject {
    Q_OBJECT
private slots:
    void fromIndexMatchesOnlyItsFilters();
    void fromIndexAgreesWithFilterMatches();
    void fromIndexRemembersResultsExactly();
    void templatesWalkNestedFields();
    void templatesRenderTopLevelColumns();
    void messageFieldsPassedToTheRule();
    void severalSourcesAndSysTopics();
    void eventsAsSources();
    void payloadMembersOfMessagesAndEvents();
    void republishBuildsTheMessage();
    void bridgeActionReachesTheSink();
    void republishCycleIsBounded();
    void republishHopsBoundDeferredCycles();
    void listensToNamedEventsOnly();
    void nameMustBeATopicLevel();
    void storeKeepsRetentionLimit();
    void webhookPostsJsonAndCountsOutcome();
    void reloadKeepsOldSetOnBrokenFile();
    void disabledRuleDoesNotRun();
    void metricsCountEveryOutcome();
};

void TestRuleEngine::fromIndexMatchesOnlyItsFilters()
{
    RuleEngine engine;
    QByteArray toml;
    for (int i = 0; i < 100; ++i)
        toml += ruleToml("SELECT 1 AS x FROM \"other/" + QByteArray::number(i) + "/#\"", "[]",
                         "r" + QByteArray::number(i));
    toml += ruleToml("SELECT topic FROM \"sensors/+/temp\"", "[]", "hit");
    QVERIFY(engine.loadText("e.toml", toml).ok);
    QStringList ran;
    engine.setOutputObserver([&](const QString &rule, const QVariantMap &) { ran.append(rule); });
    engine.onMessage(message("sensors/1/temp", "{}"));
    engine.onMessage(message("sensors/1/hum", "{}"));
    QCOMPARE(ran, QStringList{"hit"});
    quint64 matched = 0;
    for (const RuleMetrics &m : engine.metrics())
        matched += m.matched;
    QCOMPARE(matched, 1u);
}

void TestRuleEngine::fromIndexAgreesWithFilterMatches()
{
    // The index (what onMessage uses) against the plain matcher, on filters and topics that
    // exercise '+', '#' (also matching its parent), empty levels and '$' topics.
    const QList<QByteArray> filters = {"a/b",  "a/+",    "+/b",    "#",      "a/#",   "+/+",
                                       "+",    "a/b/#",  "$SYS/#", "$SYS/+", "+/b/c", "a//c",
                                       "a/+/c", "+/#",   "/b",     "a/",     "$e/x",  "a/b"};
    FilterIndex index;
    for (int i = 0; i < filters.size(); ++i)
        index.insert(filters[i], i == filters.size() - 1 ? 0 : i); // "a/b" twice for id 0
    const QList<QByteArray> topics = {"a",    "a/b",  "a/b/c", "b",   "x/b", "x/b/c", "$SYS",
                                      "$SYS/a", "$SYS/a/b", "a//c", "a/", "/b", "/", "",
                                      "$e/x", "a/c/c"};
    // Twice: the second pass answers the topics that matched nothing from the no-match table.
    for (int pass = 0; pass < 2; ++pass) {
        for (const QByteArray &t : topics) {
            QList<int> expected;
            for (int i = 0; i < filters.size() - 1; ++i)
                if (filterMatches(filters[i], t))
                    expected.append(i);
            QList<int> got{-1}; // match() appends after what is there
            index.match(t, &got);
            QCOMPARE(got.takeFirst(), -1);
            QVERIFY2(got == expected, t.constData());
        }
    }
}

void TestRuleEngine::fromIndexRemembersResultsExactly()
{
    // Results are remembered by topic hash in 256 slots: many topics share a slot, topics
    // differ in one byte or only in length, some are longer than a slot holds, some match one
    // or more filters; a remembered result is always the walk's, and an insert forgets all.
    FilterIndex index;
    const QList<QByteArray> filters = {"bench/site1/x1", "bench/+/hum2", "site3/#",
                                       "many/#",         "many/+",       "+/x",
                                       "many/x",         "+/+",          "many/x/#"};
    for (int i = 0; i < filters.size(); ++i)
        index.insert(filters[i], i);
    const QByteArray longPrefix(100, 'L');
    QList<QByteArray> topics;
    for (int i = 0; i < 1000; ++i) {
        const QByteArray n = QByteArray::number(i);
        topics << "bench/site1/t" + n << "bench/site" + n + "/hum2" << "site" + n + "/a"
               << longPrefix + n << "bench/site1/x" + n << longPrefix + "/" + n;
    }
    topics << "" << "bench" << "bench/" << "bench/site1" << "bench/site1/x" << "bench/site1/x1/"
           << "site3" << "$site3/a" << "many/x" << "many/y" << "many" << "y/x" << "many/x/z";
    for (int pass = 0; pass < 3; ++pass) {
        for (const QByteArray &t : topics) {
            QList<int> expected;
            for (int i = 0; i < filters.size(); ++i)
                if (filterMatches(filters[i], t))
                    expected.append(i);
            QList<int> got{-1}; // match() appends after what is there
            index.match(t, &got);
            QCOMPARE(got.takeFirst(), -1);
            QVERIFY2(got == expected, t.constData());
        }
    }
    QVERIFY(index.rememberedTopics() > 200); // most slots hold a topic by now
    QList<int> got;
    index.match("many/t7", &got);
    index.match("many/t7", &got); // remembered now
    QCOMPARE(got, (QList<int>{3, 4, 7, 3, 4, 7}));
    index.insert("many/t7", 9); // a reload builds a new index; insert forgets anyway
    QCOMPARE(index.rememberedTopics(), 0);
    got.clear();
    index.match("many/t7", &got);
    QCOMPARE(got, (QList<int>{3, 4, 7, 9}));
}

void TestRuleEngine::templatesWalkNestedFields()
{
    OneRule r("SELECT payload.o AS o, payload.s AS s FROM \"in/#\"",
              R"([{ type = "republish", topic = "out/${o.a}/${s.k}", )"
              R"(payload = '${missing.y}|$${x}|${o}|${s.k}|${o.a.b}' }])");
    QVERIFY2(r.report.ok, qPrintable(r.report.lines().join("\n")));
    r.run(message("in/1", R"({"o":{"a":1},"s":"{\"k\":\"v\"}"})"));
    QCOMPARE(r.sink.republished.size(), 1);
    QCOMPARE(r.sink.republished[0].topic(), QByteArray("out/1/v"));
    QCOMPARE(r.sink.republished[0].payload(), QByteArray(R"(|${x}|{"a":1}|v|)"));
}

void TestRuleEngine::templatesRenderTopLevelColumns()
{
    // ${name} of each value type (strings are appended from the row as they are).
    OneRule r("SELECT payload.s AS s, payload.n AS n, payload.f AS f, payload.b AS b, "
              "payload.a AS a, payload.z AS z, payload.e AS e FROM \"in/#\"",
              R"([{ type = "republish", topic = "out/${s}${e}/${n}", )"
              R"(payload = '${s}|${n}|${f}|${b}|${a}|${z}|${nope}|${e}|' }])");
    QVERIFY2(r.report.ok, qPrintable(r.report.lines().join("\n")));
    r.run(message("in/1", R"({"s":"x","n":7,"f":2.5,"b":true,"a":[1,"q"],"z":null,"e":""})"));
    QCOMPARE(r.sink.republished.size(), 1);
    QCOMPARE(r.sink.republished[0].topic(), QByteArray("out/x/7"));
    QCOMPARE(r.sink.republished[0].payload(), QByteArray(R"(x|7|2.5|true|[1,"q"]||||)"));
}

void TestRuleEngine::messageFieldsPassedToTheRule()
{
    // payload, clientid and topic reach the rule from the message's bytes: a null payload
    // reads as "", a null client id as undefined, an empty one as "".
    OneRule r("SELECT payload AS p, clientid AS c, is_null(clientid) AS cn, topic AS t, "
              "strlen(payload) AS n, payload.x AS x FROM \"in/#\"");
    QVERIFY2(r.report.ok, qPrintable(r.report.lines().join("\n")));
    QCOMPARE(r.run(message("in/1", QByteArray(), QByteArray())),
             QString(R"({"cn":true,"n":0,"p":"","t":"in/1"})"));
    QCOMPARE(r.run(message("in/2", QByteArray(""), QByteArray(""))),
             QString(R"({"c":"","cn":false,"n":0,"p":"","t":"in/2"})"));
    QCOMPARE(r.run(message("in/3", R"({"x":[1]})", "dev-7")),
             QString(R"({"c":"dev-7","cn":false,"n":9,"p":"{\"x\":[1]}","t":"in/3","x":[1]})"));
}

void TestRuleEngine::severalSourcesAndSysTopics()
{
    OneRule r("SELECT topic FROM \"a/#\", \"#\", \"b\"");
    QCOMPARE(r.run(message("a", "")), QString(R"({"topic":"a"})")); // a/# matches its parent
    QCOMPARE(r.run(message("b", "")), QString(R"({"topic":"b"})"));
    QCOMPARE(r.engine.metrics()[0].matched, 2u); // once per message though two filters match
    // MQTT-4.7.2-1: '#' does not match topics starting with '$'.
    QCOMPARE(r.run(message("$SYS/broker/uptime", "")), QString("not matched"));
}

void TestRuleEngine::eventsAsSources()
{
    RuleEngine engine;
    QList<QVariantMap> rows;
    engine.setOutputObserver([&](const QString &, const QVariantMap &row) { rows.append(row); });
    QVERIFY(engine
                .loadText("e.toml", ruleToml("SELECT clientid, event, reason FROM "
                                             "\"$events/client_disconnected\" WHERE clientid "
                                             "=~ 'dev/+'"))
                .ok);
    engine.onEvent("$events/client_disconnected",
                   {{"clientid", QString("dev/1")}, {"reason", QString("normal")}});
    engine.onEvent("$events/client_disconnected", {{"clientid", QString("other")}});
    engine.onEvent("$events/client_connected", {{"clientid", QString("dev/1")}});
    QCOMPARE(rows.size(), 1);
    QCOMPARE(json::write(rows[0]),
             QByteArray(R"({"clientid":"dev/1","event":"client.disconnected","reason":"normal"})"));
}

void TestRuleEngine::payloadMembersOfMessagesAndEvents()
{
    // A rule that reads payload only as JSON decodes the input's payload where it is: a
    // message's (none reads as ""), an event's payload field (a string; absent or another
    // type is undefined); a rule that also reads the raw payload gets the same values.
    RuleEngine engine;
    QStringList rows;
    engine.setOutputObserver([&](const QString &rule, const QVariantMap &row) {
        rows.append(rule + " " + QString::fromUtf8(json::write(row)));
    });
    QVERIFY(engine
                .loadText("e.toml",
                          ruleToml("SELECT payload.x AS x, payload.o.k AS k, clientid FROM "
                                   "\"$events/message_delivered\", \"m/#\"",
                                   "[]", "json") +
                              ruleToml("SELECT payload.x AS x, strlen(payload) AS n FROM \"m/#\"",
                                       "[]", "raw"))
                .ok);
    engine.onEvent("$events/message_delivered",
                   {{"clientid", QString("c")}, {"payload", QByteArray(R"({"x":1,"o":{"k":"v"}})")}});
    engine.onEvent("$events/message_delivered",
                   {{"clientid", QString("c")}, {"payload", QString(R"({"x":2})")}});
    engine.onEvent("$events/message_delivered", {{"clientid", QString("c")}});
    engine.onEvent("$events/message_delivered",
                   {{"clientid", QString("c")}, {"payload", QVariantMap{{"x", 3}}}});
    engine.onMessage(message("m/1", R"({"x":4})", "d"));
    engine.onMessage(message("m/2", QByteArray(), "d"));
    engine.onMessage(message("m/3", "[1]", "d"));
    QCOMPARE(rows, (QStringList{R"(json {"clientid":"c","k":"v","x":1})",
                                R"(json {"clientid":"c","x":2})", R"(json {"clientid":"c"})",
                                R"(json {"clientid":"c"})", R"(json {"clientid":"d","x":4})",
                                R"(raw {"n":7,"x":4})", R"(json {"clientid":"d"})",
                                R"(raw {"n":0})", R"(json {"clientid":"d"})", R"(raw {"n":3})"}));
}

void TestRuleEngine::republishBuildsTheMessage()
{
    OneRule r(
        "SELECT payload.temp AS temp, clientid FROM \"sensors/+/temp\" WHERE payload.temp > 30",
        "[{ type = \"republish\", topic = \"alerts/${clientid}/${temp}\", qos = 2, "
        "retain = true, payload = '{\"t\":${temp},\"who\":\"${clientid}\"}', "
        "user_properties = { origin = \"rule\", dev = \"${clientid}\" } }]");
    QVERIFY2(r.report.ok, qPrintable(r.report.lines().join("\n")));
    r.run(message("sensors/1/temp", R"({"temp":31})", "dev1"));
    r.run(message("sensors/1/temp", R"({"temp":3})", "dev1"));
    QCOMPARE(r.sink.republished.size(), 1);
    const ferry::core::Message &m = r.sink.republished[0];
    QCOMPARE(m.topic(), QByteArray("alerts/dev1/31"));
    QCOMPARE(m.payload(), QByteArray(R"({"t":31,"who":"dev1"})"));
    QCOMPARE(int(m.qos()), 2);
    QCOMPARE(m.retain(), true);
    using UP = QList<ferry::core::UserProperty>;
    QCOMPARE(m.data().userProperties, (UP{{"dev", "dev1"}, {"origin", "rule"}}));
    QCOMPARE(r.engine.metrics()[0].actionsFired, 1u);
}

void TestRuleEngine::bridgeActionReachesTheSink()
{
    OneRule r("SELECT * FROM \"t/#\"",
              R"([{ type = "bridge", bridge = "cloud", topic = "edge/gw1/${topic}", qos = 1 }])");
    r.run(message("t/x", "raw"));
    QCOMPARE(r.sink.bridged.size(), 1);
    QCOMPARE(r.sink.bridged[0].first, QString("cloud"));
    QCOMPARE(r.sink.bridged[0].second.topic(), QByteArray("edge/gw1/t/x"));
    QVERIFY(r.sink.bridged[0].second.payload().contains("\"payload\":\"raw\""));
}

void TestRuleEngine::republishCycleIsBounded()
{
    // Two rules republish into each other's FROM: each alone passes the load-time check, the
    // run-time depth bound stops the cycle.
    RuleEngine engine;
    RecordingSink sink;
    engine.setActionSink(&sink);
    sink.onRepublish = [&](const ferry::core::Message &m) { engine.onMessage(m); };
    const QByteArray toml =
        ruleToml("SELECT * FROM \"a/#\"", R"([{ type = "republish", topic = "b/x" }])", "ab") +
        ruleToml("SELECT * FROM \"b/#\"", R"([{ type = "republish", topic = "a/x" }])", "ba");
    QVERIFY(engine.loadText("e.toml", toml).ok);
    engine.onMessage(message("a/start", "{}"));
    QCOMPARE(sink.republished.size(), 4); // kMaxRepublishDepth
    quint64 failed = 0;
    for (const RuleMetrics &m : engine.metrics())
        failed += m.actionsFailed;
    QCOMPARE(failed, 1u);
    QVERIFY(engine.metrics()[0].lastActionError.contains("republish depth limit 4") ||
            engine.metrics()[1].lastActionError.contains("republish depth limit 4"));
}

void TestRuleEngine::republishHopsBoundDeferredCycles()
{
    // A cycle that runs through later events (message_acked of a republished message) is
    // not nested in one call: the hop count the message carries bounds it.
    RuleEngine engine;
    RecordingSink sink;
    engine.setActionSink(&sink);
    QVERIFY(engine
                .loadText("e.toml",
                          ruleToml("SELECT topic FROM \"$events/message_acked\"",
                                   R"([{ type = "republish", topic = "again/x" }])"))
                .ok);
    int hops = 0;
    for (int step = 0; step < 10; ++step) {
        const qsizetype before = sink.republished.size();
        engine.onEvent("$events/message_acked", {{"topic", "again/x"}}, hops);
        if (sink.republished.size() == before)
            break;
        hops = sink.republished.last().data().ruleHops;
        QCOMPARE(hops, step + 1);
    }
    QCOMPARE(sink.republished.size(), 4); // kMaxRepublishDepth
    QCOMPARE(engine.metrics()[0].actionsFailed, 1u);
    // A message published by a client starts at 0 again.
    engine.onEvent("$events/message_acked", {{"topic", "t"}}, 0);
    QCOMPARE(sink.republished.size(), 5);
    QCOMPARE(sink.republished.last().data().ruleHops, 1);
}

void TestRuleEngine::listensToNamedEventsOnly()
{
    RuleEngine engine;
    QVERIFY(!engine.listensTo("$events/message_delivered"));
    QVERIFY(engine
                .loadText("e.toml", ruleToml("SELECT * FROM \"#\", \"$events/message_acked\"") +
                                        ruleToml("SELECT * FROM \"$events/message_dropped\"",
                                                 "[]", "off") +
                                        "enabled = false\n")
                .ok);
    QVERIFY(engine.listensTo("$events/message_acked"));
    QVERIFY(!engine.listensTo("$events/message_delivered")); // "#" does not match '$' topics
    QVERIFY(!engine.listensTo("$events/message_dropped"));   // its rule is disabled
    QVERIFY(engine.loadText("e.toml", ruleToml("SELECT * FROM \"t\"")).ok);
    QVERIFY(!engine.listensTo("$events/message_acked"));
}

void TestRuleEngine::nameMustBeATopicLevel()
{
    // Metrics go out under $SYS/rules/<name>/...: a name with '/', '+' or '#' is refused.
    RuleEngine engine;
    for (const QByteArray name : {"a/b", "x+", "#"}) {
        const LoadReport r = engine.loadText("n.toml", ruleToml("SELECT * FROM \"t\"", "[]", name));
        QVERIFY(!r.ok);
        QCOMPARE(r.lines().value(0).left(11), QString("n.toml:2:8:"));
        QVERIFY2(r.lines().value(0).contains("must not contain '/', '+', '#'"),
                 qPrintable(r.lines().value(0)));
    }
    QVERIFY(engine.loadText("n.toml", ruleToml("SELECT * FROM \"t\"", "[]", "ok-name.v2")).ok);
}

void TestRuleEngine::storeKeepsRetentionLimit()
{
    QTemporaryDir dir;
    RuleEngine engine;
    engine.setStorePath(dir.filePath("rules.db"));
    QVERIFY(
        engine
            .loadText("e.toml", ruleToml("SELECT payload.n AS n FROM \"t\"",
                                         R"([{ type = "store", table = "hist", max_rows = 3 }])"))
            .ok);
    for (int i = 1; i <= 5; ++i)
        engine.onMessage(message("t", "{\"n\":" + QByteArray::number(i) + "}"));
    auto db = engine.storeDatabase();
    QCOMPARE(db->rowCount("hist"), 3);
    QCOMPARE(engine.metrics()[0].actionsFired, 5u);
    // The rows are the last three outputs, as JSON.
    QCOMPARE(db->failedRows(), 0u);
}

void TestRuleEngine::webhookPostsJsonAndCountsOutcome()
{
    HttpStub http;
    QVERIFY(http.server.isListening());
    RuleEngine engine;
    const QByteArray actions =
        "[{ type = \"webhook\", url = \"" + http.url() +
        "\", headers = { \"X-Device\" = \"${clientid}\" }, timeout_ms = 5000 }]";
    QVERIFY(
        engine.loadText("e.toml", ruleToml("SELECT clientid, payload.v AS v FROM \"t\"", actions))
            .ok);
    engine.onMessage(message("t", R"({"v":1})", "dev9"));
    QTRY_COMPARE(engine.metrics()[0].actionsFired, 1u);
    QCOMPARE(http.requests.size(), 1);
    const QByteArray req = http.requests[0];
    QVERIFY(req.startsWith("POST /hook HTTP/1.1\r\n"));
    QVERIFY(req.toLower().contains("x-device: dev9\r\n"));
    QVERIFY(req.toLower().contains("content-type: application/json\r\n"));
    QVERIFY(req.endsWith("\r\n\r\n{\"clientid\":\"dev9\",\"v\":1}"));
    http.status = 500;
    engine.onMessage(message("t", R"({"v":2})", "dev9"));
    QTRY_COMPARE(engine.metrics()[0].actionsFailed, 1u);
    QVERIFY2(engine.metrics()[0].lastActionError.endsWith("HTTP 500"),
             qPrintable(engine.metrics()[0].lastActionError));
}

void TestRuleEngine::reloadKeepsOldSetOnBrokenFile()
{
    QTemporaryDir dir;
    writeFile(dir.filePath("10-a.toml"), ruleToml("SELECT 'v1' AS v FROM \"t\"", "[]", "a"));
    RuleEngine engine;
    QStringList out;
    engine.setOutputObserver([&](const QString &rule, const QVariantMap &row) {
        out.append(rule + "=" + row.value("v").toString());
    });
    QVERIFY(engine.loadDirectory(dir.path()).ok);
    engine.onMessage(message("t", "{}"));
    // A second file with a broken rule, and a changed first file: nothing of it takes effect.
    writeFile(dir.filePath("10-a.toml"), ruleToml("SELECT 'v2' AS v FROM \"t\"", "[]", "a"));
    writeFile(dir.filePath("20-b.toml"), ruleToml("SELECT nope( FROM \"t\"", "[]", "b"));
    const LoadReport bad = engine.loadDirectory(dir.path());
    QVERIFY(!bad.ok);
    QCOMPARE(bad.lines(), QStringList{dir.filePath("20-b.toml") +
                                      ":4:14: expected an expression, found 'FROM'"});
    engine.onMessage(message("t", "{}"));
    QCOMPARE(engine.ruleNames(), QStringList{"a"});
    // Fixed: the new set replaces the old one whole, and a's counters carry over.
    writeFile(dir.filePath("20-b.toml"), ruleToml("SELECT 'b1' AS v FROM \"t\"", "[]", "b"));
    QVERIFY(engine.loadDirectory(dir.path()).ok);
    engine.onMessage(message("t", "{}"));
    QCOMPARE(out, QStringList({"a=v1", "a=v1", "a=v2", "b=b1"}));
    QCOMPARE(engine.metrics()[0].matched, 3u);
    // Duplicate names across files are refused too.
    writeFile(dir.filePath("30-c.toml"), ruleToml("SELECT 1 AS v FROM \"t\"", "[]", "a"));
    QVERIFY(!engine.loadDirectory(dir.path()).ok);
    QCOMPARE(engine.ruleNames(), QStringList({"a", "b"}));
}

void TestRuleEngine::disabledRuleDoesNotRun()
{
    RuleEngine engine;
    QVERIFY(engine
                .loadText("e.toml", "[[rule]]\nname = \"off\"\nenabled = false\nsql = 'SELECT 1 "
                                    "AS x FROM \"t\"'\n")
                .ok);
    engine.onMessage(message("t", "{}"));
    QCOMPARE(engine.metrics()[0].matched, 0u);
}

void TestRuleEngine::metricsCountEveryOutcome()
{
    OneRule r("SELECT payload.v + 1 AS w FROM \"t\" WHERE payload.v > 0", R"([{ type = "log" }])");
    r.run(message("t", R"({"v":1})"));   // passed
    r.run(message("t", R"({"v":-1})"));  // no result
    r.run(message("t", R"({"v":"x"})")); // failed: cannot compare
    const RuleMetrics m = r.engine.metrics()[0];
    QCOMPARE(m.matched, 3u);
    QCOMPARE(m.passed, 1u);
    QCOMPARE(m.noResult, 1u);
    QCOMPARE(m.failed, 1u);
    QCOMPARE(m.lastError, QString("cannot compare non-numeric string 'x' with number"));
    QCOMPARE(m.outputs, 1u);
    QCOMPARE(m.actionsFired, 1u);
    QVERIFY(m.timeNs > 0);
}

QTEST_GUILESS_MAIN(TestRuleEngine)
#include "tst_rule_engine.moc"
