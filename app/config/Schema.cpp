// The configuration schema: one row per key. Ranges follow the protocol's own limits where there
// is one (MQTT 5.0 section 2.2.3: Maximum Packet Size is at most 268,435,455 bytes, the largest
// Remaining Length plus header; Receive Maximum and Topic Alias Maximum are two-byte integers,
// Receive Maximum "MUST NOT be 0" per 3.2.2.3.3).

#include "config/Section.h"

namespace ferry::config {

namespace {

const qint64 u16 = 65535;
const qint64 u32 = 4294967295LL;
const qint64 i64 = std::numeric_limits<qint64>::max();

Keys<LimitsConfig> limitsKeys()
{
    using L = LimitsConfig;
    return {
        integerKey("max_packet_size", &L::maxPacketSize, 1, 268435455, Reload::Live),
        integerKey("max_inflight", &L::maxInflight, 1, u16, Reload::Live),
        integerKey("receive_maximum", &L::receiveMaximum, 1, u16, Reload::Live),
        integerKey("max_queued_messages", &L::maxQueuedMessages, 0, u32, Reload::Live),
        integerKey("max_connections", &L::maxConnections, 0, u32, Reload::Live),
        integerKey("max_keep_alive", &L::maxKeepAlive, 1, u16, Reload::Live),
        integerKey("max_topic_alias", &L::maxTopicAlias, 0, u16, Reload::Live),
        integerKey("connect_timeout", &L::connectTimeout, 1, 86400, Reload::Live),
        integerKey("max_topic_levels", &L::maxTopicLevels, 1, u16, Reload::Live),
        enumKey("queue_overflow", &L::queueOverflow, {"drop-oldest", "refuse"}, Reload::Live),
    };
}

Keys<StorageConfig> storageKeys()
{
    using S = StorageConfig;
    // The database is opened once with its pragmas; quotas are checked on every write.
    return {
        stringKey("path", &S::path, Reload::Restart, nonEmpty),
        enumKey("sync", &S::sync, {"full", "normal", "off"}, Reload::Restart),
        integerKey("max_queued_bytes", &S::maxQueuedBytes, 0, i64, Reload::Live),
        integerKey("max_disk_bytes", &S::maxDiskBytes, 0, i64, Reload::Live),
    };
}

Keys<RulesConfig> rulesKeys()
{
    return {stringKey("dir", &RulesConfig::dir, Reload::Live, nonEmpty)};
}

Keys<LogConfig> logKeys()
{
    return {
        enumKey("level", &LogConfig::level, {"debug", "info", "warning", "error"}, Reload::Live)};
}

Keys<SysConfig> sysKeys()
{
    return {integerKey("interval", &SysConfig::interval, 0, 86400, Reload::Live)};
}

} // namespace

const std::vector<Section> &sections()
{
    static const std::vector<Section> all = {
        listenerSection(),
        tableSection("limits", &Config::limits, limitsKeys()),
        tableSection("storage", &Config::storage, storageKeys()),
        tableSection("rules", &Config::rules, rulesKeys()),
        tableSection("log", &Config::log, logKeys()),
        tableSection("sys", &Config::sys, sysKeys()),
    };
    return all;
}

} // namespace ferry::config
