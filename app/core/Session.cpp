#include "core/Session.h"

#include "core/BrokerStats.h"
#include "core/MemorySessionQueue.h"

#include <QDateTime>

#include <algorithm>

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
            m_output->sendPubrel(entry.packetId);
            entry.onWire = true;
        } else {
            entry.onWire = false;   // resent by pump() within the new window
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
    case RestoredEntry::State::Inflight:
        m_inflight.push_back({entry.packetId,
                              entry.delivery.qos == 1 ? InflightState::AwaitPuback : InflightState::AwaitPubrec,
                              entry.delivery});
        m_lastPacketId = std::max(m_lastPacketId, entry.packetId);
        break;
    case RestoredEntry::State::Released:
        m_inflight.push_back({entry.packetId, InflightState::AwaitPubcomp, entry.delivery});
        m_lastPacketId = std::max(m_lastPacketId, entry.packetId);
        break;
    }
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
    if (!m_output->sendPublish(delivery, id, false)) {
        forget(delivery);
        return false;
    }
    // QoS 2 needs its packet id to survive a restart (exactly once: a resend must carry the
    // id the client may already hold). QoS 1 may be resent under a new id.
    if (delivery.qos == 2 && m_persistence && delivery.storageSeq != 0)
        m_persistence->markInflight(*this, delivery.storageSeq, id);
    m_inflight.push_back({id,
                          delivery.qos == 1 ? InflightState::AwaitPuback : InflightState::AwaitPubrec,
                          std::move(delivery)});
    return true;
}

int Session::onWireCount() const
{
    int n = 0;
    for (const auto &entry : m_inflight)
        n += entry.onWire ? 1 : 0;
    return n;
}

void Session::pump()
{
    if (!m_output)
        return;
    int onWire = onWireCount();
    // First what was in flight before a reconnect, with DUP set and its old packet id.
    for (auto &entry : m_inflight) {
        if (onWire >= window())
            return;
        if (!entry.onWire) {
            m_output->sendPublish(entry.delivery, entry.packetId, true);
            entry.onWire = true;
            ++onWire;
        }
    }
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
        if (!sendNow(std::move(*next)))
            ++m_stats.messagesDropped;
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

bool Session::onPuback(std::uint16_t packetId)
{
    auto it = findInflight(packetId);
    if (it == m_inflight.end() || it->state != InflightState::AwaitPuback)
        return false;
    forget(it->delivery);
    m_inflight.erase(it);
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
        m_inflight.erase(it);
        pump();
        return true;
    }
    it->state = InflightState::AwaitPubcomp;
    it->delivery.message = Message();   // the payload is not needed any more
    if (m_persistence && it->delivery.storageSeq != 0)
        m_persistence->markReleased(*this, it->delivery.storageSeq, packetId);
    if (m_output)
        m_output->sendPubrel(packetId);
    return true;
}

bool Session::onPubcomp(std::uint16_t packetId)
{
    auto it = findInflight(packetId);
    if (it == m_inflight.end() || it->state != InflightState::AwaitPubcomp)
        return false;
    forget(it->delivery);
    m_inflight.erase(it);
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
            it = m_inflight.erase(it);
        } else {
            ++it;
        }
    }
    m_queue->takeShared(group, [&](Delivery &&d) { taken.push_back(std::move(d)); });
    return taken;
}

} // namespace ferry::core
