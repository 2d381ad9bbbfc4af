#pragma once
// The one message type of the broker core, shared by MQTT, AMQP, rules, storage and bridges.
//
// A Message is implicitly shared and immutable once built: copying it copies a pointer, so
// fan-out to many subscribers never copies the payload. Build one with MessageBuilder-style
// setters on a fresh Message (detaches only while its reference count is one).

#include <QByteArray>
#include <QExplicitlySharedDataPointer>
#include <QList>
#include <QPair>
#include <QSharedData>
#include <QVarLengthArray>

#include <cstdint>
#include <optional>

namespace ferry::core {

using UserProperty = QPair<QByteArray, QByteArray>;

struct MessageData : QSharedData {
    QByteArray topic;     // UTF-8, validated by the protocol that received it
    QByteArray payload;
    std::uint8_t qos = 0;
    bool retain = false;

    // Wall-clock milliseconds since the epoch: when the broker received it, and when it
    // stops being deliverable (0 = never). Absolute so that it survives a restart in storage.
    std::int64_t timestampMs = 0;
    std::int64_t expiresAtMs = 0;

    // MQTT 5 / AMQP properties, protocol-neutral. Absent and empty differ (MQTT 5 allows
    // an empty content type), hence optional.
    std::optional<std::uint8_t> payloadFormat;     // 1 = UTF-8 text
    std::optional<QByteArray> contentType;
    std::optional<QByteArray> responseTopic;
    std::optional<QByteArray> correlationData;
    QList<UserProperty> userProperties;

    // Who sent it: for no-local, rules ($events, clientid, username, peerhost) and logs.
    QByteArray originClientId;
    QByteArray originUsername;
    QByteArray originPeerHost;
    std::uint64_t id = 0;   // broker-unique, assigned by Broker::publish
    // How many rule republishes led to this message (0 = a client or the broker published
    // it). The rule engine refuses to republish beyond its depth limit, also when the chain
    // runs through $events/message_* events that come later (not in memory across restarts).
    std::uint8_t ruleHops = 0;

    // Protocol adapters cache a message's encoded form here, keyed by what changes the
    // bytes (protocol version, QoS, flags), so a fan-out encodes it once, not per receiver.
    // Touched only on the broker's thread.
    struct WireForm {
        std::uint32_t key;
        QByteArray bytes;
    };
    mutable QVarLengthArray<WireForm, 2> wireCache;
};

class Message {
public:
    Message() : d(new MessageData) {}
    Message(QByteArray topic, QByteArray payload, std::uint8_t qos = 0, bool retain = false)
        : d(new MessageData)
    {
        d->topic = std::move(topic);
        d->payload = std::move(payload);
        d->qos = qos;
        d->retain = retain;
    }

    const MessageData &data() const { return *d; }
    // Mutable access: detaches if shared. Use only while building a message.
    MessageData &edit()
    {
        d.detach();
        d->wireCache.clear();
        return *d;
    }

    const QByteArray &topic() const { return d->topic; }
    const QByteArray &payload() const { return d->payload; }
    std::uint8_t qos() const { return d->qos; }
    bool retain() const { return d->retain; }
    std::int64_t timestampMs() const { return d->timestampMs; }
    std::int64_t expiresAtMs() const { return d->expiresAtMs; }
    std::uint64_t id() const { return d->id; }
    bool isExpired(std::int64_t nowMs) const { return d->expiresAtMs != 0 && nowMs >= d->expiresAtMs; }
    // Remaining expiry in whole seconds, rounded up, for MQTT 5 forwarding (spec 3.3.2.3.3).
    std::optional<std::uint32_t> remainingExpirySeconds(std::int64_t nowMs) const
    {
        if (d->expiresAtMs == 0)
            return std::nullopt;
        const std::int64_t left = d->expiresAtMs - nowMs;
        return left <= 0 ? 0u : static_cast<std::uint32_t>((left + 999) / 1000);
    }

    // Same message, different QoS/retain flag: shares the payload and properties.
    Message withQosRetain(std::uint8_t qos, bool retain) const
    {
        if (d->qos == qos && d->retain == retain)
            return *this;
        Message copy = *this;
        copy.d.detach();
        copy.d->wireCache.clear();
        copy.d->qos = qos;
        copy.d->retain = retain;
        return copy;
    }

    bool sharesDataWith(const Message &other) const { return d == other.d; }

private:
    QExplicitlySharedDataPointer<MessageData> d;
};

} // namespace ferry::core
