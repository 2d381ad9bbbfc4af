#pragma once
// A coarse hashed timer wheel (Varghese & Lauck, "Hashed and Hierarchical Timing Wheels",
// 1987) for the many long, rarely firing per-connection timers: connect timeout and keep alive.
//
// Why: two QTimers per connection cost ~0.5 KB each connection and a sorted insert into Qt's
// timer list on every start (measured 5-9% of CPU in QTimerInfoList::timerInsert during a
// connect burst). Here arming and cancelling are O(1) pointer swaps with no allocation, and
// one QTimer for the whole thread ticks every kGranularityMs, only while something is armed.
//
// Granularity: a timer fires on the first tick at or after its deadline, so between 0 and
// kGranularityMs (plus event-loop latency) late, and never early.
//
// Contract: one wheel per thread (instance()); a WheelTimer is used on that thread only.
// fired() may arm or cancel any timer, including itself, and may delete objects that own
// other WheelTimers (their destructors cancel them).
#include <QBasicTimer>
#include <QObject>

#include <array>
#include <cstdint>

namespace ferry::net {

class TimerWheel;

class WheelTimer {
public:
    WheelTimer() = default;
    WheelTimer(const WheelTimer &) = delete;
    WheelTimer &operator=(const WheelTimer &) = delete;
    virtual ~WheelTimer() { cancel(); }

    // (Re)arms: fires once, `milliseconds` from now (rounded up to the wheel's granularity).
    void start(int milliseconds);
    void cancel();
    bool isActive() const { return m_next != nullptr; }

protected:
    virtual void fired() = 0;

    // Links of the wheel's circular slot lists (protected: the wheel's sentinels use them).
    friend class TimerWheel;
    WheelTimer *m_prev = nullptr;
    WheelTimer *m_next = nullptr;
    std::int64_t m_dueTick = 0;
};

class TimerWheel final : public QObject {
    Q_OBJECT
public:
    static constexpr int kGranularityMs = 100;
    static constexpr int kSlots = 1024; // one round: 102.4 s; later deadlines wait rounds

    static TimerWheel &instance();
    std::size_t armedCount() const { return m_armed; }

protected:
    void timerEvent(QTimerEvent *event) override;

private:
    friend class WheelTimer;
    TimerWheel();
    void arm(WheelTimer *timer, int milliseconds);
    void unlink(WheelTimer *timer);
    static std::int64_t nowTick();
    void runSlot(WheelTimer &head, std::int64_t upToTick);

    // Circular lists with a sentinel each: unlinking needs no knowledge of the slot.
    struct Head final : WheelTimer {
        Head() { selfLink(); }
        ~Head() override { m_prev = m_next = nullptr; } // a sentinel is not armed
        void selfLink();
        void fired() override {}
    };
    std::array<Head, kSlots> m_slots;
    std::int64_t m_doneTick; // every slot up to this tick has been run
    std::size_t m_armed = 0;
    QBasicTimer m_ticker;
};

} // namespace ferry::net
