#pragma once
// Plain TCP listener on a raw non-blocking socket: accept4(2) straight into TcpTransports,
// with no QTcpSocket made and thrown away per connection (QTcpServer's way).
#include "net/Listener.h"

class QSocketNotifier;

namespace ferry::net {

class TcpListener final : public Listener {
    Q_OBJECT
public:
    explicit TcpListener(QObject *parent = nullptr);
    ~TcpListener() override;
    // QHostAddress::Any listens on IPv6 and IPv4 (dual stack); AnyIPv4/AnyIPv6 on one.
    bool listen(const QHostAddress &address, quint16 port, QString *error) override;
    quint16 boundPort() const override { return m_port; }
    void close() override;

private:
    void acceptAll();

    int m_fd = -1;
    quint16 m_port = 0;
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace ferry::net
