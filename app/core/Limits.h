#pragma once
// Broker-wide limits the core enforces (filled from [limits] in the configuration).
#include <cstdint>

namespace ferry::core {

enum class OverflowPolicy { DropOldest, Refuse };

struct Limits {
    std::uint16_t maxInflight = 20;          // outgoing QoS 1/2 window per session
    std::uint32_t maxQueuedMessages = 1000;  // per session; 0 = unlimited
    OverflowPolicy overflow = OverflowPolicy::DropOldest;
    std::uint32_t maxTopicLevels = 128;
};

} // namespace ferry::core
