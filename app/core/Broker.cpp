#include "core/Broker.h"

#include "core/Topic.h"

#include <QDateTime>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcCore, "ferry.core")

namespace ferry::core {

namespace {
std::int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }
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

Broker::Attach Broker::attachSession(const QByteArray &clientId, bool cleanStart,
                                     std::uint32_t expiryInterval, SessionOutput *output,
                                     std::uint16_t receiveMaximum)
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
        m_pendingWills.remove(clientId);
    } else {
        auto session = std::make_unique<Session>(clientId, m_limits, m_stats);
        result.session = session.get();
        m_sessions.emplace(clientId, std::move(session));
    }
    result.session->setExpiryInterval(expiryInterval);
    result.session->attach(output, receiveMaximum);
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
    m_router.redistributeShared(session);

    if (will) {
        if (willDelaySeconds == 0 || session->expiryInterval() == 0)
            publish(std::move(*will));
        else
            m_pendingWills.insert(clientId, PendingWill{std::move(*will), now + std::int64_t(willDelaySeconds) * 1000});
    }
    if (session->expiryInterval() == 0)
        endSession(clientId);
    else
        ++m_stats.clientsDisconnected;
}

Session *Broker::findSession(const QByteArray &clientId) const
{
    auto it = m_sessions.find(clientId);
    return it == m_sessions.end() ? nullptr : it->second.get();
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
    m_router.removeSession(session.get());
    // Spec 3.1.3.2.2: the will is sent when the session ends, if its delay has not passed.
    auto will = m_pendingWills.find(clientId);
    if (will != m_pendingWills.end()) {
        Message message = will->message;
        m_pendingWills.erase(will);
        publish(std::move(message));
    }
}

void Broker::sweep()
{
    const std::int64_t now = nowMs();
    QList<QByteArray> due;
    for (auto it = m_pendingWills.begin(); it != m_pendingWills.end(); ++it)
        if (it->publishAtMs <= now)
            due.append(it.key());
    for (const QByteArray &clientId : due) {
        Message message = m_pendingWills.take(clientId).message;
        publish(std::move(message));
    }

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

RouteOutcome Broker::publish(Message message)
{
    {
        MessageData &d = message.edit();
        if (d.id == 0)
            d.id = m_nextMessageId++;
        if (d.timestampMs == 0)
            d.timestampMs = nowMs();
    }
    if (message.retain())
        m_retained.set(message);
    RouteOutcome outcome = m_router.route(message);
    for (const auto &observer : m_observers)
        observer(message);
    return outcome;
}

bool Broker::subscribe(Session *session, const QByteArray &filter, const SubscriptionOptions &options)
{
    const bool isNew = m_router.subscribe(session, filter, options);
    session->subscriptions().insert(filter, options);
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
    m_retained.match(filter, [&](const Message &retained) {
        if (retained.isExpired(now))
            return;
        Delivery d;
        d.message = retained;
        d.qos = std::min(retained.qos(), options.maxQos);
        d.retain = true;   // spec 3.3.1-9: RETAIN 1 for messages sent because of a new subscription
        if (options.identifier != 0)
            d.subscriptionIds.append(options.identifier);
        session->enqueue(std::move(d));
    });
}

bool Broker::unsubscribe(Session *session, const QByteArray &filter)
{
    const bool removed = m_router.unsubscribe(session, filter);
    session->subscriptions().remove(filter);
    return removed;
}

void Broker::shutdown()
{
    const QList<QByteArray> withWills = m_pendingWills.keys();
    for (const QByteArray &clientId : withWills) {
        Message message = m_pendingWills.take(clientId).message;
        publish(std::move(message));
    }
}

} // namespace ferry::core
