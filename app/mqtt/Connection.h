#pragma once
// One MQTT client connection: the glue between a net::Transport, the sans-I/O
// ServerProtocol and the Adapter. The only class of the MQTT layer that touches a socket or
// a timer. It deletes itself once the transport has closed.
#include "mqtt/Adapter.h"
#include "mqtt/ServerProtocol.h"
#include "net/TimerWheel.h"
#include "net/Transport.h"

#include <QElapsedTimer>
#include <QObject>

#include <memory>

namespace ferry::mqtt {

class Connection final : public QObject, public ProtocolSink, public net::TransportReceiver {
    Q_OBJECT
public:
    Connection(net::Transport *transport, core::Broker &broker, const ProtocolSettings &protocol,
               const AdapterSettings &adapter, ClientEvents *events, QObject *parent = nullptr);
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

    // net::TransportReceiver
    void onBytes(const char *data, qsizetype size) override;
    void onTransportClosed() override;

    // The process-wide monotonic clock the protocol's keep alive runs on.
    static std::int64_t monotonicMs();

private:
    // The protocol's two timers live on the thread's coarse timer wheel: no QObject, no
    // allocation, O(1) to arm (net::TimerWheel; fires up to 100 ms after the deadline).
    class Timer final : public net::WheelTimer {
    public:
        Timer(Connection &owner, ProtocolTimer which) : m_owner(owner), m_which(which) {}

    private:
        void fired() override;
        Connection &m_owner;
        ProtocolTimer m_which;
    };
    Timer &timer(ProtocolTimer which);

    // Owned; destroyed after the protocol and the adapter, as a QObject child was.
    std::unique_ptr<net::Transport> m_transport;
    core::Broker &m_broker;
    Adapter m_adapter;
    ServerProtocol m_protocol;
    Timer m_connectTimer{*this, ProtocolTimer::Connect};
    Timer m_keepAliveTimer{*this, ProtocolTimer::KeepAlive};
};

} // namespace ferry::mqtt
