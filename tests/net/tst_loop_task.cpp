// net::LoopTask: runs once per schedule() on a later loop turn, in scheduling order; cancel and
// destruction unlink it; a task scheduled from run() waits for the next turn; run() may delete
// other scheduled tasks.
#include "net/LoopTask.h"

#include <QCoreApplication>
#include <QTest>

#include <functional>
#include <memory>
#include <vector>

using ferry::net::LoopTask;

namespace {
std::vector<int> g_order;

class CallbackTask final : public LoopTask {
public:
    explicit CallbackTask(int id = 0) : m_id(id) {}
    ~CallbackTask() override = default;
    std::function<void()> onRun;
    int runs = 0;
    using LoopTask::cancel;
    using LoopTask::isScheduled;
    using LoopTask::schedule;

private:
    void run() override
    {
        ++runs;
        g_order.push_back(m_id);
        if (onRun)
            onRun();
    }
    int m_id;
};

// Delivers what is posted now (one pass; what is posted meanwhile stays queued).
void oneTurn()
{
    QCoreApplication::sendPostedEvents();
}
} // namespace

class LoopTaskTest : public QObject {
    Q_OBJECT
private slots:
    void init() { g_order.clear(); }

    void runsOnceLaterInOrder()
    {
        CallbackTask a(1), b(2), c(3);
        b.schedule();
        a.schedule();
        b.schedule(); // already scheduled: no second run, no move
        c.schedule();
        QVERIFY(a.isScheduled());
        QCOMPARE(a.runs, 0); // never from inside schedule()
        oneTurn();
        QCOMPARE(g_order, (std::vector<int>{2, 1, 3}));
        QVERIFY(!a.isScheduled());
        oneTurn();
        QCOMPARE(a.runs + b.runs + c.runs, 3);
    }

    void cancelAndDestructionUnlink()
    {
        CallbackTask kept(1);
        auto gone = std::make_unique<CallbackTask>(2);
        CallbackTask cancelled(3);
        gone->schedule();
        kept.schedule();
        cancelled.schedule();
        cancelled.cancel();
        QVERIFY(!cancelled.isScheduled());
        gone.reset();
        oneTurn();
        QCOMPARE(g_order, std::vector<int>{1});
    }

    void scheduledFromRunWaitsForNextTurn()
    {
        CallbackTask t(1);
        int turnsToGo = 2;
        t.onRun = [&] {
            if (--turnsToGo > 0)
                t.schedule();
        };
        t.schedule();
        oneTurn();
        QCOMPARE(t.runs, 1);
        QVERIFY(t.isScheduled());
        oneTurn();
        QCOMPARE(t.runs, 2);
        QVERIFY(!t.isScheduled());
    }

    void runMayDeleteOtherScheduledTasks()
    {
        auto victim = std::make_unique<CallbackTask>(2);
        CallbackTask killer(1), after(3);
        killer.onRun = [&] { victim.reset(); };
        killer.schedule();
        victim->schedule();
        after.schedule();
        oneTurn();
        QCOMPARE(g_order, (std::vector<int>{1, 3}));
    }
};

QTEST_GUILESS_MAIN(LoopTaskTest)
#include "tst_loop_task.moc"
