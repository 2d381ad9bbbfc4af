// rule_bench: rule executions per second on one thread, through the real RuleEngine API as
// app/RuleWiring.cpp drives it (loadDirectory on a rules.d, onMessage per publish, an
// ActionSink receiving republishes). Run by hand; never part of ctest (see RESULTS.md, "Rules").
//
//   rule_bench [--seconds 2] [--repeats 5] [--only NAME] [--iterations N] [--print-lua]
//
// Scenarios (the typical rule of issue 4: JSON payload, field compare, republish):
//   typical-N    the typical rule plus N-1 rules whose FROM does not match the topic; the
//                message passes WHERE and is republished (to a sink that only counts)
//   filtered-N   the same rules; the message matches FROM but WHERE is false (temp 25)
//   nomatch-100  100 rules, a topic that no FROM matches: the cost of the FROM index alone
// Each repeat runs the scenario for --seconds of wall time after a short warm-up; the rate is
// reported per wall second and per CPU second of this thread (CLOCK_THREAD_CPUTIME_ID), the
// latter being the fair "per core" figure on a shared, busy machine. Mean and standard
// deviation over the repeats are printed, one line per scenario. --iterations N runs exactly N
// executions per repeat instead (after the 20,000 of the warm-up), for instruction counts under
// `valgrind --tool=callgrind`, which do not depend on the machine's load.
#include "core/Message.h"
#include "rules/ActionSink.h"
#include "rules/Codegen.h"
#include "rules/Parser.h"
#include "rules/RuleEngine.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLoggingCategory>
#include <QTemporaryDir>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

using namespace ferry;

namespace {

const char kTypicalSql[] =
    "SELECT payload.temp AS t, clientid FROM \"sensors/+/temp\" WHERE payload.temp > 30";
const char kTypicalActions[] = R"([{ type = "republish", topic = "alerts/${clientid}/temp" }])";
const char kHotPayload[] = R"({"temp":31.5,"hum":40,"id":"abc"})";
const char kColdPayload[] = R"({"temp":25.0,"hum":40,"id":"abc"})";

struct CountingSink : rules::ActionSink {
    quint64 republished = 0;
    qsizetype bytes = 0;
    void republish(const core::Message &m) override
    {
        ++republished;
        bytes += m.payload().size();
    }
    void bridge(const QString &, const core::Message &) override {}
};

double threadCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

QByteArray ruleToml(const QByteArray &name, const QByteArray &sql, const QByteArray &actions)
{
    return "[[rule]]\nname = \"" + name + "\"\nsql = '''\n" + sql + "\n'''\nactions = " + actions +
           "\n\n";
}

// rules.d with the typical rule in one file and `total - 1` others, none of whose FROM
// filters matches "sensors/s1/temp" (some share its levels, some use wildcards).
bool writeRulesDir(const QString &dir, int total)
{
    QDir().mkpath(dir);
    QFile typical(dir + "/00-typical.toml");
    if (!typical.open(QIODevice::WriteOnly))
        return false;
    typical.write(ruleToml("typical", kTypicalSql, kTypicalActions));
    typical.close();
    QByteArray others;
    for (int i = 1; i < total; ++i) {
        const QByteArray n = QByteArray::number(i);
        QByteArray from;
        switch (i % 3) {
        case 0:
            from = "sensors/dev" + n + "/temp";
            break;
        case 1:
            from = "sensors/+/hum" + n;
            break;
        default:
            from = "site" + n + "/#";
            break;
        }
        others += ruleToml("other" + n,
                           "SELECT payload.temp AS t, clientid FROM \"" + from +
                               "\" WHERE payload.temp > 30",
                           "[{ type = \"republish\", topic = \"alerts/other" + n + "/${clientid}\" }]");
    }
    if (!others.isEmpty()) {
        QFile f(dir + "/10-others.toml");
        if (!f.open(QIODevice::WriteOnly))
            return false;
        f.write(others);
    }
    return true;
}

core::Message makeMessage(const QByteArray &topic, const QByteArray &payload)
{
    // As the MQTT adapter builds an accepted QoS 0 PUBLISH.
    core::Message m(topic, payload, 0, false);
    auto &d = m.edit();
    d.originClientId = "sensor-0001";
    d.originUsername = "fleet";
    d.originPeerHost = "10.0.0.17:51234";
    d.timestampMs = 1764100000000;
    d.id = 0x1234;
    return m;
}

struct Scenario {
    QByteArray name;
    int rules;
    QByteArray topic;
    QByteArray payload;
    bool expectRepublish;
    bool expectMatch;
};

struct Sample {
    double wallRate;
    double cpuRate;
};

void meanSd(const std::vector<double> &v, double *mean, double *sd)
{
    double s = 0;
    for (double x : v)
        s += x;
    *mean = v.empty() ? 0 : s / double(v.size());
    double q = 0;
    for (double x : v)
        q += (x - *mean) * (x - *mean);
    *sd = v.size() > 1 ? std::sqrt(q / double(v.size() - 1)) : 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QLoggingCategory::setFilterRules("ferry.*.info=false");
    double seconds = 2;
    int repeats = 5;
    QByteArray only;
    bool printLua = false;
    long long iterations = 0;
    for (int i = 1; i < argc; ++i) {
        const QByteArray a = argv[i];
        if (a == "--seconds" && i + 1 < argc)
            seconds = std::atof(argv[++i]);
        else if (a == "--repeats" && i + 1 < argc)
            repeats = std::atoi(argv[++i]);
        else if (a == "--only" && i + 1 < argc)
            only = argv[++i];
        else if (a == "--iterations" && i + 1 < argc)
            iterations = std::atoll(argv[++i]);
        else if (a == "--print-lua")
            printLua = true;
        else {
            std::fprintf(stderr, "usage: %s [--seconds S] [--repeats N] [--only NAME] [--iterations N] [--print-lua]\n",
                         argv[0]);
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 600 || repeats < 1 || repeats > 100 || iterations < 0 ||
        iterations > 1000000000) {
        std::fprintf(stderr, "--seconds must be in (0, 600], --repeats in [1, 100], "
                             "--iterations in [0, 1e9]\n");
        return 2;
    }
    if (printLua) {
        rules::Statement st;
        rules::CompiledQuery q;
        rules::SqlError err;
        if (!rules::Parser::parse(kTypicalSql, &st, &err) || !rules::Codegen::compile(st, &q, &err)) {
            std::fprintf(stderr, "typical rule does not compile\n");
            return 1;
        }
        std::printf("%s\n", q.lua.constData());
        return 0;
    }

    const QByteArray hot = "sensors/s1/temp";
    const std::vector<Scenario> scenarios = {
        {"typical-1", 1, hot, kHotPayload, true, true},
        {"typical-10", 10, hot, kHotPayload, true, true},
        {"typical-100", 100, hot, kHotPayload, true, true},
        {"filtered-1", 1, hot, kColdPayload, false, true},
        {"filtered-100", 100, hot, kColdPayload, false, true},
        {"nomatch-100", 100, "plant/line4/pressure", kHotPayload, false, false},
    };

    QTemporaryDir tmp;
    if (!tmp.isValid()) {
        std::fprintf(stderr, "no temporary directory\n");
        return 1;
    }
    std::printf("# rule_bench: %d repeats of %.1f s per scenario, one thread\n", repeats, seconds);
    std::printf("%-14s %6s %18s %18s %10s\n", "scenario", "rules", "exec/s (wall)",
                "exec/s per CPU-s", "cpu/wall");
    int exitCode = 0;
    for (const Scenario &sc : scenarios) {
        if (!only.isEmpty() && sc.name != only)
            continue;
        const QString dir = tmp.path() + "/rules.d-" + QString::number(sc.rules);
        if (!QDir(dir).exists() && !writeRulesDir(dir, sc.rules)) {
            std::fprintf(stderr, "cannot write %s\n", qPrintable(dir));
            return 1;
        }
        rules::RuleEngine engine;
        CountingSink sink;
        engine.setActionSink(&sink);
        engine.setStorePath(tmp.path() + "/rules.db");
        const rules::LoadReport report = engine.loadDirectory(dir);
        if (!report.ok || report.rules != sc.rules) {
            std::fprintf(stderr, "%s: load failed: %s\n", sc.name.constData(),
                         qPrintable(report.lines().join("\n")));
            return 1;
        }
        const core::Message msg = makeMessage(sc.topic, sc.payload);

        // Warm-up, and a check that the scenario does what its name says.
        const int warm = 20000;
        for (int i = 0; i < warm; ++i)
            engine.onMessage(msg);
        quint64 matched = 0, failed = 0;
        for (const rules::RuleMetrics &m : engine.metrics()) {
            matched += m.matched;
            failed += m.failed;
        }
        const bool ok = failed == 0 && matched == (sc.expectMatch ? quint64(warm) : 0) &&
                        sink.republished == (sc.expectRepublish ? quint64(warm) : 0);
        if (!ok) {
            std::fprintf(stderr, "%s: unexpected behaviour: matched=%llu failed=%llu republished=%llu\n",
                         sc.name.constData(), (unsigned long long)matched,
                         (unsigned long long)failed, (unsigned long long)sink.republished);
            exitCode = 1;
            continue;
        }

        std::vector<double> wall, cpu, share;
        for (int r = 0; r < repeats; ++r) {
            QElapsedTimer t;
            const double c0 = threadCpuSeconds();
            t.start();
            quint64 n = 0;
            const qint64 limitNs = qint64(seconds * 1e9);
            while (iterations > 0 ? n < quint64(iterations) : t.nsecsElapsed() < limitNs) {
                for (int i = 0; i < 1000; ++i)
                    engine.onMessage(msg);
                n += 1000;
            }
            const double w = double(t.nsecsElapsed()) * 1e-9;
            const double c = threadCpuSeconds() - c0;
            wall.push_back(double(n) / w);
            cpu.push_back(double(n) / c);
            share.push_back(c / w);
        }
        double wm, ws, cm, cs, sm, ss;
        meanSd(wall, &wm, &ws);
        meanSd(cpu, &cm, &cs);
        meanSd(share, &sm, &ss);
        std::printf("%-14s %6d %10.0f ±%6.0f %10.0f ±%6.0f %10.2f\n", sc.name.constData(), sc.rules,
                    wm, ws, cm, cs, sm);
        std::fflush(stdout);
    }
    return exitCode;
}
