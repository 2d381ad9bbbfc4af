#pragma once
// MQTT over WebSocket: accepts on one path (default /mqtt) with subprotocol "mqtt"
// (MQTT 5 spec 6.0: the client MUST include "mqtt" in its list of WebSocket Sub Protocols).
#include "net/Listener.h"

#include <QWebSocketServer>

namespace ferry::net {

class WebSocketListener final : public Listener {
    Q_OBJECT
public:
    WebSocketListener(QString path, quint64 maxMessageSize, QObject *parent = nullptr);
    bool listen(const QHostAddress &address, quint16 port, QString *error) override;
    quint16 boundPort() const override { return m_server.serverPort(); }
    void close() override { m_server.close(); }

private:
    void acceptAll();
    QString m_path;
    quint64 m_maxMessageSize;
    QWebSocketServer m_server;
};

} // namespace ferry::net
