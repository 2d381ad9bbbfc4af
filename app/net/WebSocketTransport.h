#pragma once
// MQTT over WebSocket (MQTT 5 section 6): one binary frame or message carries any part of
// the byte stream; text frames are a protocol violation and close the connection.
//
// Backpressure: QWebSocket reads and decodes whatever arrives and offers no way to stop reading
// (unlike TcpTransport, which pauses its read notifier), so a peer that sends without reading
// what it asked for is disconnected once its unread output passes a limit, rather than being
// buffered without bound.
#include "net/Transport.h"

#include <QWebSocket>

namespace ferry::net {

// A QObject (unlike TcpTransport): its lambdas connected to the socket's signals need a context.
class WebSocketTransport final : public QObject, public Transport {
    Q_OBJECT
public:
    // Takes ownership of the socket.
    WebSocketTransport(QWebSocket *socket, quint64 maxMessageSize, QObject *parent = nullptr);
    ~WebSocketTransport() override;

    void setReceiver(TransportReceiver *receiver) override { m_receiver = receiver; }
    void start() override;
    void write(const QByteArray &bytes) override;
    void close() override;
    qint64 bytesToWrite() const override { return m_socket->bytesToWrite(); }
    QByteArray peerAddress() const override { return m_peer; }
    // Asked of the QWebSocket on each call; empty if it no longer knows.
    QByteArray localAddress() const override;
    const char *kind() const override { return "ws"; }

private:
    void notifyClosed();

    QWebSocket *m_socket;
    TransportReceiver *m_receiver = nullptr;
    QByteArray m_peer;
    bool m_closed = false;
    bool m_overrun = false;   // output backlog past the limit: dropping, closing
};

} // namespace ferry::net
