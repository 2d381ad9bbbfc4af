#pragma once
// One message on its way to one session: the shared Message plus what differs per receiver.
#include "core/Message.h"

#include <QList>

namespace ferry::core {

struct Delivery {
    Message message;                  // shared with every other receiver: no payload copy
    std::uint8_t qos = 0;             // min(published QoS, subscription's maximum)
    bool retain = false;              // RETAIN flag to send (spec 3.3.1.3)
    QList<std::uint32_t> subscriptionIds;   // MQTT 5: all matching identifiers, in one copy
    QByteArray shareGroup;            // non-empty when it came through $share/<group>/<filter>
    std::uint64_t storageSeq = 0;     // entry in the session's durable queue; 0 = not stored
};

} // namespace ferry::core
