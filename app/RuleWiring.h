#pragma once
// Connects the rule engine to the broker: every publish and client event goes to the rules,
// rule outputs come back as publishes, rule metrics go out under $SYS/rules/<name>/...
//
// Lives in app/ because it is wiring: the core knows nothing of rules, the rules know the
// core only through core::Message.
#include "core/Broker.h"
#include "mqtt/Adapter.h"
#include "rules/ActionSink.h"
#include "rules/RuleEngine.h"

#include <QObject>

namespace ferry {

class RuleWiring final : public QObject, public rules::ActionSink, public mqtt::ClientEvents {
    Q_OBJECT
public:
    RuleWiring(core::Broker &broker, QString rulesDir, QString storePath, QObject *parent = nullptr);

    // Loads rules.d; on errors logs file:line:column and keeps the running set. Returns ok.
    bool reload(const QString &rulesDir);
    void publishMetrics();
    rules::RuleEngine &engine() { return m_engine; }

    // rules::ActionSink
    void republish(const core::Message &message) override;
    void bridge(const QString &bridgeName, const core::Message &message) override;

    // mqtt::ClientEvents ($events/... topics, EMQX's field names)
    void clientConnected(const QByteArray &clientId, const QByteArray &username, const ConnectionInfo &info,
                         bool cleanStart, std::uint16_t keepAlive, std::uint32_t expiryInterval,
                         std::uint16_t receiveMaximum) override;
    void clientDisconnected(const QByteArray &clientId, const QByteArray &username, const ConnectionInfo &info,
                            const char *reason) override;
    void sessionSubscribed(const QByteArray &clientId, const QByteArray &username, const QByteArray &peer,
                           const QByteArray &filter, int qos) override;
    void sessionUnsubscribed(const QByteArray &clientId, const QByteArray &username, const QByteArray &peer,
                             const QByteArray &filter) override;
    void messageDelivered(const QByteArray &clientId, const QByteArray &username,
                          const core::Delivery &delivery) override;
    void messageAcked(const QByteArray &clientId, const QByteArray &username,
                      const core::Delivery &delivery) override;
    void messageDropped(const core::Message &message, const char *reason) override;

private:
    core::Broker &m_broker;
    rules::RuleEngine m_engine;
    QString m_rulesDir;
    QByteArray m_node;
    // message_delivered is reported from inside the session's delivery code, where routing
    // a republish would re-enter the router: those events wait here for the next loop turn.
    struct PendingEvent {
        QVariantMap fields;
        int ruleHops;
    };
    QList<PendingEvent> m_delivered;
    // Which client events some rule listens to (asked once per load, like the adapters'
    // mask): an event no rule reads is not built.
    bool m_connected = false, m_disconnected = false, m_subscribed = false,
         m_unsubscribed = false;
    void updateWanted();
    void runDelivered();
    QVariantMap messageEvent(const core::Message &message, const char *eventName) const;
};

} // namespace ferry
