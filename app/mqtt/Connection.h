#pragma once
// One MQTT client connection: the glue between a net::Transport, the sans-I/O
// ServerProtocol and the Adapter. The only class of the MQTT layer that touches a socket or
// a QTimer. It deletes itself once the transport has closed.
#include "mqtt/Adapter.h"
#include "mqtt/ServerProtocol.h"
#include "net/Transport.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

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
    QTimer &timer(ProtocolTimer which);

    net::Transport *m_transport;   // child of this
    core::Broker &m_broker;
    Adapter m_adapter;
    ServerProtocol m_protocol;
    QTimer m_connectTimer;
    QTimer m_keepAliveTimer;
};

} // namespace ferry::mqtt
