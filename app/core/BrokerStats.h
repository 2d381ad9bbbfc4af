#pragma once
// Counters for $SYS/broker/... and the dashboard. Plain integers: one thread updates them.
#include <cstdint>

namespace ferry::core {

struct BrokerStats {
    std::uint64_t messagesReceived = 0;   // PUBLISH packets from clients
    std::uint64_t messagesSent = 0;       // PUBLISH packets to clients
    std::uint64_t publishReceived = 0;
    std::uint64_t publishSent = 0;
    std::uint64_t bytesReceived = 0;
    std::uint64_t bytesSent = 0;
    std::uint64_t messagesDropped = 0;    // queue overflow (drop-oldest) or too large for a client
    std::uint64_t messagesRefused = 0;    // queue overflow with the refuse policy
    std::uint64_t messagesExpired = 0;
    std::uint64_t clientsConnected = 0;
    std::uint64_t clientsMaximum = 0;
    std::uint64_t connectionsTotal = 0;
    std::uint64_t clientsDisconnected = 0;   // persistent sessions waiting offline
};

} // namespace ferry::core
