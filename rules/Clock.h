#pragma once
// The broker's clock as the rule engine sees it: windows open and close on it, and
// now_timestamp() reads it. Tests install a clock they move by hand.

#include <QtGlobal>

namespace ferry::rules {

class Clock {
public:
    virtual ~Clock() = default;
    virtual qint64 nowMs() const = 0; // wall-clock milliseconds since the epoch
};

class SystemClock : public Clock {
public:
    qint64 nowMs() const override;
};

// A clock that moves only when told to (tests, `ferryctl rules test`).
class ManualClock : public Clock {
public:
    explicit ManualClock(qint64 startMs = 0) : m_now(startMs) {}
    qint64 nowMs() const override { return m_now; }
    void setNowMs(qint64 ms) { m_now = ms; }
    void advance(qint64 ms) { m_now += ms; }

private:
    qint64 m_now;
};

} // namespace ferry::rules
