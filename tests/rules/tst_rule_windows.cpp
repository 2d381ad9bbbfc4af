// Windowed aggregation on a clock the test moves: tumbling, hopping and count windows, every
// aggregate, expressions over aggregates, GROUP BY keys, and windows closing without traffic.

#include "RuleHarness.h"

#include <QtTest>

using namespace ferry::rules;
using namespace ferry::rules::test;

namespace {

struct Windowed {
    ManualClock clock{1000};
    RuleEngine engine;
    QStringList rows;
    LoadReport report;

    explicit Windowed(const QByteArray &sql)
    {
        engine.setClock(&clock);
        engine.setOutputObserver([this](const QString &, const QVariantMap &row) {
            rows.append(QString::fromUtf8(json::write(row)));
        });
        report = engine.loadText("w.toml", ruleToml(sql));
    }
    void send(const QByteArray &client, const QByteArray &payload)
    {
        engine.onMessage(message("s/" + client, payload, client));
    }
};

} // namespace

class TestRuleWindows : public QObject {
    Q_OBJECT
private slots:
    void tumblingAggregatesPerGroup();
    void tumblingClosesOnNextMessage();
    void emptyWindowEmitsNothing();
    void whereFiltersBeforeAggregation();
    void expressionsOverAggregates();
    void hoppingWindowsOverlap();
    void windowBounds();
    void countWindowPerGroup();
    void timerClosesWindowWithoutTraffic();
    void reloadStartsFreshWindows();
    void windowErrors();
};

void TestRuleWindows::tumblingAggregatesPerGroup()
{
    Windowed w("SELECT avg(payload.t) AS avg, min(payload.t) AS lo, max(payload.t) AS hi, "
               "sum(payload.t) AS sum, count(*) AS n, count(payload.x) AS nx, first(payload.t) AS "
               "f, last(payload.t) AS l, clientid FROM \"s/+\" GROUP BY clientid, TUMBLING(10s)");
    QVERIFY2(w.report.ok, qPrintable(w.report.lines().join("\n")));
    w.send("c2", R"({"t":10})");
    w.send("c1", R"({"t":1,"x":true})");
    w.send("c1", R"({"t":2})");
    w.send("c1", R"({"t":6})");
    w.clock.setNowMs(9999);
    w.engine.closeDueWindows();
    QCOMPARE(w.rows, QStringList());
    w.clock.setNowMs(10000); // window [0, 10000) ends
    w.engine.closeDueWindows();
    QCOMPARE(
        w.rows,
        QStringList({
            R"({"avg":3.0,"clientid":"c1","f":1,"hi":6,"l":6,"lo":1,"n":3,"nx":1,"sum":9})",
            R"({"avg":10.0,"clientid":"c2","f":10,"hi":10,"l":10,"lo":10,"n":1,"nx":0,"sum":10})",
        }));
    w.engine.closeDueWindows();
    QCOMPARE(w.rows.size(), 2); // closed once
}

void TestRuleWindows::tumblingClosesOnNextMessage()
{
    Windowed w("SELECT sum(payload.t) AS s FROM \"s/+\" GROUP BY TUMBLING(1s)");
    w.send("a", R"({"t":1.5})");
    w.send("a", R"({"t":2})");
    w.clock.setNowMs(2500); // a later window: the old one closes before this message counts
    w.send("a", R"({"t":100})");
    QCOMPARE(w.rows, QStringList({R"({"s":3.5})"}));
    w.clock.setNowMs(3000);
    w.engine.closeDueWindows();
    QCOMPARE(w.rows, QStringList({R"({"s":3.5})", R"({"s":100})"}));
}

void TestRuleWindows::emptyWindowEmitsNothing()
{
    Windowed w("SELECT count(*) AS n FROM \"s/+\" GROUP BY TUMBLING(1s)");
    w.clock.setNowMs(50000);
    w.engine.closeDueWindows();
    QCOMPARE(w.rows, QStringList());
}

void TestRuleWindows::whereFiltersBeforeAggregation()
{
    Windowed w("SELECT count(*) AS n, max(payload.t) AS m FROM \"s/+\" WHERE payload.t > 5 GROUP "
               "BY TUMBLING(10s)");
    w.send("a", R"({"t":1})");
    w.send("a", R"({"t":7})");
    w.send("a", R"({"t":9})");
    w.send("a", R"({"u":9})");
    w.engine.flushWindows();
    QCOMPARE(w.rows, QStringList({R"({"m":9,"n":2})"}));
    QCOMPARE(w.engine.metrics()[0].matched, 4u);
    QCOMPARE(w.engine.metrics()[0].passed, 2u);
    QCOMPARE(w.engine.metrics()[0].noResult, 2u);
}

void TestRuleWindows::expressionsOverAggregates()
{
    Windowed w("SELECT round(avg(payload.t), 1) AS r, max(payload.t) - min(payload.t) AS spread, "
               "upper(clientid) AS who, 'k' + str(count(*)) AS tag FROM \"s/+\" GROUP BY "
               "clientid, TUMBLING(10s)");
    QVERIFY2(w.report.ok, qPrintable(w.report.lines().join("\n")));
    w.send("ab", R"({"t":1})");
    w.send("ab", R"({"t":2})");
    w.send("ab", R"({"t":2})");
    w.engine.flushWindows();
    QCOMPARE(w.rows, QStringList({R"({"r":1.7,"spread":1,"tag":"k3","who":"AB"})"}));
}

void TestRuleWindows::hoppingWindowsOverlap()
{
    // HOPPING(10s, 5s): windows start every 5 s and last 10 s.
    Windowed w("SELECT count(*) AS n, sum(payload.t) AS s FROM \"s/+\" GROUP BY HOPPING(10s, 5s)");
    w.clock.setNowMs(7000); // in [0,10000) and [5000,15000)
    w.send("a", R"({"t":1})");
    w.clock.setNowMs(12000); // in [5000,15000) and [10000,20000)
    w.send("a", R"({"t":10})");
    QCOMPARE(w.rows, QStringList({R"({"n":1,"s":1})"})); // [0,10000) closed on arrival
    w.clock.setNowMs(15000);
    w.engine.closeDueWindows();
    QCOMPARE(w.rows.last(), QString(R"({"n":2,"s":11})"));
    w.clock.setNowMs(20000);
    w.engine.closeDueWindows();
    QCOMPARE(w.rows.last(), QString(R"({"n":1,"s":10})"));
    QCOMPARE(w.rows.size(), 3);
}

void TestRuleWindows::windowBounds()
{
    Windowed w("SELECT window_start AS ws, window_end AS we, window_end - window_start AS len, "
               "count(*) AS n FROM \"s/+\" GROUP BY TUMBLING(10s)");
    QVERIFY2(w.report.ok, qPrintable(w.report.lines().join("\n")));
    w.clock.setNowMs(1700000003000);
    w.send("a", "{}");
    w.clock.setNowMs(1700000010000);
    w.engine.closeDueWindows();
    QCOMPARE(w.rows, QStringList({R"({"len":10000,"n":1,"we":1700000010000,"ws":1700000000000})"}));
}

void TestRuleWindows::countWindowPerGroup()
{
    Windowed w(
        "SELECT avg(payload.t) AS a, clientid FROM \"s/+\" GROUP BY clientid, COUNTWINDOW(3)");
    w.send("x", R"({"t":1})");
    w.send("y", R"({"t":100})");
    w.send("x", R"({"t":2})");
    QCOMPARE(w.rows, QStringList());
    w.send("x", R"({"t":6})");
    QCOMPARE(w.rows, QStringList({R"({"a":3.0,"clientid":"x"})"}));
    w.send("y", R"({"t":200})");
    w.send("y", R"({"t":300})");
    QCOMPARE(w.rows.last(), QString(R"({"a":200.0,"clientid":"y"})"));
}

void TestRuleWindows::timerClosesWindowWithoutTraffic()
{
    // The engine arms a timer for the next window end; with the clock already past it, the
    // timer fires at once and the window closes although no message follows.
    Windowed w("SELECT count(*) AS n FROM \"s/+\" GROUP BY TUMBLING(1s)");
    w.send("a", "{}");
    w.clock.setNowMs(5000);
    QTRY_COMPARE(w.rows, QStringList({R"({"n":1})"}));
}

void TestRuleWindows::reloadStartsFreshWindows()
{
    Windowed w("SELECT count(*) AS n FROM \"s/+\" GROUP BY TUMBLING(10s)");
    w.send("a", "{}");
    QVERIFY(w.engine
                .loadText("w.toml", ruleToml("SELECT count(*) AS n FROM \"s/+\" GROUP BY "
                                             "TUMBLING(10s)"))
                .ok);
    w.send("a", "{}");
    w.engine.flushWindows();
    QCOMPARE(w.rows, QStringList({R"({"n":1})"}));
}

void TestRuleWindows::windowErrors()
{
    RuleEngine e;
    QCOMPARE(
        e.loadText("w.toml", ruleToml("SELECT payload.t FROM \"s\" GROUP BY clientid")).lines(),
        QStringList({"w.toml:4:36: GROUP BY needs a window: add TUMBLING(d), HOPPING(d, h) "
                     "or COUNTWINDOW(n)"}));
    QCOMPARE(e.loadText("w.toml", ruleToml("SELECT * FROM \"s\" GROUP BY TUMBLING(1s)")).lines(),
             QStringList({"w.toml:4:8: SELECT * cannot be windowed: name the columns"}));
    QCOMPARE(e.loadText("w.toml", ruleToml("SELECT avg(max(payload.t)) AS a FROM \"s\" GROUP BY "
                                           "TUMBLING(1s)"))
                 .lines(),
             QStringList({"w.toml:4:12: aggregates cannot be nested"}));
    QCOMPARE(e.loadText("w.toml", ruleToml("FOREACH payload.l FROM \"s\" GROUP BY TUMBLING(1s)"))
                 .lines(),
             QStringList({"w.toml:4:37: FOREACH cannot be windowed"}));
}

QTEST_GUILESS_MAIN(TestRuleWindows)
#include "tst_rule_windows.moc"
