#include "mqtt/Connection.h"

namespace ferry::mqtt {

ConnectionSet::ConnectionSet() = default;

ConnectionSet::~ConnectionSet()
{
    deleteAll();
}

void ConnectionSet::link(Head &head, ConnectionLink *node)
{
    node->m_prev = head.m_prev;
    node->m_next = &head;
    head.m_prev->m_next = node;
    head.m_prev = node;
}

void ConnectionSet::unlink(ConnectionLink *node)
{
    if (!node->m_next)
        return;
    node->m_prev->m_next = node->m_next;
    node->m_next->m_prev = node->m_prev;
    node->m_prev = node->m_next = nullptr;
}

void ConnectionSet::add(Connection *connection)
{
    link(m_open, connection);
}

void ConnectionSet::retire(Connection *connection)
{
    unlink(connection);
    link(m_closed, connection);
    schedule();
}

std::vector<Connection *> ConnectionSet::open() const
{
    std::vector<Connection *> list;
    for (const ConnectionLink *node = m_open.m_next; node != &m_open; node = node->m_next)
        list.push_back(static_cast<Connection *>(const_cast<ConnectionLink *>(node)));
    return list;
}

void ConnectionSet::deleteList(Head &head)
{
    // One at a time from the front: a destructor may close (retire) other connections.
    while (!head.empty())
        delete static_cast<Connection *>(head.m_next);
}

void ConnectionSet::run()
{
    deleteList(m_closed);
}

void ConnectionSet::deleteAll()
{
    deleteList(m_open);
    deleteList(m_closed);
    cancel();
}

Connection::Connection(net::Transport *transport, core::Broker &broker,
                       const SharedProtocolSettings &protocol, const AdapterSettings &adapter,
                       ClientEvents *events, ConnectionSet &set)
    : m_transport(transport), m_set(set), m_adapter(broker, adapter, events),
      m_protocol(*this, m_adapter, protocol, transport->peerAddress())
{
    m_transport->setReceiver(this);
    m_adapter.setProtocol(&m_protocol);
    m_set.add(this);
}

Connection::~Connection()
{
    WheelTimer::cancel();
    // Make sure the session is released while protocol and adapter are both alive.
    m_transport->setReceiver(nullptr);
    m_protocol.transportClosed();
    ConnectionSet::unlink(this);
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
    m_adapter.broker().stats().bytesSent += std::uint64_t(bytes.size());
    m_transport->write(bytes);
}

void Connection::fired()
{
    m_protocol.timerFired(m_armedTimer, monotonicMs());
}

void Connection::armTimer(ProtocolTimer which, int milliseconds)
{
    m_armedTimer = which;
    WheelTimer::start(milliseconds);
}

void Connection::cancelTimer(ProtocolTimer which)
{
    if (m_armedTimer == which)
        WheelTimer::cancel();
}

void Connection::closeTransport()
{
    m_transport->close();
}

void Connection::onBytes(const char *data, qsizetype size)
{
    m_adapter.broker().stats().bytesReceived += std::uint64_t(size);
    m_protocol.receive(data, size, monotonicMs());
}

void Connection::onTransportClosed()
{
    m_protocol.transportClosed();
    m_set.retire(this);
}

} // namespace ferry::mqtt
