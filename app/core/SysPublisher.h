#pragma once
// Publishes broker statistics under $SYS/broker/... with Mosquitto's topic names, as retained
// messages, every `interval` seconds; a value is republished only when it changed (as
// Mosquitto does), so idle brokers stay quiet.
#include "core/Broker.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QTimer>

namespace ferry::core {

class SysPublisher : public QObject {
    Q_OBJECT
public:
    SysPublisher(Broker &broker, QByteArray version, QObject *parent = nullptr);
    // 0 turns publication off.
    void setInterval(std::uint32_t seconds);
    // Publishes now (also called by the timer).
    void publishAll();

signals:
    // After each publication: other parts ($SYS/rules/...) publish theirs.
    void published();

private:
    void publishValue(const QByteArray &topic, const QByteArray &value);

    Broker &m_broker;
    QByteArray m_version;
    QTimer m_timer;
    QElapsedTimer m_uptime;
    QHash<QByteArray, QByteArray> m_last;
    // For the per-minute load figures: counters at the previous publication.
    std::uint64_t m_lastReceived = 0;
    std::uint64_t m_lastSent = 0;
    qint64 m_lastAtMs = 0;
};

} // namespace ferry::core
