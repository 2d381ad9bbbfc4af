#pragma once
// ferryd's wiring: configuration -> broker, listeners, $SYS; signals for reload and stop.
// Holds no broker logic of its own.
#include "config/Config.h"
#include "core/Broker.h"
#include "core/SysPublisher.h"
#include "mqtt/Adapter.h"
#include "mqtt/Connection.h"
#include "mqtt/ProtocolSettings.h"
#include "RuleWiring.h"
#include "net/Listener.h"
#include "storage/Store.h"
#include "storage/StorePersistence.h"

#include <QObject>
#include <QSocketNotifier>

#include <memory>
#include <vector>

namespace ferry {

class Daemon : public QObject {
    Q_OBJECT
public:
    Daemon(config::Config config, QString configPath, QObject *parent = nullptr);
    ~Daemon() override;

    // Opens storage and restores what it holds, then binds every listener; on failure logs
    // why and returns false (nothing half-started).
    bool start();
    // Called for SIGHUP: re-reads the files and applies what can change live.
    void reload();
    // Called for SIGTERM/SIGINT: stops accepting, closes clients (MQTT 5: 0x8B), sends the
    // wills that the end of their sessions releases, and quits the event loop.
    void stop();

    // Routes SIGHUP/SIGTERM/SIGINT into the event loop (self-pipe).
    bool installSignalHandlers();

private:
    struct ListenerSlot {
        config::ListenerConfig config;
        net::Listener *listener = nullptr;
        mqtt::SharedProtocolSettings protocol;   // shared by the listener's connections
        mqtt::AdapterSettings adapter;
    };
    void applyLimits();
    bool openStorage();
    void accept(ListenerSlot &slot, net::Transport *transport);
    void onSignal();

    config::Config m_config;
    QString m_configPath;
    // Declared before the broker: the broker's sessions call into it until they are gone.
    std::unique_ptr<storage::Store> m_store;
    std::unique_ptr<storage::StorePersistence> m_persistence;
    core::Broker m_broker;
    core::SysPublisher m_sys;
    std::unique_ptr<RuleWiring> m_rules;
    std::vector<std::unique_ptr<ListenerSlot>> m_listeners;
    // Every MQTT connection; after the broker, rules and storage in this list, so they are
    // deleted first (the destructor deletes them explicitly even before that).
    mqtt::ConnectionSet m_connections;
    QSocketNotifier *m_signalNotifier = nullptr;
    bool m_stopping = false;
};

// Applies [log] level to Qt's logging filters.
void applyLogLevel(const QString &level);

} // namespace ferry
