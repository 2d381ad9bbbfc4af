#pragma once
// A bound listening socket that hands out Transports. Protocol code connects to newTransport
// and owns what it gets (deletes it).
#include "net/Transport.h"

#include <QHostAddress>
#include <QObject>

namespace ferry::net {

class Listener : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    // Binds; on failure returns false and sets *error (e.g. "address in use").
    virtual bool listen(const QHostAddress &address, quint16 port, QString *error) = 0;
    virtual quint16 boundPort() const = 0;
    virtual void close() = 0;

signals:
    void newTransport(ferry::net::Transport *transport);
};

} // namespace ferry::net
