#include "mqtt/Connection.h"

namespace ferry::mqtt {

Connection::Connection(net::Transport *transport, core::Broker &broker,
                       const ProtocolSettings &protocol, const AdapterSettings &adapter,
                       ClientEvents *events, QObject *parent)
    : QObject(parent), m_transport(transport), m_broker(broker), m_adapter(broker, adapter, events),
      m_protocol(*this, m_adapter, protocol, transport->peerAddress())
{
    // Not a child (a child list costs an allocation per connection): m_transport owns it.
    m_transport->setReceiver(this);
    m_adapter.setProtocol(&m_protocol);
}

Connection::~Connection()
{
    m_connectTimer.cancel();
    m_keepAliveTimer.cancel();
    // Make sure the session is released while protocol and adapter are both alive.
    m_transport->setReceiver(nullptr);
    m_protocol.transportClosed();
}

std::int64_t Connection::monotonicMs()
{
    static QElapsedTimer clock = [] {
        QElapsedTimer t;
        t.start();
        return t;
    }();
    return clock.elapsed();
}

void Connection::start()
{
    m_protocol.start();
    m_transport->start();
}

void Connection::serverShutdown()
{
    m_protocol.disconnect(0x8B); // Server shutting down
}

void Connection::sendBytes(const QByteArray &bytes)
{
    m_broker.stats().bytesSent += std::uint64_t(bytes.size());
    m_transport->write(bytes);
}

void Connection::Timer::fired()
{
    m_owner.m_protocol.timerFired(m_which, monotonicMs());
}

Connection::Timer &Connection::timer(ProtocolTimer which)
{
    return which == ProtocolTimer::Connect ? m_connectTimer : m_keepAliveTimer;
}

void Connection::armTimer(ProtocolTimer which, int milliseconds)
{
    timer(which).start(milliseconds);
}

void Connection::cancelTimer(ProtocolTimer which)
{
    timer(which).cancel();
}

void Connection::closeTransport()
{
    m_transport->close();
}

void Connection::onBytes(const char *data, qsizetype size)
{
    m_broker.stats().bytesReceived += std::uint64_t(size);
    m_protocol.receive(data, size, monotonicMs());
}

void Connection::onTransportClosed()
{
    m_protocol.transportClosed();
    deleteLater();
}

} // namespace ferry::mqtt
