#include "net/TimerWheel.h"

#include <QElapsedTimer>
#include <QTimerEvent>

namespace ferry::net {

void WheelTimer::start(int milliseconds)
{
    TimerWheel::instance().arm(this, milliseconds);
}

void WheelTimer::cancel()
{
    if (m_next)
        TimerWheel::instance().unlink(this);
}

void TimerWheel::Head::selfLink()
{
    WheelTimer::m_prev = this;
    WheelTimer::m_next = this;
}

TimerWheel &TimerWheel::instance()
{
    // Never destroyed: WheelTimers destroyed during static destruction may still cancel.
    thread_local auto *wheel = new TimerWheel;
    return *wheel;
}

TimerWheel::TimerWheel() : m_doneTick(nowTick()) {}

std::int64_t TimerWheel::nowTick()
{
    static const QElapsedTimer clock = [] {
        QElapsedTimer t;
        t.start();
        return t;
    }();
    return clock.elapsed() / kGranularityMs;
}

void TimerWheel::arm(WheelTimer *timer, int milliseconds)
{
    if (timer->m_next)
        unlink(timer);
    // Round up, plus one tick: the current tick is already partly over.
    const std::int64_t ticks =
        (std::max(0, milliseconds) + kGranularityMs - 1) / kGranularityMs + 1;
    timer->m_dueTick = std::max(nowTick(), m_doneTick) + ticks;
    Head &head = m_slots[std::size_t(timer->m_dueTick % kSlots)];
    timer->m_prev = head.m_prev;
    timer->m_next = &head;
    head.m_prev->m_next = timer;
    head.m_prev = timer;
    if (m_armed++ == 0) {
        m_doneTick = std::max(m_doneTick, nowTick());
        m_ticker.start(kGranularityMs, Qt::PreciseTimer, this);
    }
}

void TimerWheel::unlink(WheelTimer *timer)
{
    timer->m_prev->m_next = timer->m_next;
    timer->m_next->m_prev = timer->m_prev;
    timer->m_prev = timer->m_next = nullptr;
    if (--m_armed == 0)
        m_ticker.stop();
}

void TimerWheel::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_ticker.timerId())
        return QObject::timerEvent(event);
    const std::int64_t now = nowTick();
    // After a stall longer than a round every slot is visited once, in order.
    std::int64_t tick = std::max(m_doneTick + 1, now - kSlots + 1);
    for (; tick <= now && m_armed > 0; ++tick) {
        m_doneTick = tick;
        runSlot(m_slots[std::size_t(tick % kSlots)], now);
    }
    m_doneTick = now;
}

void TimerWheel::runSlot(WheelTimer &head, std::int64_t upToTick)
{
    // Move the slot's list to a local sentinel and take entries one by one: fired() may
    // cancel entries still on the local list (unlink works on any list) or arm new ones.
    Head pending;
    if (head.m_next == &head)
        return;
    pending.m_next = head.m_next;
    pending.m_prev = head.m_prev;
    pending.m_next->m_prev = &pending;
    pending.m_prev->m_next = &pending;
    static_cast<Head &>(head).selfLink();
    while (pending.m_next != &pending) {
        WheelTimer *timer = pending.m_next;
        pending.m_next = timer->m_next;
        timer->m_next->m_prev = &pending;
        if (timer->m_dueTick > upToTick) {
            // Due in a later round: back to its slot.
            timer->m_prev = head.m_prev;
            timer->m_next = &head;
            head.m_prev->m_next = timer;
            head.m_prev = timer;
            continue;
        }
        timer->m_prev = timer->m_next = nullptr;
        if (--m_armed == 0)
            m_ticker.stop();
        timer->fired();
    }
}

} // namespace ferry::net
