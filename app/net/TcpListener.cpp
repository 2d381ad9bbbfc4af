#include "net/TcpListener.h"

#include "net/TcpTransport.h"

#include <QTcpSocket>

namespace ferry::net {

TcpListener::TcpListener(QObject *parent) : Listener(parent)
{
    // Qt's default backlog of 30 pending connections drops bursts of connects (FINDINGS.md).
    m_server.setMaxPendingConnections(4096);
    connect(&m_server, &QTcpServer::pendingConnectionAvailable, this, &TcpListener::acceptAll);
}

bool TcpListener::listen(const QHostAddress &address, quint16 port, QString *error)
{
    m_server.setListenBacklogSize(1024);
    if (m_server.listen(address, port))
        return true;
    *error = m_server.errorString();
    return false;
}

void TcpListener::acceptAll()
{
    while (QTcpSocket *socket = m_server.nextPendingConnection())
        emit newTransport(new TcpTransport(socket));
}

} // namespace ferry::net
