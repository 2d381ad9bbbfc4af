#pragma once
// A subscription as the core sees it: the options of one (session, filter) pair.
#include <cstdint>

namespace ferry::core {

struct SubscriptionOptions {
    std::uint8_t maxQos = 0;
    bool noLocal = false;            // MQTT 5: don't deliver the session's own publishes
    bool retainAsPublished = false;  // MQTT 5: keep the RETAIN flag when forwarding
    std::uint8_t retainHandling = 0; // MQTT 5: 0 send retained, 1 only if new, 2 never
    std::uint32_t identifier = 0;    // MQTT 5 subscription identifier, 0 = none
};

} // namespace ferry::core
