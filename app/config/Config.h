#pragma once

// The broker's configuration as plain values. Every member has its default here, in one place:
// `ferryd` with no configuration file at all runs on exactly these values (DESIGN.md
// "Configuration"). The TOML key that sets each member is given in its comment; the table of
// key descriptors that reads them lives in Schema.cpp.

#include <QList>
#include <QString>
#include <QStringList>
#include <QtGlobal>

#include <optional>

namespace ferry::config {

// tls = { cert = "...", key = "...", ca = "..." } inside a [[listener]]. `ca` is optional.
struct TlsConfig {
    QString cert;
    QString key;
    QString ca;
    bool enabled() const { return !cert.isEmpty(); }
};
bool operator==(const TlsConfig &a, const TlsConfig &b);
inline bool operator!=(const TlsConfig &a, const TlsConfig &b)
{
    return !(a == b);
}

// One [[listener]] table.
struct ListenerConfig {
    QString protocol = QStringLiteral("mqtt"); // protocol: mqtt | mqtt-ws | amqp
    // bind = "host:port" ("[::1]:1883" for IPv6). Without `bind` the host is 127.0.0.1 and the
    // port is the protocol's usual one (see defaultPort()). Port 0 asks the kernel for a free port.
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 1883;
    bool allowAnonymous = true;             // allow_anonymous
    QString path = QStringLiteral("/mqtt"); // path: mqtt-ws only
    TlsConfig tls;                          // tls
    QString name;                           // computed, e.g. "mqtt@127.0.0.1:1883", for logs
};
bool operator==(const ListenerConfig &a, const ListenerConfig &b);
inline bool operator!=(const ListenerConfig &a, const ListenerConfig &b)
{
    return !(a == b);
}

// The port a listener gets when its table has no `bind`: 1883/8883 (mqtt, plain/TLS),
// 8083/8084 (mqtt-ws), 5672/5671 (amqp).
quint16 defaultPort(const QString &protocol, bool tls);
// "mqtt@127.0.0.1:1883", "mqtt-ws@[::1]:8083".
QString listenerName(const ListenerConfig &listener);

// [limits]
struct LimitsConfig {
    quint32 maxPacketSize = 1048576;  // max_packet_size, bytes, 1..268435455
    quint16 maxInflight = 20;         // max_inflight: outgoing QoS 1/2 window per client
    quint16 receiveMaximum = 100;     // receive_maximum: inbound QoS 1/2 window we advertise
    quint32 maxQueuedMessages = 1000; // max_queued_messages per session, 0 = unlimited
    quint32 maxConnections = 0;       // max_connections, 0 = unlimited
    quint16 maxKeepAlive = 65535;     // max_keep_alive, seconds (Server Keep Alive lowers more)
    quint16 maxTopicAlias = 10;       // max_topic_alias accepted from a client, 0 disables
    quint32 connectTimeout = 10;      // connect_timeout, seconds from accept to CONNECT
    quint32 maxTopicLevels = 128;     // max_topic_levels
    QString queueOverflow = QStringLiteral("drop-oldest"); // queue_overflow: drop-oldest | refuse
};

// [storage]
struct StorageConfig {
    QString path = QStringLiteral("./var/ferry.db"); // path of the SQLite database
    QString sync = QStringLiteral("normal");         // sync: full | normal | off
    quint64 maxQueuedBytes = 0;                      // max_queued_bytes, 0 = unlimited
    quint64 maxDiskBytes = 0;                        // max_disk_bytes, 0 = unlimited
};

// [rules]
struct RulesConfig {
    QString dir = QStringLiteral("./rules.d"); // dir
};

// [log]
struct LogConfig {
    QString level = QStringLiteral("info"); // level: debug | info | warning | error
};

// [sys]
struct SysConfig {
    quint32 interval = 10; // interval: seconds between $SYS publications, 0 = off
};

struct Config {
    // When no file defines a [[listener]]: mqtt on 127.0.0.1:1883 and mqtt-ws on
    // 127.0.0.1:8083 path /mqtt (see defaultListeners()). Any [[listener]] replaces both.
    QList<ListenerConfig> listeners;
    LimitsConfig limits;
    StorageConfig storage;
    RulesConfig rules;
    LogConfig log;
    SysConfig sys;
    QStringList sourceFiles; // every file that was read, in the order read
};

QList<ListenerConfig> defaultListeners();

// One problem found in a configuration file. line and column are 1-based; 0 when the problem
// concerns the whole file (e.g. it cannot be read).
struct ConfigError {
    QString file;
    int line = 0;
    int column = 0;
    QString message;
    // "file:line:column: message", or "file: message" when there is no position.
    QString toString() const;
};

// Either a configuration or every error found (never both).
struct LoadResult {
    std::optional<Config> config;
    QList<ConfigError> errors;
};

} // namespace ferry::config
