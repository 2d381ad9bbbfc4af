#pragma once
// The writer side of the store: one sqlite3 connection, its prepared statements, and one method
// per operation. Every method runs on the writer thread (or on the opening thread before the
// writer starts); nothing here is thread-safe, and nothing here commits: Writer brackets the
// calls in a transaction (one per batch) and a savepoint per operation.
//
// Every sqlite3 return code is checked and mapped to a StorageStatus; failures are logged with
// SQLite's extended code and message.
#include "storage/Statement.h"
#include "storage/PendingEntries.h"
#include "storage/StorageTypes.h"

#include <QHash>
#include <QList>

struct sqlite3;

namespace ferry::storage {

class StoreDb {
public:
    // Takes ownership of an open connection.
    explicit StoreDb(sqlite3 *db);
    ~StoreDb();
    StoreDb(const StoreDb &) = delete;
    StoreDb &operator=(const StoreDb &) = delete;

    // Prepares every statement once. Returns an empty string or SQLite's complaint.
    QString prepare();
    sqlite3 *handle() const { return m_db; }

    // Maps a SQLite result code to a status, logging failures with `what`.
    StorageStatus check(int rc, const char *what);

    // Transaction brackets (Writer).
    StorageStatus begin();
    StorageStatus commit();
    void rollback();
    StorageStatus savepoint();
    void release();
    void rollbackToSavepoint();
    // False once SQLite rolled the whole transaction back by itself (after some errors).
    bool inTransaction() const;

    // Budget: max_page_count = budget; inserts refused once used pages reach budget - reserve.
    StorageStatus setBudget(std::uint64_t budgetBytes, std::uint64_t reserveBytes);
    std::uint64_t budgetBytes() const { return m_budgetPages * m_pageSize; }

    // Writes. Each returns Ok, NotFound (and then changed nothing), or a failure after which
    // the caller must undo the operation (savepoint) because it may have changed some rows.
    // Only the targets `pending` lets it claim are written, with the state folded into them
    // (storage/PendingEntries.h); none claimed writes nothing.
    StorageStatus append(const QList<QueueTarget> &targets, const QList<std::uint64_t> &seqs,
                         const core::Message &message, PendingEntries &pending);
    StorageStatus setEntryState(std::uint64_t queueId, std::uint64_t seq, EntryState state,
                                std::uint16_t packetId);
    StorageStatus remove(std::uint64_t queueId, std::uint64_t seq);
    StorageStatus dropQueue(std::uint64_t queueId);
    StorageStatus saveSession(const StoredSession &s);
    StorageStatus deleteSession(const QByteArray &clientId);
    StorageStatus saveSubscription(const StoredSubscription &s);
    StorageStatus deleteSubscription(const QByteArray &clientId, const QByteArray &filter);
    StorageStatus setRetained(const core::Message &message);
    StorageStatus clearRetained(const QByteArray &topic);
    StorageStatus addInboundQos2(const QByteArray &clientId, std::uint16_t packetId);
    StorageStatus removeInboundQos2(const QByteArray &clientId, std::uint16_t packetId);
    StorageStatus saveWill(const StoredWill &w);
    StorageStatus deleteWill(const QByteArray &clientId);
    StorageStatus purgeExpired(std::int64_t nowMs, PurgeResult *result);

    // Queues are named by the caller and numbered by Store (on its thread, so that creating
    // one never waits for the disk); this writes the row.
    StorageStatus createQueue(std::uint64_t id, const QByteArray &name, QueueKind kind);

    // Reads.
    struct QueueCatalogEntry {
        std::uint64_t id;
        QByteArray name;
        QueueKind kind;
    };
    // The queues, and the highest entry seq in use (seqs are numbered over all queues).
    StorageStatus queueCatalog(QList<QueueCatalogEntry> *out, std::uint64_t *maxSeq);
    // One queue's entries: a scan of all entries (no per-queue index, see Schema.cpp).
    StorageStatus load(std::uint64_t queueId, std::int64_t nowMs, QList<StoredEntry> *out);
    // Every queue's entries in one scan, by queue id, each in order.
    StorageStatus loadAll(std::int64_t nowMs, QHash<std::uint64_t, QList<StoredEntry>> *out);
    StorageStatus queues(QList<QueueInfo> *out);
    StorageStatus sessions(QList<StoredSession> *out);
    StorageStatus subscriptions(QList<StoredSubscription> *out);
    StorageStatus retained(std::int64_t nowMs, QList<core::Message> *out);
    StorageStatus wills(QList<StoredWill> *out);
    StorageStatus inboundQos2(QList<StoredInboundId> *out);

    // Row counters, exact as of the last commit. Operations adjust a pending copy that Writer
    // keeps (operation committed) or discards (savepoint or batch rolled back).
    struct Counters {
        std::int64_t messages = 0;
        std::int64_t entries = 0;
    };
    StorageStatus countRows();
    Counters committed() const { return m_committed; }
    void keepOperationCounters() { m_opStart = m_pending; }
    void dropOperationCounters() { m_pending = m_opStart; }
    void keepBatchCounters() { m_committed = m_opStart = m_pending; }
    void dropBatchCounters() { m_pending = m_opStart = m_committed; }
    std::uint64_t usedBytes();

private:
    StorageStatus insertMessage(const core::Message &m, std::int64_t refs, std::int64_t *id);
    StorageStatus releaseMessage(std::int64_t id);
    StorageStatus roomForInsert();
    StorageStatus pragmaInt(Statement &st, std::int64_t *value);
    core::Message messageFromRow(Statement &st, int firstColumn);

    sqlite3 *m_db = nullptr;
    std::uint64_t m_pageSize = 4096;
    std::uint64_t m_budgetPages = 0; // 0 = none
    std::uint64_t m_softPages = 0;
    Counters m_committed, m_pending, m_opStart;

    Statement m_begin, m_commit, m_rollback, m_savepoint, m_release, m_rollbackTo;
    Statement m_pageCount, m_freelistCount;
    Statement m_insertMessage, m_releaseMessage, m_deleteMessageIfUnused;
    Statement m_insertEntry, m_setEntryState, m_deleteEntry, m_deleteQueueEntries, m_deleteQueue;
    Statement m_insertQueue, m_loadEntries, m_loadAllEntries, m_listQueues;
    Statement m_upsertSession, m_deleteSession, m_deleteSessionSubs, m_listSessions;
    Statement m_upsertSub, m_deleteSub, m_listSubs;
    Statement m_deleteRetained, m_insertRetained, m_listRetained;
    Statement m_deleteWill, m_insertWill, m_listWills;
    Statement m_insertInbound, m_deleteInbound, m_deleteSessionInbound, m_listInbound;
    Statement m_expiredEntries, m_expiredRetained;
};

} // namespace ferry::storage
