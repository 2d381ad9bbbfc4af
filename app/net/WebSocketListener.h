#pragma once
// MQTT over WebSocket: accepts on one path (default /mqtt) with subprotocol "mqtt"
// (MQTT 5 spec 6.0: the client MUST include "mqtt" in its list of WebSocket Sub Protocols).
//
// The TCP server is ours, not QWebSocketServer's: the request line is checked before any
// upgrade, so a wrong path gets 404 (RFC 6455 4.2.2) instead of 101 followed by a close, and a
// peer that never sends its HTTP request is dropped after the connect timeout.
#include "net/Listener.h"

#include <QTcpServer>
#include <QWebSocketServer>

class QTcpSocket;

namespace ferry::net {

class WebSocketListener final : public Listener {
    Q_OBJECT
public:
    WebSocketListener(QString path, quint64 maxMessageSize, int connectTimeoutMs,
                      QObject *parent = nullptr);
    bool listen(const QHostAddress &address, quint16 port, QString *error) override;
    quint16 boundPort() const override { return m_tcp.serverPort(); }
    void close() override { m_tcp.close(); }

private:
    void acceptTcp();
    void inspectRequest(QTcpSocket *socket);
    void acceptUpgraded();

    QString m_path;
    quint64 m_maxMessageSize;
    int m_connectTimeoutMs;
    QTcpServer m_tcp;
    QWebSocketServer m_ws;
};

} // namespace ferry::net
