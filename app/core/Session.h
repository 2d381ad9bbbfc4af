#pragma once
// A client's session: its subscriptions, its outgoing in-flight window and its queue.
//
// It outlives connections when persistent (MQTT clean start 0 with expiry > 0). The core owns
// the state; the attached SessionOutput (a protocol connection) only encodes and sends.
#include "core/Limits.h"
#include "core/Persistence.h"
#include "core/SessionOutput.h"
#include "core/SessionQueue.h"
#include "core/Subscription.h"

#include <QHash>
#include <QSet>

#include <memory>
#include <vector>

namespace ferry::core {

struct BrokerStats;

class Session {
public:
    static constexpr std::uint32_t NeverExpires = 0xFFFFFFFF;

    Session(QByteArray clientId, const Limits &limits, BrokerStats &stats);
    ~Session();
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    const QByteArray &clientId() const { return m_clientId; }

    // Seconds the session lives after its connection closes (MQTT 5 Session Expiry
    // Interval; 3.1.1 clean session 0 maps to NeverExpires, clean session 1 to 0).
    std::uint32_t expiryInterval() const { return m_expiryInterval; }
    void setExpiryInterval(std::uint32_t seconds) { m_expiryInterval = seconds; }
    // Wall-clock ms when an offline session ends; 0 while online or when it never expires.
    std::int64_t expiresAtMs() const { return m_expiresAtMs; }

    bool isOnline() const { return m_output != nullptr; }
    // Attaches a connection. receiveMaximum is the client's (MQTT 5 3.1.2.11.3), which caps
    // the in-flight window together with the broker's own maxInflight.
    void attach(SessionOutput *output, std::uint16_t receiveMaximum);
    // Detaches the connection; the session keeps its state until it expires.
    void detach(std::int64_t nowMs);
    // A session found in storage at start-up: offline since `disconnectedAtMs`.
    void restoreOffline(std::int64_t disconnectedAtMs);
    // Resends what was in flight (PUBLISH with DUP=1, or PUBREL) after a reconnect with
    // session present (spec 4.4), then sends what is queued.
    void resumeDelivery();

    // Subscriptions, by full filter text (including "$share/group/" when shared).
    QHash<QByteArray, SubscriptionOptions> &subscriptions() { return m_subscriptions; }
    const QHash<QByteArray, SubscriptionOptions> &subscriptions() const { return m_subscriptions; }

    // Durable storage for this session's QoS 1/2 deliveries; null for sessions that end with
    // their connection (and when the broker runs without storage).
    void setPersistence(Persistence *persistence, std::uint64_t persistenceId)
    {
        m_persistence = persistence;
        m_persistenceId = persistenceId;
    }
    Persistence *persistence() const { return m_persistence; }
    std::uint64_t persistenceId() const { return m_persistenceId; }
    void setPersistenceId(std::uint64_t id) { m_persistenceId = id; }

    // True when a QoS 1/2 message would be refused now (queue full, policy refuse).
    bool wouldRefuse() const;

    // Puts back what a restart found in storage (before any connection attaches).
    void restore(const RestoredEntry &entry);

    enum class EnqueueResult { Sent, Queued, Dropped, Refused };
    // Called by the router for each matching message.
    EnqueueResult enqueue(Delivery delivery);

    // Acknowledgements from the client. Return false when the packet id is not in flight
    // in the right state (MQTT 5: reason 0x92 Packet Identifier not found).
    bool onPuback(std::uint16_t packetId);
    bool onPubrec(std::uint16_t packetId, bool failed);
    bool onPubcomp(std::uint16_t packetId);

    // Inbound QoS 2: ids received with PUBREC sent and no PUBREL yet (spec 4.3.3).
    QSet<std::uint16_t> &inboundQos2() { return m_inboundQos2; }

    // Takes every queued or unacknowledged-and-unreceived delivery that came through the
    // shared group, so the group can hand them to another member (the member is leaving).
    std::vector<Delivery> takeSharedDeliveries(const QByteArray &group);

    qsizetype queuedCount() const { return m_queue->size(); }
    qsizetype inflightCount() const { return qsizetype(m_inflight.size()); }

    SessionOutput *output() const { return m_output; }

private:
    enum class InflightState { AwaitPuback, AwaitPubrec, AwaitPubcomp };
    struct Inflight {
        std::uint16_t packetId;
        InflightState state;
        Delivery delivery;
        // False for a PUBLISH waiting to be resent after a reconnect whose Receive Maximum
        // is smaller than what was in flight (spec 3.3.4-9 holds on every connection).
        bool onWire = true;
    };
    int onWireCount() const;

    void pump();
    void forget(const Delivery &delivery);   // removes its durable copy, if any
    bool sendNow(Delivery &&delivery);
    std::uint16_t nextPacketId();
    std::vector<Inflight>::iterator findInflight(std::uint16_t packetId);
    std::uint16_t window() const;

    QByteArray m_clientId;
    const Limits &m_limits;
    BrokerStats &m_stats;
    std::uint32_t m_expiryInterval = 0;
    std::int64_t m_expiresAtMs = 0;
    SessionOutput *m_output = nullptr;
    std::uint16_t m_clientReceiveMaximum = 65535;
    std::uint16_t m_lastPacketId = 0;
    QHash<QByteArray, SubscriptionOptions> m_subscriptions;
    std::vector<Inflight> m_inflight;   // in send order; small (bounded by the window)
    std::unique_ptr<SessionQueue> m_queue;
    QSet<std::uint16_t> m_inboundQos2;
    Persistence *m_persistence = nullptr;
    std::uint64_t m_persistenceId = 0;
};

} // namespace ferry::core
