#pragma once
// A byte stream to one peer: TCP, TLS or a WebSocket carrying binary frames. Protocol
// connections talk to this and never to a QTcpSocket or QWebSocket directly.
//
// Contract: everything runs on the thread that owns the transport. The receiver's calls come
// from the event loop; the receiver may call write()/close() from inside them, but must not
// delete the transport there (its owner deletes it on a later loop turn).
//
// Not a QObject: a TCP transport exists once per connection, and a QObject's private costs
// ~120 B each (WebSocketTransport is one, since QWebSocket's signals need a context object).
#include <QByteArray>

namespace ferry::net {

class TransportReceiver {
public:
    virtual ~TransportReceiver() = default;
    // `data` is valid only during the call.
    virtual void onBytes(const char *data, qsizetype size) = 0;
    // Called once, when the stream is gone for whatever reason.
    virtual void onTransportClosed() = 0;
};

class Transport {
public:
    Transport() = default;
    Transport(const Transport &) = delete;
    Transport &operator=(const Transport &) = delete;
    virtual ~Transport() = default;

    virtual void setReceiver(TransportReceiver *receiver) = 0;
    // Starts delivering bytes (call after setReceiver).
    virtual void start() = 0;
    virtual void write(const QByteArray &bytes) = 0;
    // Closes after queued bytes are written, aborting if the peer stops reading for too long.
    virtual void close() = 0;
    virtual qint64 bytesToWrite() const = 0;
    // "127.0.0.1:51234", for logs and rules (peerhost).
    virtual QByteArray peerAddress() const = 0;
    // The local end, same format ("127.0.0.1:1883"), for rules (EMQX's sockname). Computed on
    // each call (not kept per connection); valid until the receiver has been told of the close,
    // empty when no longer known.
    virtual QByteArray localAddress() const = 0;
    virtual const char *kind() const = 0;   // "tcp", "ws"
};

} // namespace ferry::net
