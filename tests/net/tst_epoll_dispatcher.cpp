// net::EpollEventDispatcher installed as the main thread's dispatcher (as ferryd does), with
// net::TcpListener and net::TcpTransport on it: posted events, timers, socket notifiers, and
// the transport's contract (bytes in order, close() flushes first, the peer's close reported).
#include "net/EpollEventDispatcher.h"
#include "net/TcpListener.h"
#include "net/TcpTransport.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QSocketNotifier>
#include <QTcpSocket>
#include <QTest>
#include <QTimer>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <memory>

using namespace ferry::net;

namespace {
class Recorder final : public TransportReceiver {
public:
    QByteArray bytes;
    int closed = 0;
    std::function<void()> onData;
    void onBytes(const char *data, qsizetype size) override
    {
        bytes.append(data, size);
        if (onData)
            onData();
    }
    void onTransportClosed() override { ++closed; }
};
} // namespace

class EpollDispatcherTest : public QObject {
    Q_OBJECT
private slots:
    void isInstalled()
    {
        QVERIFY(qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance()));
    }

    void postedEventsAndZeroTimers()
    {
        int posted = 0;
        QMetaObject::invokeMethod(
            this, [&] { ++posted; }, Qt::QueuedConnection);
        QTimer zero;
        int zeroFires = 0;
        connect(&zero, &QTimer::timeout, this, [&] {
            if (++zeroFires == 5)
                zero.stop();
        });
        zero.start(0);
        QTRY_COMPARE_WITH_TIMEOUT(posted, 1, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(zeroFires, 5, 5000);
    }

    // Another thread posting while the loop wakes (as the storage writer posts its completions):
    // no wakeup may be lost. The loop runs with no timer of its own, so a lost wakeup leaves
    // it asleep in epoll_wait with events posted; the poster notices within 5 s. Posts come in
    // bursts of growing length so that some land while the loop is taking its wakeup.
    void wakeupsFromAnotherThreadAreNeverLost()
    {
        constexpr int kRounds = 4000;
        std::mutex mutex;
        std::condition_variable processedChanged;
        int processed = 0;
        int posted = 0;
        bool stalled = false;
        QEventLoop loop;
        std::thread poster([&] {
            for (int round = 0; round < kRounds && !stalled; ++round) {
                const int burst = 1 + round % 64;
                for (int i = 0; i < burst; ++i)
                    QMetaObject::invokeMethod(
                        this,
                        [&] {
                            std::lock_guard lock(mutex);
                            ++processed;
                            processedChanged.notify_all();
                        },
                        Qt::QueuedConnection);
                posted += burst;
                std::unique_lock lock(mutex);
                if (!processedChanged.wait_for(lock, std::chrono::seconds(5),
                                               [&] { return processed == posted; }))
                    stalled = true;
            }
            QMetaObject::invokeMethod(&loop, &QEventLoop::quit, Qt::QueuedConnection);
        });
        // Wakes the loop only if a wakeup was lost (the poster gave up after 5 s by then).
        QTimer::singleShot(10000, &loop, &QEventLoop::quit);
        loop.exec();
        poster.join();
        QVERIFY2(!stalled, "a cross-thread wakeup was lost: the loop slept with events posted");
        QCOMPARE(processed, posted);
    }

    void timerKilledByAnotherTimerDoesNotFire()
    {
        QTimer a, b;
        int bFires = 0;
        a.setSingleShot(true);
        b.setSingleShot(true);
        connect(&a, &QTimer::timeout, &b, &QTimer::stop);
        connect(&b, &QTimer::timeout, this, [&] { ++bFires; });
        a.start(20);
        b.start(20); // same deadline or one ms later: a is first either way
        QTest::qWait(200);
        QCOMPARE(bFires, 0);
    }

    void socketNotifierReadAndDisable()
    {
        int sv[2];
        QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        QSocketNotifier n(sv[0], QSocketNotifier::Read);
        int activations = 0;
        connect(&n, &QSocketNotifier::activated, this, [&] {
            char c;
            while (::read(sv[0], &c, 1) == 1) {
            }
            ++activations;
        });
        QCOMPARE(::write(sv[1], "x", 1), ssize_t(1));
        QTRY_COMPARE_WITH_TIMEOUT(activations, 1, 5000);
        n.setEnabled(false);
        QCOMPARE(::write(sv[1], "y", 1), ssize_t(1));
        QTest::qWait(100);
        QCOMPARE(activations, 1);
        n.setEnabled(true); // level-triggered: the waiting byte is reported now
        QTRY_COMPARE_WITH_TIMEOUT(activations, 2, 5000);
        ::close(sv[0]);
        ::close(sv[1]);
    }

    void fdHandlerReadWriteAndUnwatch()
    {
        struct Handler final : FdHandler {
            int fd = -1;
            int reads = 0;
            int writes = 0;
            void fdReadable() override
            {
                char c;
                while (::read(fd, &c, 1) == 1) {
                }
                ++reads;
            }
            void fdWritable() override { ++writes; }
        } h;
        int sv[2];
        QCOMPARE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        h.fd = sv[0];
        EpollEventDispatcher *epoll = EpollEventDispatcher::current();
        QVERIFY(epoll);
        epoll->watchFd(sv[0], &h, true, false);
        QCOMPARE(::write(sv[1], "x", 1), ssize_t(1));
        QTRY_COMPARE_WITH_TIMEOUT(h.reads, 1, 5000);
        QCOMPARE(h.writes, 0); // writable all along, but not asked for
        epoll->watchFd(sv[0], &h, false, false);
        QCOMPARE(::write(sv[1], "y", 1), ssize_t(1));
        QTest::qWait(100);
        QCOMPARE(h.reads, 1);
        // Level-triggered: the waiting byte is reported once watched again; so is writability.
        epoll->watchFd(sv[0], &h, true, true);
        QTRY_COMPARE_WITH_TIMEOUT(h.reads, 2, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(h.writes >= 1, 5000);
        epoll->watchFd(sv[0], &h, false, false);
        ::close(sv[0]);
        ::close(sv[1]);
    }

    void tcpTransportEchoAndClosedByPeer()
    {
        TcpListener listener;
        QString error;
        QVERIFY2(listener.listen(QHostAddress::LocalHost, 0, &error), qPrintable(error));
        Recorder rec;
        std::unique_ptr<Transport> owner;
        Transport *server = nullptr;
        connect(&listener, &Listener::newTransport, this, [&](Transport *t) {
            owner.reset(server = t);
            t->setReceiver(&rec);
            t->start();
        });
        QTcpSocket client;
        client.connectToHost(QHostAddress::LocalHost, listener.boundPort());
        QTRY_VERIFY_WITH_TIMEOUT(server, 5000);
        QVERIFY(server->peerAddress().startsWith("127.0.0.1:"));
        QCOMPARE(server->kind(), "tcp");
        rec.onData = [&] {
            if (rec.bytes.endsWith("\n"))
                server->write(rec.bytes);
        };
        client.write(QByteArray("\x10\x02\x00\x00hello\n", 10));
        QByteArray echoed;
        QTRY_VERIFY_WITH_TIMEOUT((echoed += client.readAll()).size() >= 10, 5000);
        QCOMPARE(echoed, QByteArray("\x10\x02\x00\x00hello\n", 10));
        client.disconnectFromHost();
        QTRY_COMPARE_WITH_TIMEOUT(rec.closed, 1, 5000);
    }

    void closeFlushesQueuedBytesFirst()
    {
        TcpListener listener;
        QString error;
        QVERIFY2(listener.listen(QHostAddress::LocalHost, 0, &error), qPrintable(error));
        Recorder rec;
        std::unique_ptr<Transport> owner;
        Transport *server = nullptr;
        connect(&listener, &Listener::newTransport, this, [&](Transport *t) {
            owner.reset(server = t);
            t->setReceiver(&rec);
            t->start();
        });
        QTcpSocket client;
        client.connectToHost(QHostAddress::LocalHost, listener.boundPort());
        QTRY_VERIFY_WITH_TIMEOUT(server, 5000);
        // More than the kernel buffers take at once, so close() has to wait for the reader.
        const QByteArray chunk(256 * 1024, 'z');
        for (int i = 0; i < 16; ++i)
            server->write(chunk);
        QCOMPARE(server->bytesToWrite(), qint64(16) * chunk.size());
        server->close();
        QCOMPARE(rec.closed, 0); // never synchronously from close()
        qint64 received = 0;
        QTRY_VERIFY_WITH_TIMEOUT((received += client.readAll().size(),
                                  client.state() == QAbstractSocket::UnconnectedState),
                                 20000);
        received += client.readAll().size();
        QCOMPARE(received, qint64(16) * chunk.size());
        QTRY_COMPARE_WITH_TIMEOUT(rec.closed, 1, 5000);
    }
};

int main(int argc, char **argv)
{
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    EpollDispatcherTest test;
    return QTest::qExec(&test, argc, argv);
}
#include "tst_epoll_dispatcher.moc"
