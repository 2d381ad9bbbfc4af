#include "core/Broker.h"

#include "core/Topic.h"

#include <QDateTime>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcCore, "ferry.core")

namespace ferry::core {

namespace {
std::int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

bool isBrokerTopic(const QByteArray &topic) { return topic.startsWith("$SYS/"); }
} // namespace

// Joins the completions of the writes one publish made into the one answer its sender gets:
// the worst status, once the last write is done.
struct Broker::CompletionJoin {
    int pending = 0;
    PersistStatus worst = PersistStatus::Ok;
    PersistDone done;
};

namespace {
PersistDone joinPart(const std::shared_ptr<Broker::CompletionJoin> &join)
{
    ++join->pending;
    return [join](PersistStatus status) {
        if (int(status) > int(join->worst))
            join->worst = status;
        if (--join->pending == 0 && join->done)
            join->done(join->worst);
    };
}
} // namespace

Broker::Broker(const Limits &limits, QObject *parent) : QObject(parent), m_limits(limits)
{
    // Offline sessions and delayed wills are checked once a second: expiry intervals are
    // whole seconds, so finer timers would only cost wake-ups.
    m_sweepTimer.setInterval(1000);
    connect(&m_sweepTimer, &QTimer::timeout, this, &Broker::sweep);
    m_sweepTimer.start();
}

Broker::~Broker() = default;

void Broker::makeDurable(Session &session)
{
    if (!m_persistence || session.expiryInterval() == 0)
        return;
    session.setPersistence(m_persistence, session.persistenceId());
    m_persistence->saveSession(session, 0);
}

Broker::Attach Broker::attachSession(const QByteArray &clientId, bool cleanStart,
                                     std::uint32_t expiryInterval, SessionOutput *output,
                                     std::uint16_t receiveMaximum, std::uint8_t protocolVersion)
{
    auto it = m_sessions.find(clientId);
    if (it != m_sessions.end() && it->second->isOnline()) {
        // Spec 3.1.4-3: the existing connection is closed; it detaches itself (and hands
        // over its will) from inside sessionTakenOver().
        it->second->output()->sessionTakenOver();
        it = m_sessions.find(clientId);
    }
    if (it != m_sessions.end() && cleanStart) {
        endSession(clientId);
        it = m_sessions.end();
    }

    Attach result;
    if (it != m_sessions.end()) {
        result.session = it->second.get();
        result.sessionPresent = true;
        --m_stats.clientsDisconnected;
        // Spec 3.1.3.2.2: a new connection before the will delay passed cancels the will.
        if (m_pendingWills.remove(clientId) && m_persistence)
            m_persistence->deleteWill(clientId);
    } else {
        auto session = std::make_unique<Session>(clientId, m_limits, m_stats);
        result.session = session.get();
        m_sessions.emplace(clientId, std::move(session));
    }
    Session &session = *result.session;
    const bool wasDurable = session.persistence() != nullptr;
    session.setExpiryInterval(expiryInterval);
    session.setProtocolVersion(protocolVersion);
    if (expiryInterval != 0)
        makeDurable(session);
    else if (wasDurable)
        m_persistence->saveSession(session, 0);   // ends with this connection now
    session.attach(output, receiveMaximum);
    ++m_stats.clientsConnected;
    ++m_stats.connectionsTotal;
    m_stats.clientsMaximum = std::max(m_stats.clientsMaximum, m_stats.clientsConnected);
    return result;
}

void Broker::detachSession(Session *session, std::optional<Message> will, std::uint32_t willDelaySeconds)
{
    const QByteArray clientId = session->clientId();
    const std::int64_t now = nowMs();
    session->detach(now);
    --m_stats.clientsConnected;
    std::vector<Routed> orphans;
    m_router.redistributeShared(session, orphans);
    dispatchOrphans(orphans);

    if (will) {
        if (willDelaySeconds == 0 || session->expiryInterval() == 0) {
            publish(std::move(*will));
        } else {
            const std::int64_t at = now + std::int64_t(willDelaySeconds) * 1000;
            if (m_persistence)
                m_persistence->saveWill(clientId, *will, at);
            m_pendingWills.insert(clientId, PendingWill{std::move(*will), at});
        }
    }
    if (session->expiryInterval() == 0) {
        endSession(clientId);
    } else {
        ++m_stats.clientsDisconnected;
        if (session->persistence())
            m_persistence->saveSession(*session, now);
    }
}

Session *Broker::findSession(const QByteArray &clientId) const
{
    auto it = m_sessions.find(clientId);
    return it == m_sessions.end() ? nullptr : it->second.get();
}

void Broker::publishWill(const QByteArray &clientId, Message message)
{
    if (m_persistence)
        m_persistence->deleteWill(clientId);
    publish(std::move(message));
}

void Broker::endSession(const QByteArray &clientId)
{
    auto it = m_sessions.find(clientId);
    if (it == m_sessions.end())
        return;
    std::unique_ptr<Session> session = std::move(it->second);
    m_sessions.erase(it);
    if (!session->isOnline() && session->expiryInterval() != 0)
        --m_stats.clientsDisconnected;
    std::vector<Routed> orphans;
    m_router.removeSession(session.get(), orphans);
    // Deliveries that stayed with the ending session end with it.
    orphans.erase(std::remove_if(orphans.begin(), orphans.end(),
                                 [&](const Routed &r) { return r.session == session.get(); }),
                  orphans.end());
    dispatchOrphans(orphans);
    if (session->persistence())
        m_persistence->endSession(*session);
    // Spec 3.1.3.2.2: the will is sent when the session ends, if its delay has not passed.
    auto will = m_pendingWills.find(clientId);
    if (will != m_pendingWills.end()) {
        Message message = will->message;
        m_pendingWills.erase(will);
        publishWill(clientId, std::move(message));
    }
}

void Broker::sweep()
{
    const std::int64_t now = nowMs();
    QList<QByteArray> due;
    for (auto it = m_pendingWills.begin(); it != m_pendingWills.end(); ++it)
        if (it->publishAtMs <= now)
            due.append(it.key());
    for (const QByteArray &clientId : due)
        publishWill(clientId, m_pendingWills.take(clientId).message);

    QList<QByteArray> expired;
    for (const auto &[clientId, session] : m_sessions) {
        if (!session->isOnline() && session->expiresAtMs() != 0 && session->expiresAtMs() <= now)
            expired.append(clientId);
    }
    for (const QByteArray &clientId : expired) {
        qCInfo(lcCore, "session_expired client_id=%s", clientId.constData());
        endSession(clientId);
    }
    m_retained.removeExpired(now);
}

RouteOutcome Broker::publish(Message message, PersistDone done)
{
    {
        MessageData &d = message.edit();
        if (d.id == 0)
            d.id = m_nextMessageId++;
        if (d.timestampMs == 0)
            d.timestampMs = nowMs();
    }
    std::shared_ptr<CompletionJoin> join;
    if (message.qos() > 0 && done && m_persistence) {
        join = std::make_shared<CompletionJoin>();
        join->done = std::move(done);
    }
    if (message.retain()) {
        m_retained.set(message);
        if (m_persistence && !isBrokerTopic(message.topic()))
            m_persistence->setRetained(message, join ? joinPart(join) : PersistDone());
    }
    m_routed.clear();
    m_router.route(message, m_routed);
    RouteOutcome outcome = dispatch(message, join);
    // Completions are posted, never run inside the call that made the write, so whatever
    // was joined is still outstanding here.
    outcome.durablePending = join && join->pending > 0;
    outcome.messageId = message.data().id;
    for (const auto &observer : m_observers)
        observer(message);
    return outcome;
}

RouteOutcome Broker::dispatch(const Message &message, const std::shared_ptr<CompletionJoin> &join)
{
    RouteOutcome outcome;
    if (m_persistence && message.qos() > 0) {
        QList<DurableTarget> targets;
        QVarLengthArray<std::size_t, 8> indexes;
        for (std::size_t i = 0; i < m_routed.size(); ++i) {
            Routed &r = m_routed[i];
            if (r.delivery.qos > 0 && r.session->persistence() && !r.session->wouldRefuse()) {
                targets.append({r.session, &r.delivery});
                indexes.append(i);
            }
        }
        if (!targets.isEmpty()) {
            const QList<std::uint64_t> seqs =
                m_persistence->append(targets, message, join ? joinPart(join) : PersistDone());
            for (qsizetype i = 0; i < seqs.size(); ++i)
                m_routed[indexes[i]].delivery.storageSeq = seqs[i];
        }
    }
    for (Routed &r : m_routed) {
        switch (r.session->enqueue(std::move(r.delivery))) {
        case Session::EnqueueResult::Sent:
        case Session::EnqueueResult::Queued:
            ++outcome.receivers;
            break;
        case Session::EnqueueResult::Refused:
            ++outcome.refused;
            break;
        case Session::EnqueueResult::Dropped:
            break;
        }
    }
    m_routed.clear();
    return outcome;
}

void Broker::dispatchOrphans(std::vector<Routed> &orphans)
{
    for (Routed &orphan : orphans) {
        Delivery &d = orphan.delivery;
        if (orphan.from && orphan.from != orphan.session && d.storageSeq != 0) {
            // It moves to another member's queue: out of the old one, into the new one.
            if (Persistence *p = orphan.from->persistence())
                p->remove(*orphan.from, d.storageSeq);
            d.storageSeq = 0;
        }
        if (d.storageSeq == 0 && d.qos > 0 && orphan.session->persistence() && m_persistence) {
            DurableTarget target{orphan.session, &d};
            const QList<std::uint64_t> seqs = m_persistence->append({target}, d.message, {});
            if (!seqs.isEmpty())
                d.storageSeq = seqs.first();
        }
        orphan.session->enqueue(std::move(d));
    }
    orphans.clear();
}

bool Broker::subscribe(Session *session, const QByteArray &filter, const SubscriptionOptions &options)
{
    const bool isNew = m_router.subscribe(session, filter, options);
    session->subscriptions().insert(filter, options);
    if (session->persistence())
        m_persistence->saveSubscription(*session, filter, options);
    return isNew;
}

void Broker::deliverRetained(Session *session, const QByteArray &filter,
                             const SubscriptionOptions &options, bool isNew)
{
    // Spec 3.8.3.1 Retain Handling: 0 send retained messages, 1 only if the subscription is
    // new, 2 never. Shared subscriptions never get retained messages (spec 4.8.2).
    SharedSubscription shared;
    const bool isShared = parseSharedSubscription(filter, &shared) == ShareParse::Valid;
    if (isShared || options.retainHandling == 2 || (options.retainHandling == 1 && !isNew))
        return;
    const std::int64_t now = nowMs();
    m_routed.clear();
    m_retained.match(filter, [&](const Message &retained) {
        if (retained.isExpired(now))
            return;
        Delivery d;
        d.message = retained;
        d.qos = std::min(retained.qos(), options.maxQos);
        d.retain = true;   // spec 3.3.1-9: RETAIN 1 for messages sent because of a new subscription
        if (options.identifier != 0)
            d.subscriptionIds.append(options.identifier);
        m_routed.push_back({session, std::move(d)});
    });
    // Retained copies for a persistent session are durable like any other delivery.
    std::vector<Routed> batch;
    batch.swap(m_routed);
    dispatchOrphans(batch);
}

bool Broker::unsubscribe(Session *session, const QByteArray &filter)
{
    std::vector<Routed> orphans;
    const bool removed = m_router.unsubscribe(session, filter, orphans);
    session->subscriptions().remove(filter);
    if (removed && session->persistence())
        m_persistence->deleteSubscription(*session, filter);
    dispatchOrphans(orphans);
    return removed;
}

void Broker::restore(const QList<RestoredSession> &sessions, const QList<Message> &retained,
                     const QList<RestoredWill> &wills)
{
    const std::int64_t now = nowMs();
    for (const Message &m : retained)
        m_retained.set(m);
    for (const RestoredSession &rs : sessions) {
        auto session = std::make_unique<Session>(rs.clientId, m_limits, m_stats);
        session->setExpiryInterval(rs.expiryInterval);
        session->setProtocolVersion(rs.protocolVersion);
        session->setPersistence(m_persistence, rs.persistenceId);
        // A session that was online when the broker stopped counts as disconnected now.
        session->restoreOffline(rs.disconnectedAtMs != 0 ? rs.disconnectedAtMs : now);
        for (const auto &[filter, options] : rs.subscriptions) {
            m_router.subscribe(session.get(), filter, options);
            session->subscriptions().insert(filter, options);
        }
        for (const RestoredEntry &entry : rs.entries)
            session->restore(entry);
        for (std::uint16_t packetId : rs.inboundQos2)
            session->restoreInboundQos2(packetId);
        ++m_stats.clientsDisconnected;
        m_sessions.emplace(rs.clientId, std::move(session));
    }
    for (const RestoredWill &w : wills)
        m_pendingWills.insert(w.clientId, PendingWill{w.message, w.publishAtMs});
    qCInfo(lcCore, "restored sessions=%lld retained=%lld wills=%lld", static_cast<long long>(sessions.size()),
           static_cast<long long>(retained.size()), static_cast<long long>(wills.size()));
}

void Broker::shutdown()
{
    // Wills whose delay has not passed stay pending in storage when there is storage: the
    // sessions they belong to outlive the restart. Without storage they would be lost, so
    // they go now (the session ends with the process).
    if (m_persistence)
        return;
    const QList<QByteArray> withWills = m_pendingWills.keys();
    for (const QByteArray &clientId : withWills)
        publish(m_pendingWills.take(clientId).message);
}

} // namespace ferry::core
