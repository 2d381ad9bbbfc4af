#pragma once
#include "net/Transport.h"

#include <QTcpSocket>
#include <QTimer>

namespace ferry::net {

class TcpTransport final : public Transport {
    Q_OBJECT
public:
    // Takes ownership of the socket.
    explicit TcpTransport(QTcpSocket *socket, QObject *parent = nullptr);
    ~TcpTransport() override;

    void setReceiver(TransportReceiver *receiver) override { m_receiver = receiver; }
    void start() override;
    void write(const QByteArray &bytes) override;
    void close() override;
    qint64 bytesToWrite() const override { return m_socket->bytesToWrite(); }
    QByteArray peerAddress() const override { return m_peer; }
    const char *kind() const override { return "tcp"; }

private:
    void readAvailable();
    void notifyClosed();

    QTcpSocket *m_socket;
    TransportReceiver *m_receiver = nullptr;
    QByteArray m_peer;
    bool m_closed = false;
    bool m_readPaused = false;
    QTimer *m_lingerTimer = nullptr;
};

} // namespace ferry::net
