#include "net/WebSocketListener.h"

#include "net/WebSocketTransport.h"

#include <QLoggingCategory>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocket>

Q_DECLARE_LOGGING_CATEGORY(lcNet)

namespace ferry::net {

namespace {
// The request line must arrive within this many bytes ("GET /path HTTP/1.1\r\n").
constexpr qint64 kMaxRequestLine = 8192;

QByteArray peerOf(const QTcpSocket *socket)
{
    return socket->peerAddress().toString().toUtf8() + ':' + QByteArray::number(socket->peerPort());
}
} // namespace

WebSocketListener::WebSocketListener(QString path, quint64 maxMessageSize, int connectTimeoutMs,
                                     QObject *parent)
    : Listener(parent), m_path(std::move(path)), m_maxMessageSize(maxMessageSize),
      m_connectTimeoutMs(connectTimeoutMs),
      m_ws(QStringLiteral("ferry"), QWebSocketServer::NonSecureMode)
{
    m_tcp.setMaxPendingConnections(4096);
    connect(&m_tcp, &QTcpServer::pendingConnectionAvailable, this, &WebSocketListener::acceptTcp);
    m_ws.setMaxPendingConnections(4096);
    m_ws.setSupportedSubprotocols({QStringLiteral("mqtt"), QStringLiteral("mqttv3.1")});
    m_ws.setHandshakeTimeout(std::chrono::milliseconds(connectTimeoutMs));
    connect(&m_ws, &QWebSocketServer::newConnection, this, &WebSocketListener::acceptUpgraded);
}

bool WebSocketListener::listen(const QHostAddress &address, quint16 port, QString *error)
{
    m_tcp.setListenBacklogSize(1024);
    if (m_tcp.listen(address, port))
        return true;
    *error = m_tcp.errorString();
    return false;
}

void WebSocketListener::acceptTcp()
{
    while (QTcpSocket *socket = m_tcp.nextPendingConnection()) {
        socket->setParent(this);
        auto *deadline = new QTimer(socket);
        deadline->setSingleShot(true);
        connect(deadline, &QTimer::timeout, socket, [socket] {
            qCInfo(lcNet, "websocket_handshake_timeout peer=%s", peerOf(socket).constData());
            socket->abort();
            socket->deleteLater();
        });
        deadline->start(m_connectTimeoutMs);
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { inspectRequest(socket); });
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    }
}

void WebSocketListener::inspectRequest(QTcpSocket *socket)
{
    // Peek, not read: QWebSocketServer must see the whole request to do the upgrade.
    const QByteArray head = socket->peek(kMaxRequestLine);
    const qsizetype end = head.indexOf("\r\n");
    if (end < 0) {
        if (head.size() >= kMaxRequestLine) {
            socket->write("HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            socket->disconnectFromHost();
        }
        return;
    }
    const QList<QByteArray> parts = head.left(end).split(' ');
    QByteArray target = parts.size() == 3 ? parts[1] : QByteArray();
    if (const qsizetype query = target.indexOf('?'); query >= 0)
        target.truncate(query);
    if (parts.size() != 3 || parts[0] != "GET" || QString::fromUtf8(target) != m_path) {
        qCInfo(lcNet, "websocket_refused peer=%s path=%s expected=%s", peerOf(socket).constData(),
               target.constData(), qPrintable(m_path));
        socket->write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        socket->disconnectFromHost();
        disconnect(socket, &QTcpSocket::readyRead, this, nullptr);
        return;
    }
    disconnect(socket, &QTcpSocket::readyRead, this, nullptr);
    disconnect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    qDeleteAll(socket->findChildren<QTimer *>(Qt::FindDirectChildrenOnly));
    socket->setParent(nullptr);
    m_ws.handleConnection(socket);
}

void WebSocketListener::acceptUpgraded()
{
    while (QWebSocket *socket = m_ws.nextPendingConnection())
        emit newTransport(new WebSocketTransport(socket, m_maxMessageSize));
}

} // namespace ferry::net
