#pragma once
// An event dispatcher for the daemon's main thread built on Linux epoll(7).
//
// Why: Qt's default dispatchers (glib, or poll(2) with QT_NO_GLIB) rebuild and scan the whole
// descriptor set on every wakeup, so with 10,000 idle clients each packet costs O(connections)
// (measured: ~43% of ferryd's CPU in the glib dispatcher during a connect burst). epoll keeps
// the interest set in the kernel: a wakeup costs O(ready descriptors), registering or
// unregistering a notifier is one epoll_ctl(2).
//
// Contract (QAbstractEventDispatcher, public API): socket notifiers, Qt timers, posted events,
// wakeUp() from any thread, interrupt(). Timers are kept in deadline order with millisecond
// resolution; Qt::CoarseTimer and Qt::VeryCoarseTimer are treated as precise (never early, at
// most one loop turn late). Install it with QCoreApplication::setEventDispatcher() before the
// QCoreApplication is created; it must only run on the thread that created it.
#include <QAbstractEventDispatcher>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ferry::net {

// A descriptor's readiness delivered by a plain call, for objects that exist by the thousand
// (TCP connections): no QSocketNotifier, so no QObject and private per socket (~0.19 KB).
class FdHandler {
public:
    virtual void fdReadable() = 0;
    virtual void fdWritable() = 0;

protected:
    ~FdHandler() = default;
};

class EpollEventDispatcher final : public QAbstractEventDispatcher {
    Q_OBJECT
public:
    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;
    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;
    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                       QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;
    void wakeUp() override;
    void interrupt() override;

    // The calling thread's dispatcher if it is an EpollEventDispatcher, else null.
    static EpollEventDispatcher *current();
    // Calls `handler` when `fd` is readable / writable, on the same terms as a Read / Write
    // QSocketNotifier (errors and hang-ups count as both). read = write = false removes the
    // watch: do that before closing the descriptor. One handler per descriptor; it may sit
    // beside notifiers of the same descriptor.
    void watchFd(int fd, FdHandler *handler, bool read, bool write);

private:
    // A descriptor's watch. Notifiers are few (listeners, the signal pipe, Qt's own sockets)
    // and kept in a map aside; a watch only says whether it has any, so the per-descriptor
    // table holds 16 B per descriptor.
    struct Watch {
        FdHandler *handler = nullptr;
        bool handlerRead = false;
        bool handlerWrite = false;
        bool hasNotifiers = false;
        bool empty() const { return !handler && !hasNotifiers; }
    };
    struct Notifiers {
        QSocketNotifier *read = nullptr;
        QSocketNotifier *write = nullptr;
        QSocketNotifier *exception = nullptr;
        bool empty() const { return !read && !write && !exception; }
    };
    struct Timer {
        qint64 interval;
        qint64 deadline; // steady clock, ms
        Qt::TimerType type;
        QObject *object;
        bool firing = false;
    };

    // Watches by descriptor number in fixed-size chunks made on first use: descriptors are
    // small dense integers, so this costs sizeof(Watch) per descriptor (a hash map node and
    // bucket cost ~72 B) and a lookup is two indexings.
    class WatchTable {
    public:
        // The watch of `fd`, or null when nothing watches it.
        Watch *find(int fd);
        // The watch of `fd`, made if needed; *isNew when nothing watched it before.
        Watch &obtain(int fd, bool *isNew);

    private:
        static constexpr int kChunk = 1024;
        std::vector<std::unique_ptr<std::array<Watch, kChunk>>> m_chunks;
    };

    static qint64 nowMs();
    void updateInterest(int fd, const Watch &watch, bool isNew);
    QSocketNotifier *notifierOf(int fd, QSocketNotifier *Notifiers::*which) const;
    bool dispatchSocket(int fd, std::uint32_t events);
    bool fireTimers();
    void schedule(int timerId, Timer &timer);

    int m_epoll = -1;
    int m_wake = -1; // eventfd: wakeUp() from any thread
    std::atomic<bool> m_interrupted{false};
    std::atomic<bool> m_wakePending{false};       // one eventfd write per wakeup, not per post
    WatchTable m_watches;
    std::unordered_map<int, Notifiers> m_notifiers; // by descriptor, only those with notifiers
    std::unordered_map<int, Timer> m_timers;      // by timer id
    std::set<std::pair<qint64, int>> m_deadlines; // (deadline, timer id), earliest first
};

} // namespace ferry::net
