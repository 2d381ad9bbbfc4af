#pragma once
// What the MQTT protocol hands upward once a packet has passed every protocol-level check.
// Implemented by mqtt::Adapter, which turns packets into broker calls.
#include "mqtt/codec/Packet.h"

namespace ferry::mqtt {

class PacketHandler {
public:
    virtual ~PacketHandler() = default;
    virtual void onConnect(Connect &connect) = 0;
    // Topic already resolved from its alias; QoS 1/2 with a packet id.
    virtual void onPublish(Publish &publish) = 0;
    // PUBACK, PUBREC, PUBREL, PUBCOMP from the client.
    virtual void onPubResponse(const PubResponse &response) = 0;
    virtual void onSubscribe(Subscribe &subscribe) = 0;
    virtual void onUnsubscribe(Unsubscribe &unsubscribe) = 0;
    // DISCONNECT from the client (already checked); reasonCode 0x04 keeps the will.
    virtual void onDisconnect(const Disconnect &disconnect) = 0;
    // The connection is gone (client closed, error, timeout, server closed). Called once.
    // `graceful` when the client sent DISCONNECT with a reason that suppresses the will.
    // `reason` says why, in EMQX's words for $events/client_disconnected: "normal" (the client
    // sent DISCONNECT), "keepalive_timeout", "takenover", "frame_too_large", "protocol_error"
    // (other server-initiated closes), "tcp_closed" (the peer went without DISCONNECT).
    virtual void onClosed(bool graceful, const char *reason) = 0;
};

} // namespace ferry::mqtt
