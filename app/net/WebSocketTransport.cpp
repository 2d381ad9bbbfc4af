#include "net/WebSocketTransport.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcNet, "ferry.net")

namespace ferry::net {

namespace {
// Far above what a reading client accumulates (QoS 0 is shed at the protocol's backlog limit,
// QoS 1/2 bounded by the in-flight window), far below a gateway's memory.
constexpr qint64 kMaxOutputBacklog = 8 * 1024 * 1024;
} // namespace

WebSocketTransport::WebSocketTransport(QWebSocket *socket, quint64 maxMessageSize, QObject *parent)
    : QObject(parent), m_socket(socket)
{
    m_socket->setParent(this);
    // Qt accepts ~2 GiB frames by default (FINDINGS.md): cap at the broker's packet size, with
    // a little room since a frame may carry a packet and the start of the next.
    m_socket->setMaxAllowedIncomingFrameSize(maxMessageSize + 16);
    m_socket->setMaxAllowedIncomingMessageSize(maxMessageSize + 16);
    const QHostAddress address = socket->peerAddress();
    const QByteArray host = address.toString().toUtf8();
    m_peer = (host.contains(':') ? "[" + host + "]" : host) + ':' + QByteArray::number(socket->peerPort());
}

WebSocketTransport::~WebSocketTransport() = default;

void WebSocketTransport::start()
{
    connect(m_socket, &QWebSocket::binaryFrameReceived, this, [this](const QByteArray &frame, bool) {
        if (!m_closed && m_receiver)
            m_receiver->onBytes(frame.constData(), frame.size());
    });
    connect(m_socket, &QWebSocket::textFrameReceived, this, [this](const QString &, bool) {
        // MQTT 5 spec 6.0-1: any other type of data frame closes the connection.
        qCWarning(lcNet, "websocket_text_frame peer=%s action=close", m_peer.constData());
        m_socket->close(QWebSocketProtocol::CloseCodeDatatypeNotSupported);
    });
    connect(m_socket, &QWebSocket::disconnected, this, &WebSocketTransport::notifyClosed);
    if (m_socket->state() != QAbstractSocket::ConnectedState)
        QMetaObject::invokeMethod(this, &WebSocketTransport::notifyClosed, Qt::QueuedConnection);
}

void WebSocketTransport::write(const QByteArray &bytes)
{
    if (m_closed || m_overrun)
        return;
    m_socket->sendBinaryMessage(bytes);
    if (m_socket->bytesToWrite() <= kMaxOutputBacklog)
        return;
    m_overrun = true;
    qCWarning(lcNet, "websocket_output_backlog peer=%s bytes=%lld action=close", m_peer.constData(),
              static_cast<long long>(m_socket->bytesToWrite()));
    // Not from inside write(): the receiver is in the middle of a call that wrote.
    QMetaObject::invokeMethod(this, [this] { m_socket->abort(); }, Qt::QueuedConnection);
}

void WebSocketTransport::close()
{
    if (!m_closed)
        m_socket->close(QWebSocketProtocol::CloseCodeNormal);
}

QByteArray WebSocketTransport::localAddress() const
{
    const QHostAddress address = m_socket->localAddress();
    if (address.isNull())
        return QByteArray();
    bool v4 = false;
    const quint32 ip4 = address.toIPv4Address(&v4);   // IPv4-mapped appears as IPv4
    const QByteArray host = v4 ? QHostAddress(ip4).toString().toLatin1() : address.toString().toLatin1();
    return (host.contains(':') ? "[" + host + "]" : host) + ':' + QByteArray::number(m_socket->localPort());
}

void WebSocketTransport::notifyClosed()
{
    if (m_closed)
        return;
    m_closed = true;
    if (m_receiver)
        m_receiver->onTransportClosed();
}

} // namespace ferry::net
