#include "net/LoopTask.h"

#include <QCoreApplication>
#include <QEvent>

namespace ferry::net {

namespace {
const QEvent::Type kRunEvent = QEvent::Type(QEvent::registerEventType());
} // namespace

void LoopTask::schedule()
{
    if (!m_next)
        LoopTaskQueue::instance().add(this);
}

void LoopTask::cancel()
{
    if (m_next)
        LoopTaskQueue::unlink(this);
}

void LoopTaskQueue::Head::selfLink()
{
    m_prev = this;
    m_next = this;
}

void LoopTaskQueue::Head::unlinkSelf()
{
    // A sentinel is not a scheduled task: keep ~LoopTask from unlinking it.
    m_prev = m_next = nullptr;
}

LoopTaskQueue &LoopTaskQueue::instance()
{
    // Never destroyed: tasks destroyed during static destruction may still cancel.
    thread_local auto *queue = new LoopTaskQueue;
    return *queue;
}

LoopTaskQueue::LoopTaskQueue() = default;

void LoopTaskQueue::add(LoopTask *task)
{
    task->m_prev = m_head.m_prev;
    task->m_next = &m_head;
    m_head.m_prev->m_next = task;
    m_head.m_prev = task;
    if (!m_posted) {
        m_posted = true;
        QCoreApplication::postEvent(this, new QEvent(kRunEvent));
    }
}

void LoopTaskQueue::unlink(LoopTask *task)
{
    task->m_prev->m_next = task->m_next;
    task->m_next->m_prev = task->m_prev;
    task->m_prev = task->m_next = nullptr;
}

bool LoopTaskQueue::event(QEvent *event)
{
    if (event->type() != kRunEvent)
        return QObject::event(event);
    m_posted = false;
    if (m_head.m_next == &m_head)
        return true;
    // Move what is scheduled now to a local sentinel and take tasks one by one: run() may
    // cancel tasks still on the local list (unlink works on any list) or schedule new ones,
    // which go to m_head and run on the next event.
    Head pending;
    pending.m_next = m_head.m_next;
    pending.m_prev = m_head.m_prev;
    pending.m_next->m_prev = &pending;
    pending.m_prev->m_next = &pending;
    m_head.selfLink();
    while (pending.m_next != &pending) {
        LoopTask *task = pending.m_next;
        unlink(task);
        task->run();
    }
    return true;
}

} // namespace ferry::net
