#include "storage/StorePersistence.h"

#include "core/Session.h"
#include "storage/DeliveryCodec.h"

#include <QHash>
#include <QLoggingCategory>

#include "storage/StorageLog.h"

namespace ferry::storage {

namespace {
QByteArray queueName(const QByteArray &clientId)
{
    return "mqtt:" + clientId;
}

core::PersistStatus toCore(StorageStatus s)
{
    switch (s) {
    case StorageStatus::Ok:
        return core::PersistStatus::Ok;
    case StorageStatus::Full:
        return core::PersistStatus::Full;
    default:
        return core::PersistStatus::Failed;
    }
}

Completion wrap(core::PersistDone done)
{
    if (!done)
        return {};
    return [done = std::move(done)](StorageStatus s) { done(toCore(s)); };
}

// Background writes nobody waits for still must not fail silently.
Completion logFailure(const char *what)
{
    return [what](StorageStatus s) {
        if (s != StorageStatus::Ok && s != StorageStatus::NotFound)
            qCWarning(lcStorage, "write_failed what=%s status=%s", what, statusName(s));
    };
}
} // namespace

StorePersistence::StorePersistence(Store &store) : m_store(store) {}

std::uint32_t StorePersistence::encodeOptions(const core::SubscriptionOptions &o)
{
    // The MQTT 5 subscription options byte (spec 3.8.3.1): bits 0-1 QoS, 2 no local,
    // 3 retain as published, 4-5 retain handling.
    return std::uint32_t(o.maxQos & 3) | (o.noLocal ? 4u : 0u) | (o.retainAsPublished ? 8u : 0u) |
           (std::uint32_t(o.retainHandling & 3) << 4);
}

core::SubscriptionOptions StorePersistence::decodeOptions(std::uint32_t word,
                                                          std::uint32_t identifier)
{
    core::SubscriptionOptions o;
    o.maxQos = std::uint8_t(word & 3);
    o.noLocal = word & 4;
    o.retainAsPublished = word & 8;
    o.retainHandling = std::uint8_t((word >> 4) & 3);
    o.identifier = identifier;
    return o;
}

bool StorePersistence::load(std::int64_t nowMs, QList<core::RestoredSession> *sessions,
                            QList<core::Message> *retained, QList<core::RestoredWill> *wills,
                            QString *error)
{
    StorageStatus status = StorageStatus::Ok;
    const auto fail = [&](const char *what) {
        *error = QStringLiteral("cannot read %1 from %2: %3")
                     .arg(QLatin1String(what), m_store.path(), QLatin1String(statusName(status)));
        return false;
    };
    const QList<StoredSession> stored = m_store.loadSessions(&status);
    if (status != StorageStatus::Ok)
        return fail("sessions");
    const QList<StoredSubscription> subscriptions = m_store.loadSubscriptions(&status);
    if (status != StorageStatus::Ok)
        return fail("subscriptions");
    QHash<QByteArray, QList<QPair<QByteArray, core::SubscriptionOptions>>> byClient;
    for (const StoredSubscription &s : subscriptions)
        byClient[s.clientId].append({s.filter, decodeOptions(s.options, s.subscriptionId)});
    const QList<StoredInboundId> inbound = m_store.loadInboundQos2(&status);
    if (status != StorageStatus::Ok)
        return fail("inbound QoS 2 packet ids");
    QHash<QByteArray, QList<std::uint16_t>> inboundByClient;
    for (const StoredInboundId &id : inbound)
        inboundByClient[id.clientId].append(id.packetId);

    // All queues in one scan: one query per session would scan the entries once per session.
    const QHash<std::uint64_t, QList<StoredEntry>> entriesByQueue = m_store.loadAll(nowMs, &status);
    if (status != StorageStatus::Ok)
        return fail("session queue entries");

    for (const StoredSession &s : stored) {
        const std::uint64_t queue =
            m_store.queueId(queueName(s.clientId), QueueKind::MqttSession, &status);
        const bool expired =
            s.expiryInterval == 0 ||
            (s.expiryInterval != core::Session::NeverExpires && s.disconnectedAtMs != 0 &&
             s.disconnectedAtMs + std::int64_t(s.expiryInterval) * 1000 <= nowMs);
        if (expired) {
            // It ended while we were down (or with its connection): clean up, don't restore.
            m_store.deleteSession(s.clientId, logFailure("delete expired session"));
            if (queue != 0)
                m_store.dropQueue(queue, logFailure("drop expired queue"));
            continue;
        }
        if (queue == 0)
            return fail("session queue");
        core::RestoredSession rs;
        rs.clientId = s.clientId;
        rs.expiryInterval = s.expiryInterval;
        rs.protocolVersion = s.protocolVersion;
        rs.disconnectedAtMs = s.disconnectedAtMs;
        rs.persistenceId = queue;
        rs.subscriptions = byClient.value(s.clientId);
        rs.inboundQos2 = inboundByClient.value(s.clientId);
        const QList<StoredEntry> entries = entriesByQueue.value(queue);
        rs.entries.reserve(entries.size());
        for (const StoredEntry &e : entries) {
            core::RestoredEntry re;
            re.delivery = DeliveryCodec::delivery(e);
            re.delivery.storageSeq = e.seq;
            re.packetId = e.packetId;
            re.state = e.state == EntryState::Queued     ? core::RestoredEntry::State::Queued
                       : e.state == EntryState::Inflight ? core::RestoredEntry::State::Inflight
                                                         : core::RestoredEntry::State::Released;
            rs.entries.append(std::move(re));
        }
        sessions->append(std::move(rs));
    }

    *retained = m_store.loadRetained(nowMs, &status);
    if (status != StorageStatus::Ok)
        return fail("retained messages");
    for (const StoredWill &w : m_store.loadWills(&status))
        wills->append({w.clientId, w.message, w.publishAtMs});
    if (status != StorageStatus::Ok)
        return fail("wills");
    return true;
}

std::uint64_t StorePersistence::queueOf(core::Session &session)
{
    if (session.persistenceId() == 0) {
        // Once per new persistent session (a CONNECT), never per message.
        StorageStatus status = StorageStatus::Ok;
        session.setPersistenceId(
            m_store.queueId(queueName(session.clientId()), QueueKind::MqttSession, &status));
        if (status != StorageStatus::Ok)
            qCWarning(lcStorage, "queue_create_failed client_id=%s status=%s",
                      session.clientId().constData(), statusName(status));
    }
    return session.persistenceId();
}

void StorePersistence::saveSession(core::Session &session, std::int64_t disconnectedAtMs)
{
    queueOf(session);
    StoredSession s;
    s.clientId = session.clientId();
    s.expiryInterval = session.expiryInterval();
    s.disconnectedAtMs = disconnectedAtMs;
    s.protocolVersion = session.protocolVersion();
    m_store.saveSession(s, logFailure("save session"));
}

void StorePersistence::endSession(core::Session &session)
{
    m_store.deleteSession(session.clientId(), logFailure("delete session"));
    if (session.persistenceId() != 0)
        m_store.dropQueue(session.persistenceId(), logFailure("drop session queue"));
    session.setPersistenceId(0);
}

void StorePersistence::saveSubscription(core::Session &session, const QByteArray &filter,
                                        const core::SubscriptionOptions &options)
{
    StoredSubscription s;
    s.clientId = session.clientId();
    s.filter = filter;
    s.options = encodeOptions(options);
    s.subscriptionId = options.identifier;
    m_store.saveSubscription(s, logFailure("save subscription"));
}

void StorePersistence::deleteSubscription(core::Session &session, const QByteArray &filter)
{
    m_store.deleteSubscription(session.clientId(), filter, logFailure("delete subscription"));
}

QList<std::uint64_t> StorePersistence::append(const QList<core::DurableTarget> &targets,
                                              const core::Message &message, core::PersistDone done)
{
    QList<QueueTarget> queueTargets;
    queueTargets.reserve(targets.size());
    for (const core::DurableTarget &t : targets) {
        queueTargets.append({queueOf(*t.session), DeliveryCodec::meta(*t.delivery)});
    }
    return m_store.appendMany(queueTargets, message, wrap(std::move(done)));
}

void StorePersistence::markInflight(core::Session &session, std::uint64_t seq,
                                    std::uint16_t packetId, core::PersistDone done)
{
    // No completion when nobody waits: a state folded into its pending INSERT then costs no
    // extra operation (Store::setEntryState). SQL failures are logged by the store itself.
    m_store.setEntryState(queueOf(session), seq, EntryState::Inflight, packetId,
                          wrap(std::move(done)));
}

void StorePersistence::markReleased(core::Session &session, std::uint64_t seq,
                                    std::uint16_t packetId, core::PersistDone done)
{
    m_store.setEntryState(queueOf(session), seq, EntryState::Released, packetId,
                          done ? wrap(std::move(done)) : logFailure("mark released"));
}

void StorePersistence::addInboundQos2(core::Session &session, std::uint16_t packetId,
                                      core::PersistDone done)
{
    m_store.addInboundQos2(session.clientId(), packetId,
                           done ? wrap(std::move(done)) : logFailure("add inbound qos2"));
}

void StorePersistence::removeInboundQos2(core::Session &session, std::uint16_t packetId,
                                         core::PersistDone done)
{
    m_store.removeInboundQos2(session.clientId(), packetId,
                              done ? wrap(std::move(done)) : logFailure("remove inbound qos2"));
}

void StorePersistence::remove(core::Session &session, std::uint64_t seq)
{
    m_store.remove(queueOf(session), seq, Completion());   // as above
}

void StorePersistence::setRetained(const core::Message &message, core::PersistDone done)
{
    if (message.payload().isEmpty())
        m_store.clearRetained(message.topic(), wrap(std::move(done)));
    else
        m_store.setRetained(message, wrap(std::move(done)));
}

void StorePersistence::saveWill(const QByteArray &clientId, const core::Message &will,
                                std::int64_t publishAtMs)
{
    m_store.saveWill({clientId, will, publishAtMs}, logFailure("save will"));
}

void StorePersistence::deleteWill(const QByteArray &clientId)
{
    m_store.deleteWill(clientId, logFailure("delete will"));
}

} // namespace ferry::storage
