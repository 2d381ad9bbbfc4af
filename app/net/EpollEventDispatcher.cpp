#include "net/EpollEventDispatcher.h"

#include <QCoreApplication>
#include <QSocketNotifier>

#include <chrono>
#include <vector>

#include <cerrno>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace ferry::net {

namespace {
// Ready descriptors taken per epoll_wait; more are simply reported by the next call.
constexpr int kMaxEvents = 256;
} // namespace

EpollEventDispatcher::EpollEventDispatcher(QObject *parent) : QAbstractEventDispatcher(parent)
{
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    m_wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    Q_ASSERT(m_epoll >= 0 && m_wake >= 0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = m_wake;
    ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wake, &ev);
}

EpollEventDispatcher::~EpollEventDispatcher()
{
    ::close(m_wake);
    ::close(m_epoll);
}

qint64 EpollEventDispatcher::nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags)
{
    m_interrupted.store(false, std::memory_order_relaxed);
    emit awake();
    // Posted events first, as Qt's own dispatchers do. An event posted from here on calls
    // wakeUp(), which makes the epoll_wait below return at once: nothing waits a turn.
    QCoreApplication::sendPostedEvents();

    int timeout = 0;
    if ((flags & QEventLoop::WaitForMoreEvents) && !m_interrupted.load(std::memory_order_relaxed)) {
        timeout = -1;
        if (!m_deadlines.empty()) {
            const qint64 wait = m_deadlines.begin()->first - nowMs();
            timeout = int(std::clamp<qint64>(wait, 0, 24 * 3600 * 1000));
        }
    }
    if (timeout != 0)
        emit aboutToBlock();

    epoll_event events[kMaxEvents];
    int ready = ::epoll_wait(m_epoll, events, kMaxEvents, timeout);
    if (ready < 0)
        ready = 0; // EINTR: a signal; its handler wrote to a descriptor we will see next turn
    bool handled = false;
    bool woken = false;
    for (int i = 0; i < ready; ++i) {
        const int fd = events[i].data.fd;
        if (fd == m_wake) {
            // Drain first, then clear the flag. The other order loses wakeups: a wakeUp() from
            // another thread between the two writes the counter we then drain, and leaves the
            // flag set with nothing to read, so every later wakeUp() skips its write and the
            // loop sleeps with events posted (seen as 30-40 ms stalls per storage commit).
            // Events posted before the clear are sent below; after it, wakeUp() writes again.
            std::uint64_t count;
            while (::read(m_wake, &count, sizeof count) > 0) {
            }
            m_wakePending.store(false, std::memory_order_release);
            woken = true;
            continue;
        }
        if (!(flags & QEventLoop::ExcludeSocketNotifiers))
            handled |= dispatchSocket(fd, events[i].events);
    }
    if (!(flags & QEventLoop::X11ExcludeTimers))
        handled |= fireTimers();
    if (woken) {
        QCoreApplication::sendPostedEvents();
        handled = true;
    }
    return handled;
}

EpollEventDispatcher::Watch *EpollEventDispatcher::WatchTable::find(int fd)
{
    if (fd < 0 || std::size_t(fd / kChunk) >= m_chunks.size())
        return nullptr;
    auto &chunk = m_chunks[std::size_t(fd / kChunk)];
    if (!chunk)
        return nullptr;
    Watch &watch = (*chunk)[std::size_t(fd % kChunk)];
    return watch.empty() ? nullptr : &watch;
}

EpollEventDispatcher::Watch &EpollEventDispatcher::WatchTable::obtain(int fd, bool *isNew)
{
    const std::size_t index = std::size_t(fd / kChunk);
    if (index >= m_chunks.size())
        m_chunks.resize(index + 1);
    if (!m_chunks[index])
        m_chunks[index] = std::make_unique<std::array<Watch, kChunk>>();
    Watch &watch = (*m_chunks[index])[std::size_t(fd % kChunk)];
    *isNew = watch.empty();
    return watch;
}

QSocketNotifier *EpollEventDispatcher::notifierOf(int fd, QSocketNotifier *Notifiers::*which) const
{
    const auto it = m_notifiers.find(fd);
    return it == m_notifiers.end() ? nullptr : it->second.*which;
}

bool EpollEventDispatcher::dispatchSocket(int fd, std::uint32_t events)
{
    // Each notifier is looked up again before it is activated: the previous activation may
    // have disabled or deleted it (or every notifier of this descriptor).
    bool handled = false;
    const auto activate = [&](QSocketNotifier *Notifiers::*which) {
        const Watch *watch = m_watches.find(fd);
        if (!watch || !watch->hasNotifiers)
            return;
        QSocketNotifier *notifier = notifierOf(fd, which);
        if (!notifier)
            return;
        QEvent event(QEvent::SockAct);
        QCoreApplication::sendEvent(notifier, &event);
        handled = true;
    };
    // Errors and hang-ups are reported to readers and writers, as poll(2)-based Qt does: the
    // socket code learns about them from its read() or write().
    const auto call = [&](bool Watch::*wanted, void (FdHandler::*method)()) {
        const Watch *watch = m_watches.find(fd);
        if (!watch || !watch->handler || !(watch->*wanted))
            return;
        (watch->handler->*method)();
        handled = true;
    };
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
        activate(&Notifiers::read);
        call(&Watch::handlerRead, &FdHandler::fdReadable);
    }
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        activate(&Notifiers::write);
        call(&Watch::handlerWrite, &FdHandler::fdWritable);
    }
    if (events & EPOLLPRI)
        activate(&Notifiers::exception);
    return handled;
}

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    bool isNew = false;
    Watch &watch = m_watches.obtain(fd, &isNew);
    Notifiers &notifiers = m_notifiers[fd];
    switch (notifier->type()) {
    case QSocketNotifier::Read:
        notifiers.read = notifier;
        break;
    case QSocketNotifier::Write:
        notifiers.write = notifier;
        break;
    case QSocketNotifier::Exception:
        notifiers.exception = notifier;
        break;
    }
    watch.hasNotifiers = true;
    updateInterest(fd, watch, isNew);
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    Watch *watch = m_watches.find(fd);
    const auto it = m_notifiers.find(fd);
    if (!watch || it == m_notifiers.end())
        return;
    Notifiers &notifiers = it->second;
    if (notifiers.read == notifier)
        notifiers.read = nullptr;
    if (notifiers.write == notifier)
        notifiers.write = nullptr;
    if (notifiers.exception == notifier)
        notifiers.exception = nullptr;
    if (notifiers.empty()) {
        m_notifiers.erase(it);
        watch->hasNotifiers = false;
    }
    updateInterest(fd, *watch, false);
}

EpollEventDispatcher *EpollEventDispatcher::current()
{
    return qobject_cast<EpollEventDispatcher *>(QAbstractEventDispatcher::instance());
}

void EpollEventDispatcher::watchFd(int fd, FdHandler *handler, bool read, bool write)
{
    if (!read && !write) {
        Watch *watch = m_watches.find(fd);
        if (!watch)
            return;
        watch->handler = nullptr;
        watch->handlerRead = watch->handlerWrite = false;
        updateInterest(fd, *watch, false);
        return;
    }
    bool isNew = false;
    Watch &watch = m_watches.obtain(fd, &isNew);
    watch.handler = handler;
    watch.handlerRead = read;
    watch.handlerWrite = write;
    updateInterest(fd, watch, isNew);
}

void EpollEventDispatcher::updateInterest(int fd, const Watch &watch, bool isNew)
{
    const QSocketNotifier *read = nullptr, *write = nullptr, *exception = nullptr;
    if (watch.hasNotifiers) {
        read = notifierOf(fd, &Notifiers::read);
        write = notifierOf(fd, &Notifiers::write);
        exception = notifierOf(fd, &Notifiers::exception);
    }
    epoll_event ev{};
    ev.data.fd = fd;
    ev.events = (read || watch.handlerRead ? EPOLLIN : 0u) |
                (write || watch.handlerWrite ? EPOLLOUT : 0u) |
                (exception ? EPOLLPRI : 0u);
    if (ev.events == 0) {
        // Fails with EBADF or ENOENT when the descriptor was closed first; nothing to undo then.
        ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
        return;
    }
    // A closed descriptor leaves the epoll set by itself, and its number may come back for a
    // new socket: ADD and MOD each fall back to the other.
    if (::epoll_ctl(m_epoll, isNew ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0) {
        if (errno == EEXIST || errno == ENOENT)
            ::epoll_ctl(m_epoll, isNew ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    }
}

void EpollEventDispatcher::schedule(int timerId, Timer &timer)
{
    m_deadlines.emplace(timer.deadline, timerId);
}

void EpollEventDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                         QObject *object)
{
    Timer timer{interval, nowMs() + interval, timerType, object};
    const auto [it, inserted] = m_timers.insert_or_assign(timerId, timer);
    Q_UNUSED(inserted);
    schedule(timerId, it->second);
}

bool EpollEventDispatcher::unregisterTimer(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return false;
    m_deadlines.erase({it->second.deadline, timerId});
    m_timers.erase(it);
    return true;
}

bool EpollEventDispatcher::unregisterTimers(QObject *object)
{
    bool any = false;
    for (auto it = m_timers.begin(); it != m_timers.end();) {
        if (it->second.object == object) {
            m_deadlines.erase({it->second.deadline, it->first});
            it = m_timers.erase(it);
            any = true;
        } else {
            ++it;
        }
    }
    return any;
}

QList<QAbstractEventDispatcher::TimerInfo>
EpollEventDispatcher::registeredTimers(QObject *object) const
{
    QList<TimerInfo> list;
    for (const auto &[id, timer] : m_timers) {
        if (timer.object == object)
            list.append(TimerInfo(id, int(timer.interval), timer.type));
    }
    return list;
}

int EpollEventDispatcher::remainingTime(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return -1;
    return int(std::max<qint64>(0, it->second.deadline - nowMs()));
}

bool EpollEventDispatcher::fireTimers()
{
    if (m_deadlines.empty())
        return false;
    const qint64 now = nowMs();
    // Collect first, then fire: a timer of interval 0 re-armed at `now` must wait for the
    // next turn, and handlers may start or kill any timer.
    std::vector<int> due;
    for (auto it = m_deadlines.begin(); it != m_deadlines.end() && it->first <= now; ++it)
        due.push_back(it->second);
    for (const int id : due) {
        auto it = m_timers.find(id);
        if (it == m_timers.end() || it->second.firing)
            continue; // killed by an earlier handler, or its handler runs a nested loop
        Timer &timer = it->second;
        m_deadlines.erase({timer.deadline, id});
        // Next deadline from the previous one keeps a steady period; after a stall, skip the
        // missed periods instead of firing them back to back.
        timer.deadline += timer.interval;
        if (timer.deadline <= now)
            timer.deadline = now + timer.interval;
        schedule(id, timer);
        timer.firing = true;
        QObject *object = timer.object;
        QTimerEvent event(id);
        QCoreApplication::sendEvent(object, &event);
        it = m_timers.find(id); // the handler may have killed it (rehashing the map)
        if (it != m_timers.end())
            it->second.firing = false;
    }
    return !due.empty();
}

void EpollEventDispatcher::wakeUp()
{
    if (m_wakePending.exchange(true, std::memory_order_acq_rel))
        return; // the descriptor is already readable: the loop will wake
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(m_wake, &one, sizeof one);
}

void EpollEventDispatcher::interrupt()
{
    m_interrupted.store(true, std::memory_order_relaxed);
    wakeUp();
}

} // namespace ferry::net
