#pragma once
// Test helpers: one rule in an engine, a recording sink, and a message builder.

#include "rules/ActionSink.h"
#include "rules/Clock.h"
#include "rules/Json.h"
#include "rules/RuleEngine.h"

#include <QList>
#include <QPair>

namespace ferry::rules::test {

struct RecordingSink : ActionSink {
    QList<core::Message> republished;
    QList<QPair<QString, core::Message>> bridged;
    std::function<void(const core::Message &)> onRepublish;
    void republish(const core::Message &m) override
    {
        republished.append(m);
        if (onRepublish)
            onRepublish(m);
    }
    void bridge(const QString &name, const core::Message &m) override { bridged.append({name, m}); }
};

inline core::Message message(const QByteArray &topic, const QByteArray &payload,
                             const QByteArray &clientId = "c1")
{
    core::Message m(topic, payload, 1, false);
    auto &d = m.edit();
    d.originClientId = clientId;
    d.originUsername = "u1";
    d.originPeerHost = "127.0.0.1";
    d.timestampMs = 1700000000123;
    d.id = 42;
    return m;
}

inline QByteArray ruleToml(const QByteArray &sql, const QByteArray &actions = "[]",
                           const QByteArray &name = "r")
{
    return "[[rule]]\nname = \"" + name + "\"\nsql = '''\n" + sql + "\n'''\nactions = " + actions +
           "\n";
}

// Runs one message through one rule; returns the output rows as JSON, "error: <msg>", or
// "no result".
struct OneRule {
    RuleEngine engine;
    QList<QVariantMap> rows;
    RecordingSink sink;
    LoadReport report;

    explicit OneRule(const QByteArray &sql, const QByteArray &actions = "[]")
    {
        engine.setActionSink(&sink);
        engine.setOutputObserver(
            [this](const QString &, const QVariantMap &row) { rows.append(row); });
        report = engine.loadText("test.toml", ruleToml(sql, actions));
    }
    QString run(const core::Message &m)
    {
        rows.clear();
        const auto before = engine.metrics().value(0);
        engine.onMessage(m);
        const auto after = engine.metrics().value(0);
        if (after.failed != before.failed)
            return "error: " + after.lastError;
        if (after.matched == before.matched)
            return "not matched";
        if (rows.isEmpty())
            return "no result";
        QStringList out;
        for (const auto &r : rows)
            out.append(QString::fromUtf8(json::write(r)));
        return out.join("\n");
    }
};

} // namespace ferry::rules::test
