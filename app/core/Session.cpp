#include "core/Session.h"

#include "core/BrokerStats.h"
#include "core/MemorySessionQueue.h"

#include <QDateTime>
#include <QLoggingCategory>

#include <algorithm>

Q_DECLARE_LOGGING_CATEGORY(lcCore)

namespace ferry::core {

Session::Session(QByteArray clientId, const Limits &limits, BrokerStats &stats)
    : m_clientId(std::move(clientId)), m_limits(limits), m_stats(stats),
      m_queue(std::make_unique<MemorySessionQueue>())
{
}

Session::~Session() = default;

void Session::attach(SessionOutput *output, std::uint16_t receiveMaximum)
{
    m_output = output;
    m_clientReceiveMaximum = receiveMaximum == 0 ? 65535 : receiveMaximum;
    m_expiresAtMs = 0;
}

void Session::detach(std::int64_t nowMs)
{
    m_output = nullptr;
    m_expiresAtMs = m_expiryInterval == NeverExpires
                        ? 0
                        : nowMs + std::int64_t(m_expiryInterval) * 1000;
}

void Session::restoreOffline(std::int64_t disconnectedAtMs)
{
    detach(disconnectedAtMs);
}

std::uint16_t Session::window() const
{
    return std::min<std::uint16_t>(m_limits.maxInflight == 0 ? 65535 : m_limits.maxInflight,
                                   m_clientReceiveMaximum);
}

void Session::resumeDelivery()
{
    if (!m_output)
        return;
    // Spec 4.4: on reconnect with a session, resend unacknowledged PUBLISH packets with DUP
    // set and PUBREL packets, in their original order, before anything new.
    for (auto &entry : m_inflight) {
        if (entry.state == InflightState::AwaitPubcomp) {
            if (!entry.awaitingCommit)   // else its commit sends it
                m_output->sendPubrel(entry.packetId);
        } else if (entry.onWire) {
            entry.onWire = false;   // resent by transmit() within the new window
            ++m_notOnWire;
        }
    }
    pump();
}

bool Session::wouldRefuse() const
{
    return m_limits.overflow == OverflowPolicy::Refuse && m_limits.maxQueuedMessages != 0
           && m_queue->size() >= qsizetype(m_limits.maxQueuedMessages);
}

void Session::forget(const Delivery &delivery)
{
    if (m_persistence && delivery.storageSeq != 0)
        m_persistence->remove(*this, delivery.storageSeq);
}

void Session::restore(const RestoredEntry &entry)
{
    switch (entry.state) {
    case RestoredEntry::State::Queued:
        m_queue->push(entry.delivery);
        break;
    case RestoredEntry::State::Inflight: {
        Inflight inflight{entry.packetId,
                          entry.delivery.qos == 1 ? InflightState::AwaitPuback : InflightState::AwaitPubrec,
                          entry.delivery};
        inflight.sent = true;   // its id was written just before it was sent
        m_inflight.push_back(std::move(inflight));
        ++m_notOnWire;
        m_lastPacketId = std::max(m_lastPacketId, entry.packetId);
        break;
    }
    case RestoredEntry::State::Released: {
        Inflight inflight{entry.packetId, InflightState::AwaitPubcomp, entry.delivery};
        inflight.onWire = inflight.sent = true;
        m_inflight.push_back(std::move(inflight));
        m_lastPacketId = std::max(m_lastPacketId, entry.packetId);
        break;
    }
    }
}

bool Session::addInboundQos2(std::uint16_t packetId, PersistDone done)
{
    m_inboundQos2.insert(packetId);
    if (!m_persistence)
        return false;
    m_persistence->addInboundQos2(*this, packetId, std::move(done));
    return true;
}

bool Session::removeInboundQos2(std::uint16_t packetId, PersistDone done, bool *written)
{
    const bool known = m_inboundQos2.remove(packetId);
    *written = known && m_persistence;
    if (*written)
        m_persistence->removeInboundQos2(*this, packetId, std::move(done));
    return known;
}

Session::EnqueueResult Session::enqueue(Delivery delivery)
{
    if (delivery.qos == 0) {
        // QoS 0 is never queued for an offline client (like Mosquitto's default
        // queue_qos0_messages false): "at most once" allows it, and it keeps memory bounded.
        if (!m_output)
            return EnqueueResult::Dropped;
        return sendNow(std::move(delivery)) ? EnqueueResult::Sent : EnqueueResult::Dropped;
    }
    if (m_output && m_queue->size() == 0 && m_inflight.size() < window())
        return sendNow(std::move(delivery)) ? EnqueueResult::Sent : EnqueueResult::Dropped;

    if (m_limits.maxQueuedMessages != 0 && m_queue->size() >= qsizetype(m_limits.maxQueuedMessages)) {
        if (m_limits.overflow == OverflowPolicy::Refuse) {
            ++m_stats.messagesRefused;
            forget(delivery);
            return EnqueueResult::Refused;
        }
        if (std::optional<Delivery> oldest = m_queue->pop())
            forget(*oldest);
        ++m_stats.messagesDropped;
    }
    m_queue->push(std::move(delivery));
    return EnqueueResult::Queued;
}

bool Session::sendNow(Delivery &&delivery)
{
    if (delivery.qos == 0)
        return m_output->sendPublish(delivery, 0, false);
    const std::uint16_t id = nextPacketId();
    Inflight entry{id, delivery.qos == 1 ? InflightState::AwaitPuback : InflightState::AwaitPubrec,
                   std::move(delivery)};
    const std::uint64_t seq = entry.delivery.storageSeq;
    if (m_persistence && seq != 0) {
        // The packet id goes to disk so that a restart resends with the original id and DUP
        // (spec 4.4), in the original order (4.6). QoS 1 may leave before that commits (a
        // duplicate is allowed); QoS 2 may not.
        entry.awaitingCommit = entry.delivery.qos == 2;
        m_persistence->markInflight(*this, seq, id,
                                    entry.awaitingCommit ? markDone(id, seq) : PersistDone());
    }
    if (entry.awaitingCommit || m_notOnWire != 0) {
        // Held: it goes out from transmit(), behind what waits before it.
        m_inflight.push_back(std::move(entry));
        ++m_notOnWire;
        return true;
    }
    if (!m_output->sendPublish(entry.delivery, id, false)) {
        forget(entry.delivery);
        return false;
    }
    entry.onWire = entry.sent = true;
    m_inflight.push_back(std::move(entry));
    return true;
}

PersistDone Session::markDone(std::uint16_t packetId, std::uint64_t seq)
{
    if (!m_self)
        m_self = std::make_shared<Session *>(this);
    return [self = std::weak_ptr<Session *>(m_self), packetId, seq](PersistStatus status) {
        if (auto alive = self.lock())
            (*alive)->onMarkCommitted(packetId, seq, status);
    };
}

void Session::onMarkCommitted(std::uint16_t packetId, std::uint64_t seq, PersistStatus status)
{
    auto it = findInflight(packetId);
    if (it == m_inflight.end() || it->delivery.storageSeq != seq || !it->awaitingCommit)
        return;   // acknowledged, handed over or dropped meanwhile
    if (status != PersistStatus::Ok) {
        // Sending anyway keeps the stream going; only a crash before the state is written
        // again could now repeat this message.
        qCWarning(lcCore, "delivery_state_not_stored client_id=%s packet_id=%u",
                  m_clientId.constData(), packetId);
    }
    it->awaitingCommit = false;
    if (it->state == InflightState::AwaitPubcomp) {
        if (m_output)
            m_output->sendPubrel(packetId);
        return;
    }
    pump();
}

std::vector<Session::Inflight>::iterator Session::eraseInflight(std::vector<Inflight>::iterator it)
{
    if (!it->onWire)
        --m_notOnWire;
    return m_inflight.erase(it);
}

void Session::transmit()
{
    if (!m_output || m_notOnWire == 0)
        return;
    int onWire = int(m_inflight.size()) - m_notOnWire;
    for (auto it = m_inflight.begin(); it != m_inflight.end() && onWire < window();) {
        if (it->onWire) {
            ++it;
            continue;
        }
        if (it->awaitingCommit)
            break;   // what follows waits behind it: the wire order stays the original order
        if (!m_output->sendPublish(it->delivery, it->packetId, it->sent)) {
            forget(it->delivery);
            it = eraseInflight(it);
            continue;
        }
        it->onWire = it->sent = true;
        --m_notOnWire;
        ++onWire;
        ++it;
    }
}

void Session::pump()
{
    if (!m_output)
        return;
    // First what was in flight before a reconnect (DUP set, its old packet id) or held.
    transmit();
    const std::int64_t now = QDateTime::currentMSecsSinceEpoch();
    while (m_output && m_inflight.size() < window()) {
        std::optional<Delivery> next = m_queue->pop();
        if (!next)
            break;
        if (next->message.isExpired(now)) {
            ++m_stats.messagesExpired;
            forget(*next);
            continue;
        }
        sendNow(std::move(*next));   // a message too large for the client is counted there
    }
}

std::uint16_t Session::nextPacketId()
{
    // Ids in flight are few (bounded by the window), so a linear check is cheaper than a set.
    for (int tries = 0; tries < 65536; ++tries) {
        m_lastPacketId = m_lastPacketId == 65535 ? 1 : m_lastPacketId + 1;
        if (findInflight(m_lastPacketId) == m_inflight.end())
            return m_lastPacketId;
    }
    Q_ASSERT_X(false, "Session::nextPacketId", "window larger than the id space");
    return 1;
}

std::vector<Session::Inflight>::iterator Session::findInflight(std::uint16_t packetId)
{
    return std::find_if(m_inflight.begin(), m_inflight.end(),
                        [packetId](const Inflight &e) { return e.packetId == packetId; });
}

bool Session::onPuback(std::uint16_t packetId, Delivery *acked)
{
    auto it = findInflight(packetId);
    if (it == m_inflight.end() || it->state != InflightState::AwaitPuback)
        return false;
    forget(it->delivery);
    if (acked)
        *acked = std::move(it->delivery);
    eraseInflight(it);
    pump();
    return true;
}

bool Session::onPubrec(std::uint16_t packetId, bool failed)
{
    auto it = findInflight(packetId);
    if (it == m_inflight.end() || it->state == InflightState::AwaitPuback)
        return false;
    if (failed) {
        // Spec 4.3.3: a PUBREC with a reason code >= 0x80 ends the exchange.
        forget(it->delivery);
        eraseInflight(it);
        pump();
        return true;
    }
    if (!it->onWire) {   // answered before its resend after a reconnect
        it->onWire = true;
        --m_notOnWire;
    }
    it->state = InflightState::AwaitPubcomp;
    // The message stays (shared, not copied) for $events/message_acked at PUBCOMP.
    if (m_persistence && it->delivery.storageSeq != 0) {
        it->awaitingCommit = true;   // the PUBREL leaves when "released" is on disk
        m_persistence->markReleased(*this, it->delivery.storageSeq, packetId,
                                    markDone(packetId, it->delivery.storageSeq));
    } else if (m_output) {
        m_output->sendPubrel(packetId);
    }
    return true;
}

bool Session::onPubcomp(std::uint16_t packetId, Delivery *acked)
{
    auto it = findInflight(packetId);
    if (it == m_inflight.end() || it->state != InflightState::AwaitPubcomp)
        return false;
    forget(it->delivery);
    if (acked)
        *acked = std::move(it->delivery);
    eraseInflight(it);
    pump();
    return true;
}

std::vector<Delivery> Session::takeSharedDeliveries(const QByteArray &group)
{
    std::vector<Delivery> taken;
    // Spec 4.8.2: the Server MAY send a QoS 1 message to another member as soon as it loses
    // the connection to the first. QoS 2 messages already sent stay: the client may have
    // received them, and a second copy would break exactly-once.
    for (auto it = m_inflight.begin(); it != m_inflight.end();) {
        if (it->state == InflightState::AwaitPuback && it->delivery.shareGroup == group) {
            taken.push_back(std::move(it->delivery));
            it = eraseInflight(it);
        } else {
            ++it;
        }
    }
    m_queue->takeShared(group, [&](Delivery &&d) { taken.push_back(std::move(d)); });
    return taken;
}

} // namespace ferry::core
