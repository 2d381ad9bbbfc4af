#include "RuleWiring.h"

#include <QDateTime>
#include <QDir>
#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcDaemon)

namespace ferry {

RuleWiring::RuleWiring(core::Broker &broker, QString rulesDir, QString storePath, QObject *parent)
    : QObject(parent), m_broker(broker), m_rulesDir(std::move(rulesDir))
{
    m_engine.setActionSink(this);
    m_engine.setStorePath(storePath);
    // The engine bounds republish depth itself, so a rule whose output matches its own FROM
    // cannot loop forever through this observer.
    m_broker.addPublishObserver([this](const core::Message &m) { m_engine.onMessage(m); });
}

bool RuleWiring::reload(const QString &rulesDir)
{
    m_rulesDir = rulesDir;
    if (!QDir(rulesDir).exists()) {
        qCInfo(lcDaemon, "rules dir=%s loaded=0 (no such directory)", qPrintable(rulesDir));
        m_engine.loadFiles({});
        return true;
    }
    const rules::LoadReport report = m_engine.loadDirectory(rulesDir);
    if (!report.ok) {
        for (const QString &line : report.lines())
            qCCritical(lcDaemon, "rules_refused %s", qPrintable(line));
        qCWarning(lcDaemon, "rules_refused dir=%s the running rules stay in force", qPrintable(rulesDir));
        return false;
    }
    qCInfo(lcDaemon, "rules dir=%s files=%d loaded=%d", qPrintable(rulesDir), report.files, report.rules);
    return true;
}

void RuleWiring::publishMetrics()
{
    const auto n = [](quint64 v) { return QByteArray::number(v); };
    for (const rules::RuleMetrics &m : m_engine.metrics()) {
        const QByteArray base = "$SYS/rules/" + m.name.toUtf8() + "/";
        const auto put = [&](const char *key, const QByteArray &value) {
            m_broker.publish(core::Message(base + key, value, 0, true));
        };
        put("matched", n(m.matched));
        put("passed", n(m.passed));
        put("no_result", n(m.noResult));
        put("failed", n(m.failed));
        put("outputs", n(m.outputs));
        put("actions/fired", n(m.actionsFired));
        put("actions/failed", n(m.actionsFailed));
        put("time_us", n(m.timeNs / 1000));
        if (!m.lastError.isEmpty())
            put("last_error", m.lastError.toUtf8());
    }
}

void RuleWiring::republish(const core::Message &message)
{
    m_broker.publish(message);
}

void RuleWiring::bridge(const QString &bridgeName, const core::Message &message)
{
    // Bridges (uplinks with durable outboxes) are a later module; until then the action says
    // so in the log rather than pretending to forward.
    qCWarning(lcDaemon, "rule_bridge_unavailable bridge=%s topic=%s", qPrintable(bridgeName),
              message.topic().constData());
}

void RuleWiring::clientConnected(const QByteArray &clientId, const QByteArray &username, const QByteArray &peer,
                                 int protocolVersion, bool cleanStart, std::uint16_t keepAlive)
{
    m_engine.onEvent("$events/client_connected",
                     {{"clientid", QString::fromUtf8(clientId)},
                      {"username", QString::fromUtf8(username)},
                      {"peername", QString::fromUtf8(peer)},
                      {"proto_ver", protocolVersion},
                      {"clean_start", cleanStart},
                      {"keepalive", keepAlive},
                      {"connected_at", QDateTime::currentMSecsSinceEpoch()}});
}

void RuleWiring::clientDisconnected(const QByteArray &clientId, const QByteArray &username, const QByteArray &peer,
                                    const char *reason)
{
    m_engine.onEvent("$events/client_disconnected",
                     {{"clientid", QString::fromUtf8(clientId)},
                      {"username", QString::fromUtf8(username)},
                      {"peername", QString::fromUtf8(peer)},
                      {"reason", QString::fromLatin1(reason)},
                      {"disconnected_at", QDateTime::currentMSecsSinceEpoch()}});
}

void RuleWiring::sessionSubscribed(const QByteArray &clientId, const QByteArray &filter, int qos)
{
    m_engine.onEvent("$events/session_subscribed",
                     {{"clientid", QString::fromUtf8(clientId)}, {"topic", QString::fromUtf8(filter)}, {"qos", qos}});
}

void RuleWiring::sessionUnsubscribed(const QByteArray &clientId, const QByteArray &filter)
{
    m_engine.onEvent("$events/session_unsubscribed",
                     {{"clientid", QString::fromUtf8(clientId)}, {"topic", QString::fromUtf8(filter)}});
}

} // namespace ferry
