#include "RuleWiring.h"

#include "rules/RuleInput.h"

#include <QDateTime>
#include <QDir>
#include <QLoggingCategory>
#include <QSysInfo>

#include <utility>

Q_DECLARE_LOGGING_CATEGORY(lcDaemon)

namespace ferry {

RuleWiring::RuleWiring(core::Broker &broker, QString rulesDir, QString storePath, QObject *parent)
    : QObject(parent), m_broker(broker), m_rulesDir(std::move(rulesDir))
{
    m_node = "ferry@" + QSysInfo::machineHostName().toUtf8();
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
        updateWanted();
        return true;
    }
    const rules::LoadReport report = m_engine.loadDirectory(rulesDir);
    if (!report.ok) {
        for (const QString &line : report.lines())
            qCCritical(lcDaemon, "rules_refused %s", qPrintable(line));
        qCWarning(lcDaemon, "rules_refused dir=%s the running rules stay in force", qPrintable(rulesDir));
        return false;
    }
    updateWanted();
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
    const core::RouteOutcome outcome = m_broker.publish(message);
    if (outcome.receivers == 0 && outcome.refused == 0 && wants(Dropped)) {
        core::Message dropped = message;
        dropped.edit().id = outcome.messageId;
        messageDropped(dropped, "no_subscribers");
    }
}

void RuleWiring::bridge(const QString &bridgeName, const core::Message &message)
{
    // Bridges (uplinks with durable outboxes) are a later module; until then the action says
    // so in the log rather than pretending to forward.
    qCWarning(lcDaemon, "rule_bridge_unavailable bridge=%s topic=%s", qPrintable(bridgeName),
              message.topic().constData());
}

namespace {

QVariant optionalText(const QByteArray &b)
{
    // EMQX reports an absent username as undefined, not as "".
    return b.isEmpty() ? QVariant() : QVariant(QString::fromUtf8(b));
}

// "10.0.0.1:51234" -> "10.0.0.1", "[::1]:51234" -> "::1" (EMQX's peerhost has no port).
QString hostOf(const QByteArray &peer)
{
    if (peer.startsWith('[')) {
        const qsizetype close = peer.indexOf(']');
        return QString::fromUtf8(close > 0 ? peer.mid(1, close - 1) : peer);
    }
    const qsizetype colon = peer.lastIndexOf(':');
    return QString::fromUtf8(colon > 0 ? peer.left(colon) : peer);
}

void putIfValid(QVariantMap &m, const char *key, const QVariant &v)
{
    if (v.isValid())
        m.insert(QString::fromLatin1(key), v);
}

// MQTT 5 properties as EMQX's rules show them (printable_maps): the specification's names,
// 'User-Property' as a map (a later pair with the same name wins, as in EMQX).
QVariantMap propertiesMap(const mqtt::Properties &p)
{
    QVariantMap m;
    auto put = [&m](const char *name, const auto &v) {
        if (v)
            m.insert(QString::fromLatin1(name), QVariant::fromValue<qint64>(qint64(*v)));
    };
    auto putBytes = [&m](const char *name, const std::optional<QByteArray> &v) {
        if (v)
            m.insert(QString::fromLatin1(name), *v);
    };
    put("Payload-Format-Indicator", p.payloadFormatIndicator);
    put("Message-Expiry-Interval", p.messageExpiryInterval);
    putBytes("Content-Type", p.contentType);
    putBytes("Response-Topic", p.responseTopic);
    putBytes("Correlation-Data", p.correlationData);
    put("Session-Expiry-Interval", p.sessionExpiryInterval);
    putBytes("Authentication-Method", p.authenticationMethod);
    putBytes("Authentication-Data", p.authenticationData);
    put("Request-Problem-Information", p.requestProblemInformation);
    put("Will-Delay-Interval", p.willDelayInterval);
    put("Request-Response-Information", p.requestResponseInformation);
    putBytes("Server-Reference", p.serverReference);
    putBytes("Reason-String", p.reasonString);
    put("Receive-Maximum", p.receiveMaximum);
    put("Topic-Alias-Maximum", p.topicAliasMaximum);
    put("Maximum-Packet-Size", p.maximumPacketSize);
    if (!p.userProperties.isEmpty()) {
        QVariantMap up;
        for (const auto &u : p.userProperties)
            up.insert(QString::fromUtf8(u.first), u.second);
        m.insert(QStringLiteral("User-Property"), up);
    }
    return m;
}

const char *protoName(int version)
{
    return version == 3 ? "MQIsdp" : "MQTT";
}

bool isSysTopic(const QByteArray &topic)
{
    return topic.startsWith("$SYS/") || topic == "$SYS";
}

} // namespace

void RuleWiring::updateWanted()
{
    // Asked once per load, so the adapters' per-message check is one inline mask test.
    unsigned mask = 0;
    if (m_engine.listensTo("$events/message_delivered"))
        mask |= Delivered;
    if (m_engine.listensTo("$events/message_acked"))
        mask |= Acked;
    if (m_engine.listensTo("$events/message_dropped"))
        mask |= Dropped;
    m_connected = m_engine.listensTo("$events/client_connected");
    m_disconnected = m_engine.listensTo("$events/client_disconnected");
    if (m_connected)
        mask |= Connected;
    if (m_disconnected)
        mask |= Disconnected;
    setWanted(mask);
    m_subscribed = m_engine.listensTo("$events/session_subscribed");
    m_unsubscribed = m_engine.listensTo("$events/session_unsubscribed");
}

void RuleWiring::clientConnected(const QByteArray &clientId, const QByteArray &username, const ConnectionInfo &info,
                                 bool cleanStart, std::uint16_t keepAlive, std::uint32_t expiryInterval,
                                 std::uint16_t receiveMaximum)
{
    if (!m_connected)
        return;
    QVariantMap f{{"clientid", QString::fromUtf8(clientId)},
                  {"peername", QString::fromUtf8(info.peer)},
                  {"sockname", QString::fromUtf8(info.sockname)},
                  {"proto_name", protoName(info.protocolVersion)},
                  {"proto_ver", info.protocolVersion},
                  {"clean_start", cleanStart},
                  {"keepalive", keepAlive},
                  {"receive_maximum", receiveMaximum},
                  {"expiry_interval", QVariant::fromValue<qint64>(expiryInterval)},
                  {"is_bridge", false},
                  {"conn_props", info.properties ? propertiesMap(*info.properties) : QVariantMap()},
                  {"connected_at", QDateTime::currentMSecsSinceEpoch()},
                  {"node", m_node}};
    putIfValid(f, "username", optionalText(username));
    m_engine.onEvent("$events/client_connected", f);
}

void RuleWiring::clientDisconnected(const QByteArray &clientId, const QByteArray &username, const ConnectionInfo &info,
                                    const char *reason)
{
    if (!m_disconnected)
        return;
    // The adapter's reasons are EMQX's names already (PacketHandler::onClosed).
    QVariantMap f{{"clientid", QString::fromUtf8(clientId)},
                  {"peername", QString::fromUtf8(info.peer)},
                  {"sockname", QString::fromUtf8(info.sockname)},
                  {"proto_name", protoName(info.protocolVersion)},
                  {"proto_ver", info.protocolVersion},
                  {"reason", QString::fromLatin1(reason)},
                  {"disconn_props", info.properties ? propertiesMap(*info.properties) : QVariantMap()},
                  {"disconnected_at", QDateTime::currentMSecsSinceEpoch()},
                  {"node", m_node}};
    putIfValid(f, "username", optionalText(username));
    m_engine.onEvent("$events/client_disconnected", f);
}

void RuleWiring::sessionSubscribed(const QByteArray &clientId, const QByteArray &username, const QByteArray &peer,
                                   const QByteArray &filter, int qos)
{
    if (!m_subscribed)
        return;
    QVariantMap f{{"clientid", QString::fromUtf8(clientId)},
                  {"peerhost", hostOf(peer)},
                  {"topic", QString::fromUtf8(filter)},
                  {"qos", qos},
                  {"node", m_node}};
    putIfValid(f, "username", optionalText(username));
    m_engine.onEvent("$events/session_subscribed", f);
}

void RuleWiring::sessionUnsubscribed(const QByteArray &clientId, const QByteArray &username, const QByteArray &peer,
                                     const QByteArray &filter)
{
    if (!m_unsubscribed)
        return;
    QVariantMap f{{"clientid", QString::fromUtf8(clientId)},
                  {"peerhost", hostOf(peer)},
                  {"topic", QString::fromUtf8(filter)},
                  {"node", m_node}};
    putIfValid(f, "username", optionalText(username));
    m_engine.onEvent("$events/session_unsubscribed", f);
}

QVariantMap RuleWiring::messageEvent(const core::Message &message, const char *eventName) const
{
    // The message's own fields, read as a rule reads them from a publish (RuleInput).
    QVariantMap f;
    for (const char *key : {"id", "payload", "peerhost", "topic", "qos", "flags", "pub_props",
                            "publish_received_at"})
        putIfValid(f, key, rules::RuleInput::messageValue(message, key));
    f.insert("event", QString::fromLatin1(eventName));
    f.insert("node", m_node);
    return f;
}

void RuleWiring::messageDelivered(const QByteArray &clientId, const QByteArray &username,
                                  const core::Delivery &delivery)
{
    // Like EMQX (ignore_sys_message), messages on $SYS raise no message events.
    if (isSysTopic(delivery.message.topic()))
        return;
    const core::MessageData &d = delivery.message.data();
    QVariantMap f = messageEvent(delivery.message, "message.delivered");
    f.insert("qos", int(delivery.qos));
    f.insert("flags", QVariantMap{{"retain", delivery.retain}, {"dup", false}});
    putIfValid(f, "from_clientid", optionalText(d.originClientId));
    putIfValid(f, "from_username", optionalText(d.originUsername));
    f.insert("clientid", QString::fromUtf8(clientId));
    putIfValid(f, "username", optionalText(username));
    f.insert("timestamp", QDateTime::currentMSecsSinceEpoch());
    if (m_delivered.isEmpty())
        QMetaObject::invokeMethod(this, &RuleWiring::runDelivered, Qt::QueuedConnection);
    m_delivered.append({std::move(f), d.ruleHops});
}

void RuleWiring::runDelivered()
{
    // Events raised while these run (a republish delivered at once) wait for the next turn.
    const QList<PendingEvent> events = std::exchange(m_delivered, {});
    for (const PendingEvent &e : events)
        m_engine.onEvent("$events/message_delivered", e.fields, e.ruleHops);
}

void RuleWiring::messageAcked(const QByteArray &clientId, const QByteArray &username,
                              const core::Delivery &delivery)
{
    if (isSysTopic(delivery.message.topic()))
        return;
    const core::MessageData &d = delivery.message.data();
    QVariantMap f = messageEvent(delivery.message, "message.acked");
    f.insert("qos", int(delivery.qos));
    f.insert("flags", QVariantMap{{"retain", delivery.retain}, {"dup", false}});
    f.insert("puback_props", QVariantMap());
    putIfValid(f, "from_clientid", optionalText(d.originClientId));
    putIfValid(f, "from_username", optionalText(d.originUsername));
    f.insert("clientid", QString::fromUtf8(clientId));
    putIfValid(f, "username", optionalText(username));
    f.insert("timestamp", QDateTime::currentMSecsSinceEpoch());
    m_engine.onEvent("$events/message_acked", f, d.ruleHops);
}

void RuleWiring::messageDropped(const core::Message &message, const char *reason)
{
    if (isSysTopic(message.topic()))
        return;
    const core::MessageData &d = message.data();
    QVariantMap f = messageEvent(message, "message.dropped");
    f.insert("reason", QString::fromLatin1(reason));
    putIfValid(f, "clientid", optionalText(d.originClientId));
    putIfValid(f, "username", optionalText(d.originUsername));
    f.insert("timestamp", QDateTime::currentMSecsSinceEpoch());
    m_engine.onEvent("$events/message_dropped", f, d.ruleHops);
}

} // namespace ferry
