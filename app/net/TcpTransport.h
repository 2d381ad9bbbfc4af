#pragma once
// A TCP connection on a raw non-blocking descriptor.
//
// Why not QTcpSocket: it costs ~10 KB per idle connection (socket, engine, ring buffers, two
// notifiers, private objects) where this costs a few pointers (no QObject): under ferryd's
// EpollEventDispatcher the descriptor is watched by a plain callback (FdHandler), under any
// other dispatcher by QSocketNotifiers. Output is a list of the QByteArrays handed to write()
// (shared, not copied), flushed with writev(2) once per event-loop turn; write readiness is
// watched only after the kernel's send buffer has been full once, and only while output waits.
// The flush and the deferred close notice run as a LoopTask (one posted event per loop turn for
// all transports, not one per transport).
#include "net/EpollEventDispatcher.h"
#include "net/LoopTask.h"
#include "net/TimerWheel.h"
#include "net/Transport.h"

#include <QList>
#include <QSocketNotifier>

#include <memory>

struct sockaddr_storage;

namespace ferry::net {

// "127.0.0.1:51234" or "[::1]:51234"; IPv4-mapped IPv6 addresses appear as IPv4.
QByteArray formatSocketAddress(const sockaddr_storage &address);

class TcpTransport final : public Transport, private FdHandler, private LoopTask {
public:
    // Takes ownership of `fd`, a connected, non-blocking stream socket.
    TcpTransport(int fd, QByteArray peerAddress);
    ~TcpTransport() override;

    void setReceiver(TransportReceiver *receiver) override { m_receiver = receiver; }
    void start() override;
    void write(const QByteArray &bytes) override;
    void close() override;
    qint64 bytesToWrite() const override { return m_outBytes; }
    QByteArray peerAddress() const override { return m_peer; }
    QByteArray localAddress() const override;   // getsockname(2)
    const char *kind() const override { return "tcp"; }

private:
    // Calls its handler straight from event(): a signal connection per notifier would cost
    // ~0.2 KB per connection (connection object and connection lists on both sides).
    class Notifier final : public QSocketNotifier {
    public:
        Notifier(int fd, Type type, TcpTransport *owner, void (TcpTransport::*handler)());

    protected:
        bool event(QEvent *e) override;

    private:
        TcpTransport *m_owner;
        void (TcpTransport::*m_handler)();
    };

    // Made by close() when output waits: an open connection carries only the pointer.
    class Linger final : public WheelTimer {
    public:
        explicit Linger(TcpTransport &owner) : m_owner(owner) {}

    private:
        void fired() override;
        TcpTransport &m_owner;
    };

    // LoopTask: the flush scheduled by write(), and the close notice posted by close().
    void run() override;

    // FdHandler (under the epoll dispatcher)
    void fdReadable() override { readAvailable(); }
    void fdWritable() override { flush(); }
    void updateEpollWatch();
    bool writeWatchOn() const;

    void readAvailable();
    void scheduleFlush();
    void flush();
    void setWriteWatch(bool on);
    void setReadWatch(bool on);
    // Stops watching the descriptor and drops queued output; the descriptor itself is closed
    // by releaseDescriptor() once the receiver has been told (so that localAddress() still
    // answers during its onTransportClosed(), and the number is not reused before that).
    void closeDescriptor();
    void releaseDescriptor();
    void notifyClosed();

    QByteArray m_peer;
    TransportReceiver *m_receiver = nullptr;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr; // created on the first EAGAIN
    QList<QByteArray> m_out;
    qsizetype m_outOffset = 0; // bytes of m_out.first() already sent
    qint64 m_outBytes = 0;
    std::unique_ptr<Linger> m_linger;
    int m_fd;
    // Bit-fields (all false at construction): with the descriptor they fill one word.
    bool m_started : 1;
    bool m_epoll : 1;         // watched through EpollEventDispatcher::watchFd, not notifiers
    bool m_epollRead : 1;
    bool m_epollWrite : 1;
    bool m_flushQueued : 1;
    bool m_readPaused : 1;    // backpressure: the peer does not read what we send
    bool m_closing : 1;       // close() called: flush, then close the descriptor
    bool m_closed : 1;        // the receiver has been told (or will be, queued)
    bool m_closeNoticeQueued : 1;
};

} // namespace ferry::net
