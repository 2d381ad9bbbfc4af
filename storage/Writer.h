#pragma once
// The storage writer thread: group commit.
//
// Operations are queued from any thread (in Ferry: the event-loop thread, through Store). The
// writer takes everything queued (up to kMaxBatch operations) and runs it inside ONE
// transaction; when one operation fails (e.g. SQLITE_FULL on an insert) it is undone alone and
// the others in the batch still commit (see runBatch). Then the writer COMMITs, and only then
// posts the batch's completions, in queue order, to `receiver`'s thread in one queued call.
// One fsync per batch, not per message; the caller's thread never waits on the disk.
//
// If BEGIN or COMMIT fails, every operation of the batch completes with that failure and none
// of its effects remain.
#include "storage/StorageTypes.h"
#include "storage/StoreDb.h"

#include <QObject>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace ferry::storage {

class Writer {
public:
    using Apply = std::function<StorageStatus(StoreDb &)>;
    static constexpr std::size_t kMaxBatch = 8192;

    // Starts the thread. `receiver` lives on the thread that gets completions and must outlive
    // the Writer (Store owns both and destroys the Writer first).
    Writer(std::unique_ptr<StoreDb> db, QObject *receiver);
    // Commits what is queued, then stops the thread. Completions already posted but not yet
    // delivered are dropped by Qt with the receiver.
    ~Writer();

    // Queues a write. `done` (may be empty) runs later on the receiver's thread, never inside
    // post(). After the writer stopped, `done` gets Closed. With wakeNow false the writer is
    // not woken: the caller calls wake() once it has queued everything of this turn, so that
    // one event-loop turn becomes one batch rather than a first op alone and then the rest.
    void post(Apply apply, Completion done, bool wakeNow = true);
    void wake();
    // Runs `apply` in the next batch and blocks until that batch has committed (or failed);
    // returns the operation's status, or the commit's failure. For start-up loads, budget
    // changes and tests; never call it from a hot path.
    StorageStatus call(Apply apply);

    StoreStats stats() const;
    // Called from an operation (writer thread) that purged expired entries.
    void countPurged(std::uint64_t entries);

private:
    struct Op {
        Apply apply;
        Completion done;
        std::promise<StorageStatus> *wait = nullptr;
    };
    void run();
    void runBatch(std::deque<Op> &batch);

    std::unique_ptr<StoreDb> m_db;
    QObject *m_receiver = nullptr;

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Op> m_queue;
    bool m_stopping = false;
    StoreStats m_stats;
    std::thread m_thread;
};

} // namespace ferry::storage
