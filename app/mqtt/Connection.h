#pragma once
// One MQTT client connection: the glue between a net::Transport, the sans-I/O
// ServerProtocol and the Adapter. The only class of the MQTT layer that touches a socket or
// a timer. It is deleted by its ConnectionSet on a loop turn after the transport has closed.
//
// Not a QObject (a QObject's private is ~120 B per connection): the daemon finds its
// connections through the ConnectionSet they belong to, an intrusive list.
#include "mqtt/Adapter.h"
#include "mqtt/ServerProtocol.h"
#include "net/LoopTask.h"
#include "net/TimerWheel.h"
#include "net/Transport.h"

#include <QElapsedTimer>

#include <memory>
#include <vector>

namespace ferry::mqtt {

class Connection;
class ConnectionSet;

// Links of a ConnectionSet's lists (a base, so the set's sentinels need no Connection).
class ConnectionLink {
protected:
    friend class ConnectionSet;
    ConnectionLink *m_prev = nullptr;
    ConnectionLink *m_next = nullptr;
};

// The connections of one daemon: open ones, and closed ones waiting to be deleted on the next
// loop turn (never inside a call from their own transport or protocol).
class ConnectionSet final : private net::LoopTask {
public:
    ConnectionSet();
    ~ConnectionSet() override;   // deletes every connection left
    ConnectionSet(const ConnectionSet &) = delete;
    ConnectionSet &operator=(const ConnectionSet &) = delete;

    // The open connections, in the order they were made.
    std::vector<Connection *> open() const;
    // Deletes every connection, open or closed (releases their sessions).
    void deleteAll();

private:
    friend class Connection;
    struct Head final : ConnectionLink {
        Head() { m_prev = m_next = this; }
        bool empty() const { return m_next == this; }
        using ConnectionLink::m_next;
        using ConnectionLink::m_prev;
    };
    static void link(Head &head, ConnectionLink *node);
    static void unlink(ConnectionLink *node);
    void add(Connection *connection);
    void retire(Connection *connection);   // moves it to the closed list; deleted next turn
    void run() override;                   // LoopTask: deletes the closed connections
    void deleteList(Head &head);

    Head m_open;
    Head m_closed;
};

class Connection final : public ProtocolSink,
                         public net::TransportReceiver,
                         private net::WheelTimer,
                         private ConnectionLink {
public:
    // Joins `set`, which deletes it once the transport has closed (or in deleteAll()).
    Connection(net::Transport *transport, core::Broker &broker, const SharedProtocolSettings &protocol,
               const AdapterSettings &adapter, ClientEvents *events, ConnectionSet &set);
    ~Connection() override;
    void start();
    // The daemon is stopping: MQTT 5 clients get DISCONNECT 0x8B, then the socket closes.
    void serverShutdown();

    // ProtocolSink
    void sendBytes(const QByteArray &bytes) override;
    void armTimer(ProtocolTimer timer, int milliseconds) override;
    void cancelTimer(ProtocolTimer timer) override;
    void closeTransport() override;
    qint64 pendingOutputBytes() const override { return m_transport->bytesToWrite(); }
    QByteArray localAddress() const override { return m_transport->localAddress(); }

    // net::TransportReceiver
    void onBytes(const char *data, qsizetype size) override;
    void onTransportClosed() override;

    // The process-wide monotonic clock the protocol's keep alive runs on.
    static std::int64_t monotonicMs();

private:
    friend class ConnectionSet;
    // The protocol's timer lives on the thread's coarse timer wheel: no QObject, no
    // allocation, O(1) to arm (net::TimerWheel; fires up to 100 ms after the deadline).
    // One wheel timer serves both protocol timers: ServerProtocol cancels the connect timer
    // before it arms keep alive, so they are never armed together.
    void fired() override;

    // Owned; destroyed after the protocol and the adapter.
    std::unique_ptr<net::Transport> m_transport;
    ConnectionSet &m_set;
    Adapter m_adapter;
    ServerProtocol m_protocol;
    ProtocolTimer m_armedTimer = ProtocolTimer::Connect;   // which one the wheel timer is
};

} // namespace ferry::mqtt
