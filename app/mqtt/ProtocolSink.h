#pragma once
// What the sans-I/O MQTT protocol asks of the layer that owns the socket and the timers.
// Implemented by mqtt::Connection only.
#include <QByteArray>

namespace ferry::mqtt {

enum class ProtocolTimer {
    Connect,     // a new connection must send CONNECT within limits.connectTimeout
    KeepAlive,   // 1.5 x the keep alive with no packet from the client (spec 3.1.2.10)
};

class ProtocolSink {
public:
    virtual ~ProtocolSink() = default;
    virtual void sendBytes(const QByteArray &bytes) = 0;
    virtual void armTimer(ProtocolTimer timer, int milliseconds) = 0;
    virtual void cancelTimer(ProtocolTimer timer) = 0;
    // Closes after what was sent is flushed. No call comes back into the protocol from here.
    virtual void closeTransport() = 0;
    // Bytes queued on the socket and not yet written: lets QoS 0 shed load from a slow reader.
    virtual qint64 pendingOutputBytes() const = 0;
    // The local end of the connection ("127.0.0.1:1883"), computed on each call; empty when
    // unknown. For rules (EMQX's sockname), asked only when an event is built.
    virtual QByteArray localAddress() const { return QByteArray(); }
};

} // namespace ferry::mqtt
