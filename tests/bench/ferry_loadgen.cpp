// ferry_loadgen: an MQTT 3.1.1 load generator for comparing brokers on one machine.
// Qt Core parses the command line; everything after that is plain epoll (LoadGen). Prints one
// JSON line of results on stdout; exit status 0 = figures are meaningful, 1 = setup failed,
// 2 = bad arguments or not enough file descriptors.

#include "LoadGen.h"

#include <QCommandLineParser>
#include <QCoreApplication>

#include <cstdio>
#include <sys/resource.h>

using ferry::bench::LoadGen;
using ferry::bench::Options;
using ferry::bench::Scenario;

namespace {

// Raises the soft RLIMIT_NOFILE to the hard limit; returns false if that is still below need.
bool raiseFileLimit(rlim_t need, std::string &note)
{
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        note = "getrlimit failed";
        return false;
    }
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
            note = "setrlimit failed";
    }
    getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < need) {
        note = "RLIMIT_NOFILE " + std::to_string(lim.rlim_cur) + " (hard " +
               std::to_string(lim.rlim_max) + ") is below the " + std::to_string(need) +
               " descriptors needed: raise the hard limit (ulimit -Hn) as root";
        return false;
    }
    return true;
}

void printError(const std::string &message)
{
    std::printf("{\"error\":\"%s\"}\n", message.c_str());
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("ferry_loadgen");
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "MQTT 3.1.1 load generator: pubsub (N->N pairs), fanout (1->N), fanin (N->1 via a "
        "wildcard), idle (N connections held open). One JSON line of results on stdout.");
    parser.addHelpOption();
    auto opt = [&](const char *name, const char *help, const char *def) {
        parser.addOption(QCommandLineOption(name, help, "value", def));
    };
    opt("host", "Broker address (numeric).", "127.0.0.1");
    opt("port", "Broker port.", "1883");
    opt("scenario", "pubsub | fanout | fanin | idle.", "pubsub");
    opt("qos", "0 or 1.", "0");
    opt("publishers", "Publishers (default: 1; fanin 100).", "-1");
    opt("subscribers", "Subscribers (default: 1; fanout 100).", "-1");
    opt("seconds", "Publish duration, or idle hold time.", "5");
    opt("payload", "Payload bytes (>= 20: stamp).", "64");
    parser.addOption(QCommandLineOption(
        "json-payload", "Payload is JSON {\"s\":\"<stamp hex>\",\"temp\":31.5,\"hum\":40,"
                        "\"id\":\"abc\"} padded to --payload bytes (>= 80)."));
    opt("connections", "Idle connections to open.", "1000");
    opt("inflight", "QoS 1 window of unacknowledged PUBLISH per publisher.", "100");
    opt("window",
        "Deliveries in flight end to end, split over publishers (0 = open loop, TCP-bounded).",
        "1000");
    opt("rate", "Total publish rate, msg/s (0 = as fast as the broker accepts).", "0");
    opt("drain", "Stop draining after this many seconds without a delivery.", "3");
    opt("keepalive", "Keep alive in CONNECT, seconds.", "60");
    opt("connect-parallel", "Connection attempts in progress at once.", "100");
    opt("connect-timeout", "Seconds allowed for the whole connect phase.", "60");
    opt("broker-pid", "Sample this process's CPU time and RSS from /proc.", "0");
    opt("topic-prefix", "Topic prefix (default: unique per run).", "");
    parser.addOption(QCommandLineOption(
        "persistent", "Subscribers connect with clean session 0 under fixed client ids."));
    parser.addOption(QCommandLineOption(
        "offline", "Persistent subscribers subscribe, go offline while the publishers publish "
                   "(throughput = PUBACKs/s), then reconnect and drain (implies --persistent)."));
    opt("phase", "With --offline: all | fill (stop when acknowledged) | drain (reconnect only).",
        "all");
    opt("count", "Messages per publisher (0 = publish for --seconds).", "0");
    opt("client-id-prefix", "Persistent subscribers' client id prefix (default: topic prefix).",
        "");
    opt("drain-cap", "Hard limit on the drain (and, offline, on waiting for PUBACKs), seconds.",
        "30");
    parser.process(app);

    Options o;
    bool ok = true;
    auto toInt = [&](const char *name) {
        bool good = false;
        const int v = parser.value(name).toInt(&good);
        ok = ok && good;
        return v;
    };
    auto toDouble = [&](const char *name) {
        bool good = false;
        const double v = parser.value(name).toDouble(&good);
        ok = ok && good;
        return v;
    };
    o.host = parser.value("host").toStdString();
    o.port = uint16_t(toInt("port"));
    const QString scenario = parser.value("scenario");
    if (scenario == "pubsub")
        o.scenario = Scenario::PubSub;
    else if (scenario == "fanout")
        o.scenario = Scenario::FanOut;
    else if (scenario == "fanin")
        o.scenario = Scenario::FanIn;
    else if (scenario == "idle")
        o.scenario = Scenario::Idle;
    else
        ok = false;
    o.qos = toInt("qos");
    o.publishers = toInt("publishers");
    o.subscribers = toInt("subscribers");
    if (o.publishers < 0)
        o.publishers = o.scenario == Scenario::FanIn ? 100 : 1;
    if (o.subscribers < 0)
        o.subscribers = o.scenario == Scenario::FanOut ? 100 : 1;
    o.seconds = toDouble("seconds");
    o.payload = toInt("payload");
    o.connections = toInt("connections");
    o.inflight = toInt("inflight");
    o.rate = toDouble("rate");
    o.window = toInt("window");
    o.drain = toDouble("drain");
    o.keepAlive = toInt("keepalive");
    o.connectParallel = toInt("connect-parallel");
    o.connectTimeout = toDouble("connect-timeout");
    o.brokerPid = toInt("broker-pid");
    o.topicPrefix = parser.value("topic-prefix").toStdString();
    o.jsonPayload = parser.isSet("json-payload");
    o.offline = parser.isSet("offline");
    o.persistent = parser.isSet("persistent") || o.offline;
    o.phase = parser.value("phase").toStdString();
    o.count = toInt("count");
    o.clientIdPrefix = parser.value("client-id-prefix").toStdString();
    o.drainCap = toDouble("drain-cap");
    if (o.persistent && o.clientIdPrefix.empty() && o.topicPrefix.empty())
        o.clientIdPrefix = "fbp" + std::to_string(QCoreApplication::applicationPid());
    else if (o.persistent && o.clientIdPrefix.empty())
        o.clientIdPrefix = "fbp-" + o.topicPrefix;
    for (char &ch : o.clientIdPrefix)
        if (ch == '/' || ch == '+' || ch == '#')
            ch = '_';
    if (o.phase != "all" && o.phase != "fill" && o.phase != "drain")
        ok = false;
    if (o.phase != "all" &&
        (!o.offline || o.topicPrefix.empty() || (o.phase == "drain" && o.count <= 0)))
        ok = false; // a split run must name its topics and, to drain, say what to expect
    if (o.count < 0 || o.drainCap <= 0 || (o.persistent && o.qos < 1))
        ok = false;
    if (!ok || o.qos < 0 || o.qos > 1 || o.seconds <= 0 || o.seconds > 3600 || o.payload < 20 ||
        o.payload > 1 << 20 || o.inflight < 1 || o.rate < 0 || o.window < 0 || o.inflight > 65535 ||
        o.connectParallel < 1 || o.keepAlive < 1 || o.keepAlive > 65535 || o.port == 0 ||
        (o.scenario != Scenario::Idle && (o.publishers < 1 || o.subscribers < 1 ||
                                          int64_t(o.publishers) * o.subscribers > 10000000)) ||
        (o.scenario == Scenario::Idle && o.connections < 1)) {
        printError("bad arguments (see --help)");
        return 2;
    }

    const rlim_t need =
        rlim_t(o.scenario == Scenario::Idle ? o.connections : o.publishers + o.subscribers) + 32;
    if (!raiseFileLimit(need, o.nofileNote)) {
        printError(o.nofileNote);
        return 2;
    }

    LoadGen gen(o);
    const bool good = gen.run();
    std::printf("%s\n", gen.resultJson().c_str());
    std::fflush(stdout);
    return good ? 0 : 1;
}
