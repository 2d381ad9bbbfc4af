#pragma once
// The limits one MQTT listener applies to its connections (from [limits]).
#include <QSharedData>

#include <cstdint>

namespace ferry::mqtt {

struct ProtocolSettings {
    std::uint32_t maxPacketSize = 1048576;   // inbound; advertised in CONNACK (5.0)
    std::uint16_t receiveMaximum = 100;      // inbound QoS 1/2 window advertised (5.0)
    std::uint16_t maxTopicAlias = 10;        // aliases a client may use (5.0), 0 = none
    std::uint16_t maxKeepAlive = 65535;      // seconds; larger or zero is lowered (5.0)
    std::uint32_t connectTimeoutMs = 10000;  // to receive CONNECT after the socket opened
    int maxTopicLevels = 128;
    // Outgoing bytes queued on a socket beyond which QoS 0 messages to it are dropped (and
    // counted) instead of growing memory without bound for a reader that does not read.
    std::int64_t maxQos0Backlog = 8 * 1024 * 1024;
};

// One listener's settings shared by its connections: a pointer each instead of a copy (32 B per
// connection). Immutable: applying new limits makes a new block, so a connection keeps the
// settings it started with, as it did with its own copy.
class SharedProtocolSettings {
public:
    SharedProtocolSettings() : SharedProtocolSettings(ProtocolSettings{}) {}
    explicit SharedProtocolSettings(const ProtocolSettings &settings) : m_d(new Block(settings)) {}
    const ProtocolSettings &get() const { return m_d->value; }

private:
    struct Block : QSharedData {
        explicit Block(const ProtocolSettings &settings) : value(settings) {}
        const ProtocolSettings value;
    };
    QExplicitlySharedDataPointer<Block> m_d;
};

} // namespace ferry::mqtt
