#include "net/WebSocketListener.h"

#include "net/WebSocketTransport.h"

#include <QLoggingCategory>
#include <QWebSocket>

Q_DECLARE_LOGGING_CATEGORY(lcNet)

namespace ferry::net {

WebSocketListener::WebSocketListener(QString path, quint64 maxMessageSize, QObject *parent)
    : Listener(parent), m_path(std::move(path)), m_maxMessageSize(maxMessageSize),
      m_server(QStringLiteral("ferry"), QWebSocketServer::NonSecureMode)
{
    m_server.setMaxPendingConnections(4096);
    m_server.setSupportedSubprotocols({QStringLiteral("mqtt"), QStringLiteral("mqttv3.1")});
    // A client that opens TCP and never finishes the handshake is dropped.
    m_server.setHandshakeTimeout(std::chrono::milliseconds(10000));
    connect(&m_server, &QWebSocketServer::newConnection, this, &WebSocketListener::acceptAll);
}

bool WebSocketListener::listen(const QHostAddress &address, quint16 port, QString *error)
{
    if (m_server.listen(address, port))
        return true;
    *error = m_server.errorString();
    return false;
}

void WebSocketListener::acceptAll()
{
    while (QWebSocket *socket = m_server.nextPendingConnection()) {
        if (socket->requestUrl().path() != m_path) {
            qCInfo(lcNet, "websocket_refused peer=%s path=%s expected=%s",
                   qPrintable(socket->peerAddress().toString()),
                   qPrintable(socket->requestUrl().path()), qPrintable(m_path));
            socket->close(QWebSocketProtocol::CloseCodePolicyViolated);
            socket->deleteLater();
            continue;
        }
        emit newTransport(new WebSocketTransport(socket, m_maxMessageSize));
    }
}

} // namespace ferry::net
