#pragma once
// ferry::storage::Store - durable queues, sessions, subscriptions, retained messages and wills
// in one SQLite file, written by one writer thread with group commit.
//
// Threads. A Store belongs to the thread that opened it (the broker's event-loop thread). Call
// every method on that thread, except stats() which any thread may call. Writes are queued and
// return at once; the writer thread runs everything queued in ONE transaction and, after its
// COMMIT, posts the completions to the owner thread (queued call: they run from its event loop,
// in the order the writes were made, never inside the call that made the write). A completion
// may call back into the Store (e.g. queue the next write). The writer is woken once per
// event-loop turn, so one turn's writes form one batch; a setEntryState or remove of an entry
// whose append the writer has not taken yet is folded into that append (PendingEntries.h), so
// a message acknowledged that quickly never reaches the disk. Reads (load*, queues) are
// synchronous: they wait for the writer to run everything queued before them and are meant for
// start-up, before the event loop carries traffic.
//
// Ownership. Messages are taken by value (implicitly shared, immutable): the Store keeps a
// reference until the write ran. Loaded messages are new objects owned by the caller.
//
// Durability. Ok means committed: with sync = Full it survives power loss, with Normal it
// survives kill -9 of ferryd (FINDINGS.md and StorageTypes.h: SyncMode). A write answered with
// anything else left no trace. Full means the disk or the budget (StoreOptions::maxDiskBytes)
// is exhausted: the broker refuses durable work (MQTT 5 reason 0x97) and keeps serving QoS 0;
// deletes still work (a reserve is kept for them), and writes succeed again as soon as space
// returns (rows acknowledged/deleted or setDiskBudget raised) - nothing to reset.
//
// Limits. The per-queue message/byte limits and their overflow policy (drop-oldest or refuse)
// are the broker's: it owns the in-memory view of each queue and decides before calling
// append(); dropping the oldest is a remove() of its seq. Storage enforces only the whole-store
// budget and reports per-queue counts (queues()).
//
// Destruction commits every queued write and stops the writer; completions not yet delivered
// are dropped.
#include "storage/LockFile.h"
#include "storage/StorageTypes.h"

#include <QHash>
#include <QObject>
#include <QTimer>

#include <memory>

namespace ferry::storage {

class Writer;

class Store : public QObject {
    Q_OBJECT
public:
    // Creates the directory and the file if missing, and migrates the schema. Refuses (returns
    // null and fills *error) a directory or non-database in place of the file, a truncated or
    // damaged file, a file locked by another ferryd or by another SQLite user, a schema newer
    // than ours. Never replaces an existing file.
    static std::unique_ptr<Store> open(const StoreOptions &options, OpenError *error);
    ~Store() override;

    // --- Durable queues (MQTT persistent sessions, bridge outboxes, AMQP durable queues) ---
    // The id of the queue `name`, created if missing. Never waits for the disk: the catalog is
    // in memory, and a new queue's row is written ahead of its first entries. Returns 0 (and
    // Error in *status) when `name` exists with another kind.
    std::uint64_t queueId(const QByteArray &name, QueueKind kind, StorageStatus *status = nullptr);
    // Appends to the end of the queue and returns the entry's seq at once (one numbering over
    // all queues, so increasing within each queue with gaps between; after a restart numbering
    // continues after the highest stored seq; the seq of a failed append is simply never
    // stored). `done` gets Ok once the entry
    // is committed.
    std::uint64_t append(std::uint64_t queueId, const core::Message &message, const EntryMeta &meta,
                         Completion done);
    // One body, many queues: fan-out to several persistent sessions stores the message once.
    // Returns the seqs in the order of `targets`; all entries commit together or none does.
    QList<std::uint64_t> appendMany(const QList<QueueTarget> &targets, const core::Message &message,
                                    Completion done);
    // Records delivery progress so that a restart resumes it (NotFound if no such entry).
    void setEntryState(std::uint64_t queueId, std::uint64_t seq, EntryState state,
                       std::uint16_t packetId, Completion done);
    // Acknowledged or dropped: deletes the entry, and the body once nothing refers to it.
    void remove(std::uint64_t queueId, std::uint64_t seq, Completion done);
    // Deletes the queue and all its entries (session ended, outbox removed).
    void dropQueue(std::uint64_t queueId, Completion done);
    // The queue's entries ordered by seq, without Queued entries whose message expired at
    // nowMs (in-flight ones are kept: MQTT-3.3.2-5 only expires undelivered copies). Reads
    // every stored entry to find the queue's (no per-queue index: Schema.cpp, version 3):
    // restoring many queues, use loadAll.
    QList<StoredEntry> load(std::uint64_t queueId, std::int64_t nowMs,
                            StorageStatus *status = nullptr);
    // What load() gives for every queue that has entries, in one pass.
    QHash<std::uint64_t, QList<StoredEntry>> loadAll(std::int64_t nowMs,
                                                     StorageStatus *status = nullptr);
    QList<QueueInfo> queues(StorageStatus *status = nullptr);

    // --- Sessions and subscriptions (keyed by client id; save replaces) ---
    void saveSession(const StoredSession &session, Completion done);
    // Deletes the session, its subscriptions and inbound QoS 2 ids (not its queue or will:
    // dropQueue / deleteWill them too).
    void deleteSession(const QByteArray &clientId, Completion done);
    void saveSubscription(const StoredSubscription &subscription, Completion done);
    void deleteSubscription(const QByteArray &clientId, const QByteArray &filter, Completion done);
    QList<StoredSession> loadSessions(StorageStatus *status = nullptr);
    QList<StoredSubscription> loadSubscriptions(StorageStatus *status = nullptr);

    // --- Inbound QoS 2 ids (PUBREC sent, PUBREL awaited), so that exactly-once holds across
    //     a restart: record before sending PUBREC, remove when PUBREL arrives ---
    void addInboundQos2(const QByteArray &clientId, std::uint16_t packetId, Completion done);
    void removeInboundQos2(const QByteArray &clientId, std::uint16_t packetId, Completion done);
    QList<StoredInboundId> loadInboundQos2(StorageStatus *status = nullptr);

    // --- Retained messages (keyed by topic; an empty payload deletes, MQTT-3.3.1-6) ---
    void setRetained(const core::Message &message, Completion done);
    void clearRetained(const QByteArray &topic, Completion done);
    QList<core::Message> loadRetained(std::int64_t nowMs, StorageStatus *status = nullptr);

    // --- Delayed wills (one per client id; save replaces) ---
    void saveWill(const StoredWill &will, Completion done);
    void deleteWill(const QByteArray &clientId, Completion done);
    QList<StoredWill> loadWills(StorageStatus *status = nullptr);

    // --- Housekeeping ---
    // Deletes Queued entries and retained messages expired at nowMs. The Store calls it every
    // StoreOptions::purgeIntervalMs with the wall clock; call it yourself for other schedules.
    void purgeExpired(std::int64_t nowMs, std::function<void(StorageStatus, PurgeResult)> done);
    // Changes the whole-store budget (0 = none) at run time.
    void setDiskBudget(std::uint64_t bytes, Completion done);
    // Blocks until every write queued so far has committed or failed. Shutdown and tests.
    StorageStatus flush();

    StoreStats stats() const;
    QString path() const { return m_options.path; }

private:
    explicit Store(const StoreOptions &options);
    void post(std::function<StorageStatus(class StoreDb &)> apply, Completion done);
    // Wakes the writer once the current event-loop turn has queued everything.
    void scheduleWake();
    // An appended entry not yet written, found by (queue, seq): see PendingEntries.h.
    struct PendingRef {
        std::shared_ptr<class PendingEntries> entries;
        qsizetype index;
    };
    PendingRef *findPending(std::uint64_t queueId, std::uint64_t seq);
    void forgetPending(const QList<QueueTarget> &targets, const QList<std::uint64_t> &seqs,
                       const PendingEntries *entries);
    template <class T, class F> QList<T> read(StorageStatus *status, F &&fill);

    StoreOptions m_options;
    LockFile m_lock;
    std::unique_ptr<Writer> m_writer;
    // The queue catalog, owner thread only: loaded at open, kept here so that queueId() and
    // append() never wait for the writer.
    struct QueueRef {
        std::uint64_t id;
        QueueKind kind;
    };
    QHash<QByteArray, QueueRef> m_queues;
    QHash<std::uint64_t, QByteArray> m_queueNames;
    std::uint64_t m_nextSeq = 1; // entry seqs are numbered over all queues (schema v3)
    std::uint64_t m_maxQueueId = 0;
    QHash<std::uint64_t, QueueRef> m_uncommittedQueues; // created here, row not committed yet
    QHash<QPair<std::uint64_t, std::uint64_t>, PendingRef> m_pendingEntries; // (queue, seq)
    bool m_wakeScheduled = false;
    QTimer m_purgeTimer;
};

} // namespace ferry::storage
