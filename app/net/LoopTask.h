#pragma once
// Work deferred to a later turn of the thread's event loop, for objects that exist by the
// thousand (connections, transports) and must not be QObjects (a QObject costs a private of
// ~120 B per object).
//
// A LoopTask is an intrusive node (two pointers): schedule() links it into the thread's
// LoopTaskQueue, which posts ONE event for everything scheduled until that event runs, and then
// calls each task's run() once, in scheduling order. This replaces a posted event per object
// (QCoreApplication::postEvent needs a QObject receiver) and deleteLater.
//
// Contract: one queue per thread (like TimerWheel); a task is scheduled and run on the thread
// that owns it. run() may schedule or cancel any task, itself included (a task scheduled from
// run() runs on a later turn), and may delete objects that own other tasks (their destructors
// cancel them). Destroying a scheduled task cancels it.
#include <QObject>

namespace ferry::net {

class LoopTaskQueue;

class LoopTask {
public:
    LoopTask() = default;
    LoopTask(const LoopTask &) = delete;
    LoopTask &operator=(const LoopTask &) = delete;

    // Runs run() once on a later turn; no-op when already scheduled.
    void schedule();
    void cancel();
    bool isScheduled() const { return m_next != nullptr; }

protected:
    virtual ~LoopTask() { cancel(); }
    virtual void run() = 0;

    // Links of the queue's circular list (protected: the queue's sentinels use them).
    friend class LoopTaskQueue;
    LoopTask *m_prev = nullptr;
    LoopTask *m_next = nullptr;
};

class LoopTaskQueue final : public QObject {
    Q_OBJECT
public:
    static LoopTaskQueue &instance();

protected:
    bool event(QEvent *event) override;

private:
    friend class LoopTask;
    LoopTaskQueue();
    void add(LoopTask *task);
    static void unlink(LoopTask *task);

    struct Head final : LoopTask {
        Head() { selfLink(); }
        ~Head() override { unlinkSelf(); }
        void selfLink();
        void unlinkSelf();
        void run() override {}
        using LoopTask::m_next;
        using LoopTask::m_prev;
    };
    Head m_head;
    bool m_posted = false;
};

} // namespace ferry::net
