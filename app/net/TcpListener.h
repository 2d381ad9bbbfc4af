#pragma once
#include "net/Listener.h"

#include <QTcpServer>

namespace ferry::net {

class TcpListener final : public Listener {
    Q_OBJECT
public:
    explicit TcpListener(QObject *parent = nullptr);
    bool listen(const QHostAddress &address, quint16 port, QString *error) override;
    quint16 boundPort() const override { return m_server.serverPort(); }
    void close() override { m_server.close(); }

private:
    void acceptAll();
    QTcpServer m_server;
};

} // namespace ferry::net
