#include "net/TcpTransport.h"

#include <QHostAddress>

namespace ferry::net {

namespace {
// Read in chunks of this size into one reusable buffer per thread: no allocation per read.
constexpr qint64 kReadChunk = 64 * 1024;
// A peer that does not read what we flush on close gets this long before we abort.
constexpr int kLingerMs = 5000;
// Backpressure: while this much is queued for a peer that does not read, we stop reading what
// it sends (its requests would only queue more answers), and Qt's read buffer is capped so the
// kernel's TCP window pushes back on the sender. Memory per connection stays bounded.
constexpr qint64 kMaxOutputBacklog = 1024 * 1024;
constexpr qint64 kReadBufferSize = 256 * 1024;

QByteArray formatPeer(const QHostAddress &address, quint16 port)
{
    const bool v6 = address.protocol() == QAbstractSocket::IPv6Protocol
                    && !address.toString().contains('.');
    const QByteArray host = address.toString().toUtf8();
    return (v6 ? "[" + host + "]" : host) + ':' + QByteArray::number(port);
}
} // namespace

TcpTransport::TcpTransport(QTcpSocket *socket, QObject *parent)
    : Transport(parent), m_socket(socket),
      m_peer(formatPeer(socket->peerAddress(), socket->peerPort()))
{
    m_socket->setParent(this);
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setReadBufferSize(kReadBufferSize);
}

TcpTransport::~TcpTransport() = default;

void TcpTransport::start()
{
    connect(m_socket, &QTcpSocket::readyRead, this, &TcpTransport::readAvailable);
    connect(m_socket, &QTcpSocket::bytesWritten, this, [this] {
        if (m_readPaused && m_socket->bytesToWrite() < kMaxOutputBacklog / 2) {
            m_readPaused = false;
            readAvailable();
        }
    });
    connect(m_socket, &QTcpSocket::disconnected, this, &TcpTransport::notifyClosed);
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        if (m_socket->state() != QAbstractSocket::ConnectedState)
            notifyClosed();
    });
    if (m_socket->state() != QAbstractSocket::ConnectedState) {
        QMetaObject::invokeMethod(this, &TcpTransport::notifyClosed, Qt::QueuedConnection);
        return;
    }
    if (m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &TcpTransport::readAvailable, Qt::QueuedConnection);
}

void TcpTransport::readAvailable()
{
    thread_local QByteArray buffer(int(kReadChunk), Qt::Uninitialized);
    while (!m_closed && m_socket->bytesAvailable() > 0) {
        if (m_socket->bytesToWrite() > kMaxOutputBacklog) {
            m_readPaused = true;
            return;
        }
        const qint64 n = m_socket->read(buffer.data(), kReadChunk);
        if (n <= 0)
            break;
        if (m_receiver)
            m_receiver->onBytes(buffer.constData(), n);
    }
}

void TcpTransport::write(const QByteArray &bytes)
{
    if (!m_closed && m_socket->state() == QAbstractSocket::ConnectedState)
        m_socket->write(bytes);
}

void TcpTransport::close()
{
    if (m_closed || m_lingerTimer)
        return;
    if (m_socket->bytesToWrite() > 0) {
        m_lingerTimer = new QTimer(this);
        m_lingerTimer->setSingleShot(true);
        connect(m_lingerTimer, &QTimer::timeout, m_socket, &QTcpSocket::abort);
        m_lingerTimer->start(kLingerMs);
    }
    m_socket->disconnectFromHost();
}

void TcpTransport::notifyClosed()
{
    if (m_closed)
        return;
    m_closed = true;
    if (m_lingerTimer)
        m_lingerTimer->stop();
    if (m_receiver)
        m_receiver->onTransportClosed();
}

} // namespace ferry::net
