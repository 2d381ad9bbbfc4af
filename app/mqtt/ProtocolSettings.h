#pragma once
// The limits one MQTT listener applies to its connections (from [limits]).
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

} // namespace ferry::mqtt
