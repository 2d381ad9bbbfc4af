#include "RulesCommand.h"

#include "rules/Clock.h"
#include "rules/Json.h"
#include "rules/RuleEngine.h"

#include <QDir>
#include <QFileInfo>

#include <memory>

namespace ferry::ctl {

namespace {

const char kUsage[] =
    "usage: ferryctl rules check [DIR|FILE]\n"
    "       ferryctl rules test FILE --rule NAME --topic TOPIC --payload TEXT [--clientid ID]\n"
    "                           [--username NAME] [--qos 0|1|2] [--timestamp MS]\n";

int usage(QTextStream &err, const QString &problem = QString())
{
    if (!problem.isEmpty())
        err << "ferryctl: " << problem << "\n";
    err << kUsage;
    return 2;
}

int check(const QStringList &args, QTextStream &out, QTextStream &err)
{
    if (args.size() > 1)
        return usage(err, "rules check takes at most one DIR or FILE");
    const QString path = args.value(0, "/etc/ferry/rules.d");
    const QFileInfo info(path);
    if (!info.exists()) {
        err << "ferryctl: " << path << ": no such file or directory\n";
        return 1;
    }
    QStringList files;
    if (info.isDir()) {
        QDir d(path);
        for (const QString &f : d.entryList({"*.toml"}, QDir::Files, QDir::Name))
            files.append(d.filePath(f));
    } else {
        files.append(path);
    }
    const rules::LoadReport report = rules::RuleEngine::check(files);
    if (!report.ok) {
        for (const QString &line : report.lines())
            err << line << "\n";
        return 1;
    }
    out << "OK: " << report.rules << (report.rules == 1 ? " rule" : " rules") << " in "
        << report.files << (report.files == 1 ? " file" : " files") << "\n";
    return 0;
}

int test(const QStringList &args, QTextStream &out, QTextStream &err)
{
    QString file, rule, topic, clientId = "ferryctl", username;
    QByteArray payload;
    bool havePayload = false;
    int qos = 0;
    qint64 timestamp = -1;
    for (int i = 0; i < args.size(); ++i) {
        const QString &a = args[i];
        auto value = [&](QString *v) {
            if (i + 1 >= args.size())
                return false;
            *v = args[++i];
            return true;
        };
        QString v;
        if (a == "--rule") {
            if (!value(&rule))
                return usage(err, "--rule needs a name");
        } else if (a == "--topic") {
            if (!value(&topic))
                return usage(err, "--topic needs a topic");
        } else if (a == "--payload") {
            if (!value(&v))
                return usage(err, "--payload needs text");
            payload = v.toUtf8();
            havePayload = true;
        } else if (a == "--clientid") {
            if (!value(&clientId))
                return usage(err, "--clientid needs an id");
        } else if (a == "--username") {
            if (!value(&username))
                return usage(err, "--username needs a name");
        } else if (a == "--qos") {
            bool ok = false;
            if (!value(&v) || (qos = v.toInt(&ok), !ok) || qos < 0 || qos > 2)
                return usage(err, "--qos must be 0, 1 or 2");
        } else if (a == "--timestamp") {
            bool ok = false;
            if (!value(&v) || (timestamp = v.toLongLong(&ok), !ok) || timestamp < 0)
                return usage(err, "--timestamp must be milliseconds since the epoch");
        } else if (a.startsWith("--")) {
            return usage(err, "unknown option " + a);
        } else if (file.isEmpty()) {
            file = a;
        } else {
            return usage(err, "unexpected argument " + a);
        }
    }
    if (file.isEmpty() || rule.isEmpty() || topic.isEmpty() || !havePayload)
        return usage(err, "rules test needs FILE, --rule, --topic and --payload");

    rules::RuleEngine engine;
    std::unique_ptr<rules::ManualClock> clock;
    if (timestamp >= 0) {
        clock = std::make_unique<rules::ManualClock>(timestamp);
        engine.setClock(clock.get());
    }
    const rules::LoadReport report = engine.loadFiles({file});
    if (!report.ok) {
        for (const QString &line : report.lines())
            err << line << "\n";
        return 1;
    }
    if (!engine.ruleNames().contains(rule)) {
        err << "ferryctl: no rule named '" << rule << "' in " << file << "\n";
        return 1;
    }
    if (!engine.ruleMatchesTopic(rule, topic.toUtf8())) {
        out << "rule " << rule << ": topic '" << topic
            << "' does not match its FROM; the rule would not run\n";
        return 1;
    }
    core::Message m(topic.toUtf8(), payload, std::uint8_t(qos), false);
    auto &d = m.edit();
    d.originClientId = clientId.toUtf8();
    d.originUsername = username.toUtf8();
    d.originPeerHost = "127.0.0.1";
    d.timestampMs = timestamp >= 0 ? timestamp : QDateTime::currentMSecsSinceEpoch();
    int outputs = 0;
    engine.setOutputObserver([&](const QString &, const QVariantMap &row) {
        ++outputs;
        out << "output: " << QString::fromUtf8(rules::json::write(row)) << "\n";
    });
    engine.setDryRun(
        [&](const QString &, const QString &line) { out << "  action " << line << "\n"; });
    QString error;
    if (!engine.runRule(rule, m, &error)) {
        err << "rule " << rule << " failed: " << error << "\n";
        return 1;
    }
    if (outputs == 0)
        out << "no output (WHERE did not hold, or FOREACH produced no rows)\n";
    return 0;
}

} // namespace

int runRulesCommand(const QStringList &args, QTextStream &out, QTextStream &err)
{
    if (args.isEmpty())
        return usage(err);
    const QString sub = args.first();
    if (sub == "check")
        return check(args.mid(1), out, err);
    if (sub == "test")
        return test(args.mid(1), out, err);
    return usage(err, "unknown rules command " + sub);
}

} // namespace ferry::ctl
