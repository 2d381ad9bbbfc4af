#include "storage/Writer.h"

#include "storage/StorageLog.h"

#include <QMetaObject>

#include <vector>

namespace ferry::storage {

Writer::Writer(std::unique_ptr<StoreDb> db, QObject *receiver)
    : m_db(std::move(db)), m_receiver(receiver)
{
    {
        std::lock_guard lock(m_mutex);
        m_stats.messageRows = std::uint64_t(m_db->committed().messages);
        m_stats.entryRows = std::uint64_t(m_db->committed().entries);
        m_stats.usedBytes = m_db->usedBytes();
        m_stats.budgetBytes = m_db->budgetBytes();
    }
    m_thread = std::thread([this] { run(); });
}

Writer::~Writer()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_one();
    m_thread.join();
}

void Writer::post(Apply apply, Completion done, bool wakeNow)
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_stopping) {
            m_queue.push_back(Op{std::move(apply), std::move(done), nullptr});
            if (wakeNow)   // also when deferred ops queued before: they have waited
                m_wake.notify_one();
            return;
        }
    }
    if (done && m_receiver)
        QMetaObject::invokeMethod(
            m_receiver, [done = std::move(done)] { done(StorageStatus::Closed); },
            Qt::QueuedConnection);
}

void Writer::wake()
{
    m_wake.notify_one();
}

StorageStatus Writer::call(Apply apply)
{
    std::promise<StorageStatus> promise;
    std::future<StorageStatus> result = promise.get_future();
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping)
            return StorageStatus::Closed;
        m_queue.push_back(Op{std::move(apply), Completion(), &promise});
        m_wake.notify_one();   // also when deferred ops queued before (post with wakeNow false)
    }
    return result.get();
}

StoreStats Writer::stats() const
{
    std::lock_guard lock(m_mutex);
    return m_stats;
}

void Writer::countPurged(std::uint64_t entries)
{
    std::lock_guard lock(m_mutex);
    m_stats.purgedEntries += entries;
}

void Writer::run()
{
    std::deque<Op> batch;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
            if (m_queue.empty())
                return; // stopping, and everything queued has been written
            if (m_queue.size() <= kMaxBatch) {
                batch.swap(m_queue);
            } else {
                auto end = m_queue.begin() + std::ptrdiff_t(kMaxBatch);
                std::move(m_queue.begin(), end, std::back_inserter(batch));
                m_queue.erase(m_queue.begin(), end);
            }
        }
        runBatch(batch);
        batch.clear();
    }
}

void Writer::runBatch(std::deque<Op> &batch)
{
    StoreDb &db = *m_db;
    std::vector<StorageStatus> status(batch.size(), StorageStatus::Ok);
    std::vector<bool> settled(batch.size(), false); // failed alone: not run again
    StorageStatus batchStatus = StorageStatus::Ok;
    // Fast path: the operations run back to back, no savepoints (they cost up to a quarter of
    // the throughput in a raw C API measurement here). When one fails, the transaction is rolled
    // back and the batch runs again in careful mode, one savepoint per operation, so that the
    // failing one is undone alone and the others still commit.
    //
    // On SQLITE_FULL, IOERR, BUSY or NOMEM SQLite may roll back the whole transaction by
    // itself, savepoints included (https://www.sqlite.org/lang_transaction.html, "Response To
    // Errors Within A Transaction"). Then the operation that failed is settled alone and the
    // batch runs again without it; bounded, after which the rest fail with that status.
    constexpr int kMaxRestarts = 8;
    bool careful = false;
    StorageStatus lastFailure = StorageStatus::Ok;
    for (int attempt = 0;; ++attempt) {
        bool restart = false;
        batchStatus = db.begin();
        for (std::size_t i = 0; batchStatus == StorageStatus::Ok && i < batch.size(); ++i) {
            if (settled[i])
                continue;
            StorageStatus s = careful ? db.savepoint() : StorageStatus::Ok;
            if (s == StorageStatus::Ok)
                s = batch[i].apply(db);
            status[i] = s;
            // NotFound changed nothing (StoreDb's contract): no need to undo it.
            if (s == StorageStatus::Ok || s == StorageStatus::NotFound) {
                if (careful)
                    db.release();
                db.keepOperationCounters();
                continue;
            }
            lastFailure = s;
            if (!careful) {
                careful = restart = true; // not settled: careful mode will say who failed
                break;
            }
            settled[i] = true;
            if (!db.inTransaction()) {
                restart = true;
                break;
            }
            db.rollbackToSavepoint();
            db.dropOperationCounters();
        }
        if (restart) {
            db.rollback();
            db.dropBatchCounters();
            if (attempt < kMaxRestarts)
                continue;
            batchStatus = lastFailure; // give up: the rest fail with what rolled us back
            break;
        }
        if (batchStatus == StorageStatus::Ok)
            batchStatus = db.commit();
        break;
    }
    if (batchStatus != StorageStatus::Ok) {
        db.rollback();
        db.dropBatchCounters();
        for (std::size_t i = 0; i < batch.size(); ++i)
            if (!settled[i])
                status[i] = batchStatus;
        qCWarning(lcStorage).nospace() << "event=batch_failed status=" << statusName(batchStatus)
                                       << " operations=" << batch.size();
    } else {
        db.keepBatchCounters();
    }

    // Stats before completions, so that a completion handler reading stats() sees its batch.
    {
        const std::uint64_t used = db.usedBytes();
        std::lock_guard lock(m_mutex);
        if (batchStatus == StorageStatus::Ok) {
            ++m_stats.batches;
            m_stats.operations += batch.size();
            m_stats.lastBatchSize = batch.size();
            m_stats.maxBatchSize = std::max<std::uint64_t>(m_stats.maxBatchSize, batch.size());
        }
        m_stats.messageRows = std::uint64_t(db.committed().messages);
        m_stats.entryRows = std::uint64_t(db.committed().entries);
        m_stats.usedBytes = used;
        m_stats.budgetBytes = db.budgetBytes();
        for (StorageStatus s : status) {
            if (s == StorageStatus::Full)
                ++m_stats.refusedFull;
            else if (s != StorageStatus::Ok && s != StorageStatus::NotFound)
                ++m_stats.failures;
        }
    }

    auto completions = std::make_shared<std::vector<std::pair<Completion, StorageStatus>>>();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].wait)
            batch[i].wait->set_value(status[i]);
        else if (batch[i].done)
            completions->emplace_back(std::move(batch[i].done), status[i]);
    }
    if (!completions->empty() && m_receiver)
        QMetaObject::invokeMethod(
            m_receiver,
            [completions] {
                for (auto &[done, s] : *completions)
                    done(s);
            },
            Qt::QueuedConnection);
}

} // namespace ferry::storage
