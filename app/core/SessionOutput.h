#pragma once
// What a session needs from the protocol connection it is attached to.
//
// Contract: implemented by the protocol adapter (MQTT today, AMQP later); called on the
// broker's thread; calls return at once (bytes are queued on the socket) and must not
// re-enter the Session that called them.
#include "core/Delivery.h"

namespace ferry::core {

class SessionOutput {
public:
    virtual ~SessionOutput() = default;
    // packetId is 0 for QoS 0. Returns false when the connection could not take it (e.g. the
    // message is larger than the client's maximum packet size: spec 3.1.2.25, the Server
    // MUST NOT send it and acts as if delivered).
    virtual bool sendPublish(const Delivery &delivery, std::uint16_t packetId, bool dup) = 0;
    virtual void sendPubrel(std::uint16_t packetId) = 0;
    // Another connection took the session over (MQTT 5 reason 0x8E): close this one.
    virtual void sessionTakenOver() = 0;
};

} // namespace ferry::core
