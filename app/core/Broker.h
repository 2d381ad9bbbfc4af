#pragma once
// The protocol-agnostic broker: sessions by client id, publish -> retained + router,
// subscriptions, wills and session expiry. Protocol adapters (MQTT now, AMQP later) call it;
// it knows nothing of packets or sockets.
//
// Threading: one event loop (the broker's); nothing here blocks or takes locks.
#include "core/BrokerStats.h"
#include "core/Limits.h"
#include "core/Message.h"
#include "core/RetainedStore.h"
#include "core/Router.h"
#include "core/Session.h"

#include <QHash>
#include <QObject>
#include <QTimer>

#include <functional>
#include <unordered_map>
#include <memory>

namespace ferry::core {

// A will kept by the broker after its connection closed abnormally (MQTT 5 3.1.3.2.2).
struct PendingWill {
    Message message;
    std::int64_t publishAtMs = 0;
};

class Broker : public QObject {
    Q_OBJECT
public:
    explicit Broker(const Limits &limits, QObject *parent = nullptr);
    ~Broker() override;

    struct CompletionJoin;   // internal: joins the durable writes of one publish

    // ---- sessions -------------------------------------------------------------------
    struct Attach {
        Session *session = nullptr;
        bool sessionPresent = false;
    };
    // Finds or creates the session for `clientId` and attaches `output` to it. A session
    // already online is taken over first (its output is told, and detaches itself).
    // cleanStart discards any previous session (spec 3.1.2.4).
    // protocolVersion (4 = 3.1.1, 5 = 5.0) is recorded with a persistent session.
    Attach attachSession(const QByteArray &clientId, bool cleanStart, std::uint32_t expiryInterval,
                         SessionOutput *output, std::uint16_t receiveMaximum,
                         std::uint8_t protocolVersion = 5);
    // The connection of `session` closed. `will` is published (now, or after its delay)
    // when set; the session ends now if its expiry interval is 0.
    void detachSession(Session *session, std::optional<Message> will, std::uint32_t willDelaySeconds);
    Session *findSession(const QByteArray &clientId) const;
    qsizetype sessionCount() const { return qsizetype(m_sessions.size()); }

    // ---- messages ---------------------------------------------------------------------
    // Routes a message to subscribers and updates the retained store. The message's id and
    // timestamp are assigned here when zero. When the message must first be committed for a
    // durable party (a persistent session's queue, the retained store), the outcome says
    // durablePending and `done` runs after the commit; otherwise `done` is never called and the
    // caller may acknowledge at once.
    RouteOutcome publish(Message message, PersistDone done = {});

    // Storage for persistent sessions, retained messages and delayed wills (null: memory only).
    void setPersistence(Persistence *persistence) { m_persistence = persistence; }
    // Puts back what storage held at start-up. Call before any connection is accepted.
    void restore(const QList<RestoredSession> &sessions, const QList<Message> &retained,
                 const QList<RestoredWill> &wills);

    // ---- subscriptions ----------------------------------------------------------------
    // Adds or replaces a subscription. Returns true when it is new for the session.
    bool subscribe(Session *session, const QByteArray &filter, const SubscriptionOptions &options);
    // Sends the retained messages matching a subscription just made, as Retain Handling says
    // (spec 3.3.1.3, 3.8.3.1). Separate from subscribe() so that SUBACK goes out first.
    void deliverRetained(Session *session, const QByteArray &filter,
                         const SubscriptionOptions &options, bool isNew);
    bool unsubscribe(Session *session, const QByteArray &filter);

    // ---- observation -------------------------------------------------------------------
    // Called after every publish has been routed (rules, bridges, dashboard). Observers run
    // on the broker's thread and must not block.
    using PublishObserver = std::function<void(const Message &)>;
    void addPublishObserver(PublishObserver observer) { m_observers.push_back(std::move(observer)); }

    BrokerStats &stats() { return m_stats; }
    const BrokerStats &stats() const { return m_stats; }
    RetainedStore &retained() { return m_retained; }
    const Router &router() const { return m_router; }
    const Limits &limits() const { return m_limits; }
    void setLimits(const Limits &limits) { m_limits = limits; }

    // Ends every session and sends the wills that are due at shutdown (spec: the session
    // ends, so delayed wills are sent now).
    void shutdown();

private:
    void endSession(const QByteArray &clientId);
    void sweep();
    // Stores (when durable) and enqueues what the router decided, in m_routed.
    // `join` (may be null) collects the durable writes the publish is waiting for.
    RouteOutcome dispatch(const Message &message, const std::shared_ptr<CompletionJoin> &join);
    void dispatchOrphans(std::vector<Routed> &orphans);
    void makeDurable(Session &session);
    void publishWill(const QByteArray &clientId, Message message);

    Limits m_limits;
    BrokerStats m_stats;
    RetainedStore m_retained;
    Router m_router;
    struct ByteArrayHash {
        std::size_t operator()(const QByteArray &b) const noexcept { return qHash(b); }
    };
    std::unordered_map<QByteArray, std::unique_ptr<Session>, ByteArrayHash> m_sessions;
    QHash<QByteArray, PendingWill> m_pendingWills;
    std::vector<PublishObserver> m_observers;
    QTimer m_sweepTimer;
    std::uint64_t m_nextMessageId = 1;
    Persistence *m_persistence = nullptr;
    std::vector<Routed> m_routed;   // reused per publish
};

} // namespace ferry::core
