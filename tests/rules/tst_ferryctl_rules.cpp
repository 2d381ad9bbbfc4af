// `ferryctl rules check` and `ferryctl rules test` run as processes on sample files: exact
// output and exit codes.

#include "FerryctlSamples.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

struct Run {
    int code = -1;
    QString out;
    QString err;
};

Run ferryctl(const QStringList &args)
{
    QProcess p;
    p.start(FERRYCTL_PATH, args);
    Run r;
    if (!p.waitForFinished(30000))
        return r;
    r.code = p.exitCode();
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

void write(const QString &path, const QByteArray &text)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
}

} // namespace

class TestFerryctlRules : public QObject {
    Q_OBJECT
private slots:
    void checkGoodFile();
    void checkDirectoryReportsEveryError();
    void checkMissingPath();
    void testPrintsOutputAndActions();
    void testWhereNotHolding();
    void testForeach();
    void testTopicNotMatching();
    void testRuleFails();
    void usageErrors();
};

void TestFerryctlRules::checkGoodFile()
{
    QTemporaryDir dir;
    write(dir.filePath("good.toml"), kGood);
    const Run r = ferryctl({"rules", "check", dir.filePath("good.toml")});
    QCOMPARE(r.err, QString());
    QCOMPARE(r.out, QString("OK: 2 rules in 1 file\n"));
    QCOMPARE(r.code, 0);
}

void TestFerryctlRules::checkDirectoryReportsEveryError()
{
    QTemporaryDir dir;
    write(dir.filePath("a-good.toml"), kGood);
    write(dir.filePath("b-bad.toml"), kBad);
    write(dir.filePath("c-toml.toml"), "[[rule]]\nname = 3\n");
    write(dir.filePath("ignored.txt"), "not a rule file");
    const Run r = ferryctl({"rules", "check", dir.path()});
    QCOMPARE(r.out, QString());
    QCOMPARE(r.err, dir.filePath("b-bad.toml") + ":6:1: expected ')', found 'FROM'\n" +
                        dir.filePath("c-toml.toml") + ":1:1: [[rule]] has no 'sql'\n" +
                        dir.filePath("c-toml.toml") + ":2:8: 'name' must be a non-empty string\n");
    QCOMPARE(r.code, 1);
}

void TestFerryctlRules::checkMissingPath()
{
    const Run r = ferryctl({"rules", "check", "/nonexistent/rules.d"});
    QCOMPARE(r.err, QString("ferryctl: /nonexistent/rules.d: no such file or directory\n"));
    QCOMPARE(r.code, 1);
}

void TestFerryctlRules::testPrintsOutputAndActions()
{
    QTemporaryDir dir;
    write(dir.filePath("good.toml"), kGood);
    const Run r =
        ferryctl({"rules", "test", dir.filePath("good.toml"), "--rule", "hot-sensors", "--topic",
                  "sensors/7/temp", "--payload", R"({"temp":35.5})", "--clientid", "dev7"});
    QCOMPARE(r.err, QString());
    QCOMPARE(r.out, QString("output: {\"clientid\":\"dev7\",\"temp\":35.5}\n"
                            "  action republish topic=alerts/dev7 qos=1 retain=false "
                            "payload={\"clientid\":\"dev7\",\"temp\":35.5}\n"
                            "  action bridge bridge=cloud topic=edge/gw1/dev7 qos=0 retain=false "
                            "payload={\"clientid\":\"dev7\",\"temp\":35.5}\n"));
    QCOMPARE(r.code, 0);
}

void TestFerryctlRules::testWhereNotHolding()
{
    QTemporaryDir dir;
    write(dir.filePath("good.toml"), kGood);
    const Run r = ferryctl({"rules", "test", dir.filePath("good.toml"), "--rule", "hot-sensors",
                            "--topic", "sensors/7/temp", "--payload", R"({"temp":20})"});
    QCOMPARE(r.out, QString("no output (WHERE did not hold, or FOREACH produced no rows)\n"));
    QCOMPARE(r.code, 0);
}

void TestFerryctlRules::testForeach()
{
    QTemporaryDir dir;
    write(dir.filePath("good.toml"), kGood);
    const Run r =
        ferryctl({"rules", "test", dir.filePath("good.toml"), "--rule", "per-sensor", "--topic",
                  "multi/x", "--payload", R"({"s":[{"id":"a","v":1},{"id":"b","v":2}]})"});
    QCOMPARE(r.out,
             QString("output: {\"id\":\"b\",\"v\":2}\n"
                     "  action store table=history max_rows=100 row={\"id\":\"b\",\"v\":2}\n"));
    QCOMPARE(r.code, 0);
}

void TestFerryctlRules::testTopicNotMatching()
{
    QTemporaryDir dir;
    write(dir.filePath("good.toml"), kGood);
    const Run r = ferryctl({"rules", "test", dir.filePath("good.toml"), "--rule", "hot-sensors",
                            "--topic", "other/topic", "--payload", "{}"});
    QCOMPARE(r.out,
             QString("rule hot-sensors: topic 'other/topic' does not match its FROM; the rule "
                     "would not run\n"));
    QCOMPARE(r.code, 1);
}

void TestFerryctlRules::testRuleFails()
{
    QTemporaryDir dir;
    write(dir.filePath("good.toml"), kGood);
    const Run r = ferryctl({"rules", "test", dir.filePath("good.toml"), "--rule", "hot-sensors",
                            "--topic", "sensors/1/temp", "--payload", R"({"temp":"hot"})"});
    QCOMPARE(r.err, QString("rule hot-sensors failed: cannot compare non-numeric string 'hot' with "
                            "number\n"));
    QCOMPARE(r.code, 1);
    const Run unknown = ferryctl({"rules", "test", dir.filePath("good.toml"), "--rule", "nope",
                                  "--topic", "t", "--payload", "{}"});
    QCOMPARE(unknown.err, "ferryctl: no rule named 'nope' in " + dir.filePath("good.toml") + "\n");
    QCOMPARE(unknown.code, 1);
}

void TestFerryctlRules::usageErrors()
{
    const Run r = ferryctl({"rules", "test", "x.toml", "--rule", "r"});
    QVERIFY(
        r.err.startsWith("ferryctl: rules test needs FILE, --rule, --topic and --payload\nusage:"));
    QCOMPARE(r.code, 2);
    QCOMPARE(ferryctl({"rules", "frobnicate"}).code, 2);
    QCOMPARE(ferryctl({}).code, 2);
}

QTEST_GUILESS_MAIN(TestFerryctlRules)
#include "tst_ferryctl_rules.moc"
