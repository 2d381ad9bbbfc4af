// net::TimerWheel: fires once, never before the deadline, cancel and re-arm from inside
// fired(), and a destroyed timer is unlinked.
#include "net/TimerWheel.h"

#include <QElapsedTimer>
#include <QTest>

#include <functional>
#include <memory>

using ferry::net::TimerWheel;
using ferry::net::WheelTimer;

namespace {
class CallbackTimer final : public WheelTimer {
public:
    std::function<void()> onFire;
    int fires = 0;

private:
    void fired() override
    {
        ++fires;
        if (onFire)
            onFire();
    }
};
} // namespace

class TimerWheelTest : public QObject {
    Q_OBJECT
private slots:
    void firesOnceNotBeforeDeadline()
    {
        CallbackTimer t;
        QElapsedTimer clock;
        clock.start();
        qint64 firedAt = -1;
        t.onFire = [&] { firedAt = clock.elapsed(); };
        t.start(250);
        QVERIFY(t.isActive());
        QTRY_COMPARE_WITH_TIMEOUT(t.fires, 1, 10000);
        QVERIFY2(firedAt >= 250, qPrintable(QString::number(firedAt)));
        QVERIFY(!t.isActive());
        QTest::qWait(TimerWheel::kGranularityMs * 3);
        QCOMPARE(t.fires, 1);
        QCOMPARE(TimerWheel::instance().armedCount(), std::size_t(0));
    }

    void cancelledTimerDoesNotFire()
    {
        CallbackTimer t;
        t.start(50);
        t.cancel();
        QVERIFY(!t.isActive());
        QCOMPARE(TimerWheel::instance().armedCount(), std::size_t(0));
        QTest::qWait(TimerWheel::kGranularityMs * 3);
        QCOMPARE(t.fires, 0);
    }

    void rearmFromFiredAndCancelAnotherInSameSlot()
    {
        CallbackTimer a, b;
        a.onFire = [&] {
            b.cancel(); // due on the same tick, still on the wheel's pending list
            if (a.fires < 3)
                a.start(0);
        };
        b.onFire = [&] { a.cancel(); };
        a.start(100);
        b.start(100);
        QTRY_COMPARE_WITH_TIMEOUT(a.fires, 3, 10000);
        // A slot runs in arming order: a ran first, cancelled b, then re-armed itself twice.
        QCOMPARE(b.fires, 0);
        QCOMPARE(TimerWheel::instance().armedCount(), std::size_t(0));
    }

    void destroyedTimerIsUnlinked()
    {
        auto t = std::make_unique<CallbackTimer>();
        t->start(100);
        QCOMPARE(TimerWheel::instance().armedCount(), std::size_t(1));
        t.reset();
        QCOMPARE(TimerWheel::instance().armedCount(), std::size_t(0));
        QTest::qWait(TimerWheel::kGranularityMs * 3); // a dangling entry would crash here
    }

    void deadlineBeyondOneRoundWaitsItsRound()
    {
        // One round plus 500 ms lands in a slot visited about 0.2 s from now: not due then.
        CallbackTimer far, near;
        far.start(TimerWheel::kSlots * TimerWheel::kGranularityMs + 500);
        near.start(500);
        QTRY_COMPARE_WITH_TIMEOUT(near.fires, 1, 10000);
        QTest::qWait(TimerWheel::kGranularityMs * 3);
        QCOMPARE(far.fires, 0);
        QVERIFY(far.isActive());
    }
};

QTEST_GUILESS_MAIN(TimerWheelTest)
#include "tst_timer_wheel.moc"
