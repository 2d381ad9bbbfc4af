#pragma once
// The durability seam: what the core asks of storage, and nothing of how it is done.
//
// Implemented by storage::StorePersistence over SQLite; the core never sees SQL. Every call is
// made on the broker's thread and returns at once; writes are group-committed by the
// implementation. A PersistDone runs later on the broker's thread, after the write committed
// (or failed), in the order the writes were made, never inside the call that made the write.
//
// Who is persisted: sessions that outlive their connection (expiry interval > 0), their
// subscriptions and their QoS 1/2 deliveries; retained messages; delayed wills. QoS 0 and
// clean sessions never touch the disk.
#include "core/Delivery.h"
#include "core/Subscription.h"

#include <QList>

#include <functional>

namespace ferry::core {

class Session;

enum class PersistStatus { Ok, Full, Failed };
using PersistDone = std::function<void(PersistStatus)>;

struct DurableTarget {
    Session *session = nullptr;
    const Delivery *delivery = nullptr;   // its qos, retain flag, identifiers, share group
};

class Persistence {
public:
    virtual ~Persistence() = default;

    // A persistent session began or changed (expiry, disconnect time). Creates its queue.
    virtual void saveSession(Session &session, std::int64_t disconnectedAtMs) = 0;
    // The session ended: its record, subscriptions and queue go.
    virtual void endSession(Session &session) = 0;
    virtual void saveSubscription(Session &session, const QByteArray &filter,
                                  const SubscriptionOptions &options) = 0;
    virtual void deleteSubscription(Session &session, const QByteArray &filter) = 0;

    // Stores the message once for all targets. Returns each target's entry sequence number
    // (same order); `done` runs after the commit.
    virtual QList<std::uint64_t> append(const QList<DurableTarget> &targets, const Message &message,
                                        PersistDone done) = 0;
    // Delivery progress (spec 4.4: resend PUBLISH or PUBREL after a restart). `done` may be
    // empty.
    virtual void markInflight(Session &session, std::uint64_t seq, std::uint16_t packetId,
                              PersistDone done) = 0;
    virtual void markReleased(Session &session, std::uint64_t seq, std::uint16_t packetId,
                              PersistDone done) = 0;
    // Inbound QoS 2 packet ids between PUBREC and PUBREL (spec 4.3.3), so that a PUBLISH the
    // client resends after a restart is still recognised as a duplicate.
    virtual void addInboundQos2(Session &session, std::uint16_t packetId, PersistDone done) = 0;
    virtual void removeInboundQos2(Session &session, std::uint16_t packetId, PersistDone done) = 0;
    // Acknowledged, dropped or expired.
    virtual void remove(Session &session, std::uint64_t seq) = 0;

    // A retained message set (empty payload: cleared). `done` may be empty.
    virtual void setRetained(const Message &message, PersistDone done) = 0;

    virtual void saveWill(const QByteArray &clientId, const Message &will, std::int64_t publishAtMs) = 0;
    virtual void deleteWill(const QByteArray &clientId) = 0;
};

// What start-up hands back to the broker.
struct RestoredEntry {
    enum class State { Queued, Inflight, Released };
    Delivery delivery;   // storageSeq set
    State state = State::Queued;
    std::uint16_t packetId = 0;
};

struct RestoredSession {
    QByteArray clientId;
    std::uint32_t expiryInterval = 0;
    std::uint8_t protocolVersion = 5;
    std::int64_t disconnectedAtMs = 0;
    std::uint64_t persistenceId = 0;
    QList<QPair<QByteArray, SubscriptionOptions>> subscriptions;
    QList<RestoredEntry> entries;
    QList<std::uint16_t> inboundQos2;
};

struct RestoredWill {
    QByteArray clientId;
    Message message;
    std::int64_t publishAtMs = 0;
};

} // namespace ferry::core
