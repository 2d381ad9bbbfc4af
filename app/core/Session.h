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
    // The MQTT version of its last connection (4 = 3.1.1, 5 = 5.0), stored with it.
    std::uint8_t protocolVersion() const { return m_protocolVersion; }
    void setProtocolVersion(std::uint8_t version) { m_protocolVersion = version; }
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
    // in the right state (MQTT 5: reason 0x92 Packet Identifier not found). When `acked` is
    // given, the acknowledged delivery is moved into it (for $events/message_acked).
    bool onPuback(std::uint16_t packetId, Delivery *acked = nullptr);
    bool onPubrec(std::uint16_t packetId, bool failed);
    bool onPubcomp(std::uint16_t packetId, Delivery *acked = nullptr);

    // Inbound QoS 2: ids received with PUBREC sent and no PUBREL yet (spec 4.3.3).
    const QSet<std::uint16_t> &inboundQos2() const { return m_inboundQos2; }
    // Records an id before its PUBREC goes out. For a persistent session the id is written to
    // storage too (so a PUBLISH resent after a restart is still known as a duplicate); `done`
    // runs after that commit, or is not called when nothing is written (returns false then).
    bool addInboundQos2(std::uint16_t packetId, PersistDone done);
    // Forgets an id (PUBREL came, or the PUBLISH was refused). Returns whether it was known;
    // *written tells whether a storage write was queued, `done` running after its commit (the
    // PUBCOMP must wait for it, or a crash could leave the id behind to swallow the client's
    // next message under that id).
    bool removeInboundQos2(std::uint16_t packetId, PersistDone done, bool *written);
    // Puts back an id found in storage at start-up.
    void restoreInboundQos2(std::uint16_t packetId) { m_inboundQos2.insert(packetId); }

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
        // Counts against the window on the current connection. False for a PUBLISH not sent
        // yet, or waiting to be resent after a reconnect (also when the new Receive Maximum is
        // smaller than what was in flight: spec 3.3.4-9 holds on every connection).
        bool onWire = false;
        // Sent at least once: a resend carries DUP=1 (spec 3.3.1.1).
        bool sent = false;
        // Exactly once across a crash: a QoS 2 PUBLISH leaves only after its packet id is on
        // disk, and a PUBREL only after the "released" state is (else a restart could send the
        // PUBLISH again under an id the client has already freed: spec 4.3.3).
        bool awaitingCommit = false;
    };
    void pump();
    void transmit();   // sends what is not on the wire, in order, within the window
    void forget(const Delivery &delivery);   // removes its durable copy, if any
    // Sends now, or holds behind earlier deliveries; false when the connection refused it.
    bool sendNow(Delivery &&delivery);
    std::vector<Inflight>::iterator eraseInflight(std::vector<Inflight>::iterator it);
    void onMarkCommitted(std::uint16_t packetId, std::uint64_t seq, PersistStatus status);
    PersistDone markDone(std::uint16_t packetId, std::uint64_t seq);
    std::uint16_t nextPacketId();
    std::vector<Inflight>::iterator findInflight(std::uint16_t packetId);
    std::uint16_t window() const;

    QByteArray m_clientId;
    const Limits &m_limits;
    BrokerStats &m_stats;
    std::uint32_t m_expiryInterval = 0;
    std::uint8_t m_protocolVersion = 5;
    std::int64_t m_expiresAtMs = 0;
    SessionOutput *m_output = nullptr;
    std::uint16_t m_clientReceiveMaximum = 65535;
    std::uint16_t m_lastPacketId = 0;
    int m_notOnWire = 0;                // entries of m_inflight with onWire false
    QHash<QByteArray, SubscriptionOptions> m_subscriptions;
    std::vector<Inflight> m_inflight;   // in send order; small (bounded by the window)
    std::unique_ptr<SessionQueue> m_queue;
    QSet<std::uint16_t> m_inboundQos2;
    Persistence *m_persistence = nullptr;
    std::uint64_t m_persistenceId = 0;
    // Storage completions may run after the session ended: they hold a weak_ptr. Made on
    // first use, so sessions that never wait for storage (most) allocate none.
    std::shared_ptr<Session *> m_self;
};

} // namespace ferry::core
