#include "core/SysPublisher.h"

namespace ferry::core {

SysPublisher::SysPublisher(Broker &broker, QByteArray version, QObject *parent)
    : QObject(parent), m_broker(broker), m_version(std::move(version))
{
    m_uptime.start();
    connect(&m_timer, &QTimer::timeout, this, &SysPublisher::publishAll);
}

void SysPublisher::setInterval(std::uint32_t seconds)
{
    if (seconds == 0) {
        m_timer.stop();
        return;
    }
    m_timer.start(int(seconds) * 1000);
}

void SysPublisher::publishValue(const QByteArray &topic, const QByteArray &value)
{
    auto it = m_last.find(topic);
    if (it != m_last.end() && *it == value)
        return;
    m_last.insert(topic, value);
    Message message(topic, value, 0, true);
    m_broker.publish(std::move(message));
}

void SysPublisher::publishAll()
{
    const BrokerStats &s = m_broker.stats();
    const auto n = [](std::uint64_t v) { return QByteArray::number(qulonglong(v)); };
    publishValue("$SYS/broker/version", "ferry " + m_version);
    publishValue("$SYS/broker/uptime", QByteArray::number(m_uptime.elapsed() / 1000) + " seconds");
    publishValue("$SYS/broker/clients/connected", n(s.clientsConnected));
    publishValue("$SYS/broker/clients/active", n(s.clientsConnected));
    publishValue("$SYS/broker/clients/disconnected", n(s.clientsDisconnected));
    publishValue("$SYS/broker/clients/inactive", n(s.clientsDisconnected));
    publishValue("$SYS/broker/clients/total", n(s.clientsConnected + s.clientsDisconnected));
    publishValue("$SYS/broker/clients/maximum", n(s.clientsMaximum));
    publishValue("$SYS/broker/messages/received", n(s.messagesReceived));
    publishValue("$SYS/broker/messages/sent", n(s.messagesSent));
    publishValue("$SYS/broker/publish/messages/received", n(s.publishReceived));
    publishValue("$SYS/broker/publish/messages/sent", n(s.publishSent));
    publishValue("$SYS/broker/publish/messages/dropped", n(s.messagesDropped));
    publishValue("$SYS/broker/publish/messages/refused", n(s.messagesRefused));
    publishValue("$SYS/broker/messages/expired", n(s.messagesExpired));
    publishValue("$SYS/broker/bytes/received", n(s.bytesReceived));
    publishValue("$SYS/broker/bytes/sent", n(s.bytesSent));
    publishValue("$SYS/broker/subscriptions/count", n(std::uint64_t(m_broker.router().subscriptionCount())));
    publishValue("$SYS/broker/retained messages/count", n(std::uint64_t(m_broker.retained().count())));

    // Per-second rates over the last interval (Mosquitto publishes 1/5/15-minute averages;
    // a rate over the interval is what a gateway dashboard needs).
    const qint64 now = m_uptime.elapsed();
    if (m_lastAtMs != 0 && now > m_lastAtMs) {
        const double seconds = double(now - m_lastAtMs) / 1000.0;
        publishValue("$SYS/broker/load/messages/received/rate",
                     QByteArray::number(double(s.messagesReceived - m_lastReceived) / seconds, 'f', 1));
        publishValue("$SYS/broker/load/messages/sent/rate",
                     QByteArray::number(double(s.messagesSent - m_lastSent) / seconds, 'f', 1));
    }
    m_lastReceived = s.messagesReceived;
    m_lastSent = s.messagesSent;
    m_lastAtMs = now;
    emit published();
}

} // namespace ferry::core
