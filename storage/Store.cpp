#include "storage/Store.h"

#include "storage/FileCheck.h"
#include "storage/PendingEntries.h"
#include "storage/Schema.h"
#include "storage/StorageLog.h"
#include "storage/StoreDb.h"
#include "storage/Writer.h"

#include <QDateTime>
#include <QFile>
#include <QThread>

#include <sqlite3.h>

namespace ferry::storage {

namespace {

const char *syncPragma(SyncMode m)
{
    switch (m) {
    case SyncMode::Full:
        return "PRAGMA synchronous = FULL";
    case SyncMode::Normal:
        return "PRAGMA synchronous = NORMAL";
    case SyncMode::Off:
        return "PRAGMA synchronous = OFF";
    }
    return "PRAGMA synchronous = FULL";
}

// What to tell the user for a SQLite failure while opening `path`.
QString openFailure(const QString &path, sqlite3 *db, int rc, const QString &step)
{
    const QString sqliteSays =
        db ? QString::fromUtf8(sqlite3_errmsg(db)) : QString::fromUtf8(sqlite3_errstr(rc));
    QString advice;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        advice = QStringLiteral("another process holds a lock on the database: stop it "
                                "(e.g. an open sqlite3 shell or another ferryd) and start "
                                "again");
        break;
    case SQLITE_NOTADB:
        advice = QStringLiteral("the file is not a SQLite database: restore it from a backup, "
                                "or move it away to start with an empty store");
        break;
    case SQLITE_CORRUPT:
        advice = QStringLiteral("the database is damaged: restore it from a backup, or move it "
                                "away to start with an empty store");
        break;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
        advice = QStringLiteral("check that the path is a file ferryd may read and write, in "
                                "a writable directory");
        break;
    case SQLITE_FULL:
        advice = QStringLiteral("the disk is full: free some space");
        break;
    case SQLITE_IOERR:
        advice = QStringLiteral("the disk reported an I/O error: check the storage device");
        break;
    default:
        advice = QStringLiteral("see the SQLite message above");
        break;
    }
    return QStringLiteral("%1: %2 failed: %3 (sqlite code %4); %5")
        .arg(path, step, sqliteSays)
        .arg(rc)
        .arg(advice);
}

// Runs a statement that may return rows; hands the first column of the first row to `first`.
int execFirst(sqlite3 *db, const char *sql, QByteArray *first)
{
    sqlite3_stmt *st = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && first)
            *first = QByteArray(reinterpret_cast<const char *>(sqlite3_column_text(st, 0)));
        while (rc == SQLITE_ROW)
            rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

struct DbCloser {
    void operator()(sqlite3 *db) const { sqlite3_close(db); }
};

} // namespace

Store::Store(const StoreOptions &options) : m_options(options) {}

Store::~Store()
{
    m_purgeTimer.stop();
    m_writer.reset(); // commits what is queued, joins the thread, closes the connection
}

std::unique_ptr<Store> Store::open(const StoreOptions &options, OpenError *error)
{
    auto fail = [&](const QString &message) {
        qCCritical(lcStorage).noquote().nospace()
            << "event=open_failed path=" << options.path << " reason=\"" << message << '"';
        if (error)
            error->message = message;
        return std::unique_ptr<Store>();
    };
    const QString &path = options.path;
    QString problem = FileCheck::check(path);
    if (!problem.isEmpty())
        return fail(problem);

    std::unique_ptr<Store> store(new Store(options));
    problem = store->m_lock.acquire(path);
    if (!problem.isEmpty())
        return fail(problem);
    // The lock is ours: check again, in case the file changed while another ferryd had it.
    problem = FileCheck::check(path);
    if (!problem.isEmpty())
        return fail(problem);

    sqlite3 *raw = nullptr;
    const QByteArray native = QFile::encodeName(path);
    // NOMUTEX: the connection is used by one thread at a time (here, then the writer thread).
    int rc =
        sqlite3_open_v2(native.constData(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite3, DbCloser> db(raw);
    if (rc != SQLITE_OK)
        return fail(openFailure(path, raw, rc, QStringLiteral("opening")));
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, options.busyTimeoutMs);

    // Read something first: "not a database" and foreign locks show up here, before any write.
    rc = execFirst(raw, "SELECT count(*) FROM sqlite_schema", nullptr);
    if (rc != SQLITE_OK)
        return fail(openFailure(path, raw, rc, QStringLiteral("reading the schema")));
    QByteArray mode;
    rc = execFirst(raw, "PRAGMA journal_mode = WAL", &mode);
    if (rc != SQLITE_OK)
        return fail(openFailure(path, raw, rc, QStringLiteral("switching to WAL")));
    if (mode != "wal")
        return fail(QStringLiteral("%1: SQLite refused WAL mode (journal_mode is %2): the "
                                   "filesystem may not support shared memory; put the "
                                   "database on a local filesystem")
                        .arg(path, QString::fromLatin1(mode)));
    if (options.checkOnOpen) {
        QByteArray verdict;
        rc = execFirst(raw, "PRAGMA quick_check", &verdict);
        if (rc != SQLITE_OK)
            return fail(openFailure(path, raw, rc, QStringLiteral("checking integrity")));
        if (verdict != "ok")
            return fail(QStringLiteral("%1: the database is damaged (quick_check: %2): restore "
                                       "it from a backup, or move it away to start with an "
                                       "empty store")
                            .arg(path, QString::fromUtf8(verdict)));
    }
    // secure_delete off: about 19% fewer bytes written (FINDINGS.md); temp_store in memory
    // keeps savepoint journals off the card; journal_size_limit truncates the WAL after
    // checkpoints so it does not keep its high-water size.
    const QByteArray walLimit =
        "PRAGMA journal_size_limit = " + QByteArray::number(qulonglong(options.walLimitBytes));
    for (const char *sql : {syncPragma(options.sync), "PRAGMA secure_delete = OFF",
                            "PRAGMA temp_store = MEMORY", walLimit.constData()}) {
        rc = execFirst(raw, sql, nullptr);
        if (rc != SQLITE_OK)
            return fail(openFailure(path, raw, rc, QString::fromLatin1(sql)));
    }
    problem = Schema::migrate(raw);
    if (!problem.isEmpty()) {
        rc = sqlite3_extended_errcode(raw);
        if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
            return fail(openFailure(path, raw, rc, QStringLiteral("locking for the schema")));
        return fail(QStringLiteral("%1: %2").arg(path, problem));
    }

    auto storeDb = std::make_unique<StoreDb>(db.release());
    problem = storeDb->prepare();
    if (problem.isEmpty() && storeDb->countRows() != StorageStatus::Ok)
        problem = QStringLiteral("cannot count rows");
    if (problem.isEmpty() &&
        storeDb->setBudget(options.maxDiskBytes, options.reserveBytes) != StorageStatus::Ok)
        problem = QStringLiteral("cannot set the size budget");
    if (!problem.isEmpty())
        return fail(QStringLiteral("%1: %2").arg(path, problem));
    QList<StoreDb::QueueCatalogEntry> catalog;
    std::uint64_t maxSeq = 0;
    if (storeDb->queueCatalog(&catalog, &maxSeq) != StorageStatus::Ok)
        return fail(QStringLiteral("%1: cannot read the queue catalog").arg(path));
    for (const auto &q : catalog) {
        store->m_queues.insert(q.name, {q.id, q.kind});
        store->m_queueNames.insert(q.id, q.name);
        store->m_maxQueueId = std::max(store->m_maxQueueId, q.id);
    }
    store->m_nextSeq = maxSeq + 1;
    store->m_writer = std::make_unique<Writer>(std::move(storeDb), store.get());
    if (options.purgeIntervalMs > 0) {
        Store *self = store.get();
        connect(&self->m_purgeTimer, &QTimer::timeout, self,
                [self] { self->purgeExpired(QDateTime::currentMSecsSinceEpoch(), {}); });
        self->m_purgeTimer.start(options.purgeIntervalMs);
    }
    const StoreStats s = store->m_writer->stats();
    qCInfo(lcStorage).noquote().nospace()
        << "event=opened path=" << path << " messages=" << s.messageRows
        << " entries=" << s.entryRows << " bytes=" << s.usedBytes;
    return store;
}

void Store::post(std::function<StorageStatus(StoreDb &)> apply, Completion done)
{
    Q_ASSERT(QThread::currentThread() == thread());
    m_writer->post(std::move(apply), std::move(done), false);
    scheduleWake();
}

void Store::scheduleWake()
{
    if (m_wakeScheduled)
        return;
    m_wakeScheduled = true;
    // A queued call runs after the events of this turn (e.g. every PUBLISH read from the
    // sockets that were ready), so the writer sees them as one batch.
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_wakeScheduled = false;
            m_writer->wake();
        },
        Qt::QueuedConnection);
}

Store::PendingRef *Store::findPending(std::uint64_t queueId, std::uint64_t seq)
{
    if (m_pendingEntries.isEmpty())
        return nullptr;
    auto it = m_pendingEntries.find(qMakePair(queueId, seq));
    return it == m_pendingEntries.end() ? nullptr : &it.value();
}

void Store::forgetPending(const QList<QueueTarget> &targets, const QList<std::uint64_t> &seqs,
                          const PendingEntries *entries)
{
    for (qsizetype i = 0; i < targets.size(); ++i) {
        auto it = m_pendingEntries.find(qMakePair(targets[i].queueId, seqs[i]));
        if (it != m_pendingEntries.end() && it->entries.get() == entries)
            m_pendingEntries.erase(it);
    }
}

template <class T, class F> QList<T> Store::read(StorageStatus *status, F &&fill)
{
    Q_ASSERT(QThread::currentThread() == thread());
    QList<T> out;
    const StorageStatus s = m_writer->call([&](StoreDb &db) { return fill(db, &out); });
    if (s != StorageStatus::Ok)
        out.clear();
    if (status)
        *status = s;
    return out;
}

std::uint64_t Store::queueId(const QByteArray &name, QueueKind kind, StorageStatus *status)
{
    Q_ASSERT(QThread::currentThread() == thread());
    auto it = m_queues.find(name);
    if (it != m_queues.end()) {
        if (it->kind != kind) {
            qCWarning(lcStorage).noquote().nospace()
                << "event=queue_kind_mismatch queue=" << name << " stored=" << int(it->kind)
                << " asked=" << int(kind);
            if (status)
                *status = StorageStatus::Error;
            return 0;
        }
        if (status)
            *status = StorageStatus::Ok;
        return it->id;
    }
    // Numbered here, written by the writer: creating a queue never waits for the disk. The row
    // commits before (or with) the first append to it, since writes run in order.
    const std::uint64_t id = ++m_maxQueueId;
    m_queues.insert(name, {id, kind});
    m_queueNames.insert(id, name);
    m_uncommittedQueues.insert(id, {id, kind});
    post([id, name, kind](StoreDb &db) { return db.createQueue(id, name, kind); },
         [this, id](StorageStatus s) {
             if (s == StorageStatus::Ok)
                 m_uncommittedQueues.remove(id);
         });
    if (status)
        *status = StorageStatus::Ok;
    return id;
}

std::uint64_t Store::append(std::uint64_t queueId, const core::Message &message,
                            const EntryMeta &meta, Completion done)
{
    const QList<std::uint64_t> seqs =
        appendMany({QueueTarget{queueId, meta}}, message, std::move(done));
    return seqs.isEmpty() ? 0 : seqs.first();
}

QList<std::uint64_t> Store::appendMany(const QList<QueueTarget> &targets,
                                       const core::Message &message, Completion done)
{
    QList<std::uint64_t> seqs;
    seqs.reserve(targets.size());
    for (const QueueTarget &t : targets) {
        if (!m_queueNames.contains(t.queueId)) {
            // Programmer error (a queue id not obtained from queueId()): refuse, visibly.
            qCWarning(lcStorage).nospace() << "event=append_unknown_queue queue=" << t.queueId;
            post([](StoreDb &) { return StorageStatus::NotFound; }, std::move(done));
            return {};
        }
    }
    for (qsizetype i = 0; i < targets.size(); ++i)
        seqs.append(m_nextSeq++);
    if (targets.isEmpty()) {
        post([](StoreDb &) { return StorageStatus::Ok; }, std::move(done));
        return seqs;
    }
    // A queue whose row did not commit yet (e.g. it failed with Busy) is created again with
    // the entries, in the same operation: entries never outlive the commit of their queue.
    struct QueueRow {
        std::uint64_t id;
        QByteArray name;
        QueueKind kind;
    };
    QList<QueueRow> rows;
    for (const QueueTarget &t : targets) {
        const auto it = m_uncommittedQueues.constFind(t.queueId);
        if (it != m_uncommittedQueues.constEnd())
            rows.append({t.queueId, m_queueNames.value(t.queueId), it->kind});
    }
    auto pending = std::make_shared<PendingEntries>(targets.size());
    for (qsizetype i = 0; i < targets.size(); ++i)
        m_pendingEntries.insert(qMakePair(targets[i].queueId, seqs[i]), PendingRef{pending, i});
    post(
        [targets, seqs, message, rows, pending](StoreDb &db) {
            for (const auto &r : rows) {
                const StorageStatus s = db.createQueue(r.id, r.name, r.kind);
                if (s != StorageStatus::Ok)
                    return s;
            }
            return db.append(targets, seqs, message, *pending);
        },
        [this, targets, seqs, rows, pending, done = std::move(done)](StorageStatus s) {
            forgetPending(targets, seqs, pending.get());
            if (s == StorageStatus::Ok)
                for (const auto &r : rows)
                    m_uncommittedQueues.remove(r.id);
            if (done)
                done(s);
        });
    return seqs;
}

void Store::setEntryState(std::uint64_t queueId, std::uint64_t seq, EntryState state,
                          std::uint16_t packetId, Completion done)
{
    if (PendingRef *p = findPending(queueId, seq);
        p && p->entries->fold(p->index, state, packetId)) {
        // Written with the INSERT; `done` still waits for that commit (ops complete in order).
        if (done)
            post([](StoreDb &) { return StorageStatus::Ok; }, std::move(done));
        return;
    }
    post([=](StoreDb &db) { return db.setEntryState(queueId, seq, state, packetId); },
         std::move(done));
}

void Store::remove(std::uint64_t queueId, std::uint64_t seq, Completion done)
{
    if (PendingRef *p = findPending(queueId, seq); p && p->entries->cancel(p->index)) {
        // Gone before the writer got to it: nothing reaches the disk.
        m_pendingEntries.remove(qMakePair(queueId, seq));
        if (done)
            post([](StoreDb &) { return StorageStatus::Ok; }, std::move(done));
        return;
    }
    post([=](StoreDb &db) { return db.remove(queueId, seq); }, std::move(done));
}

void Store::dropQueue(std::uint64_t queueId, Completion done)
{
    m_uncommittedQueues.remove(queueId);
    m_queues.remove(m_queueNames.take(queueId));
    post([=](StoreDb &db) { return db.dropQueue(queueId); }, std::move(done));
}

QList<StoredEntry> Store::load(std::uint64_t queueId, std::int64_t nowMs, StorageStatus *status)
{
    return read<StoredEntry>(
        status, [&](StoreDb &db, QList<StoredEntry> *out) { return db.load(queueId, nowMs, out); });
}

QHash<std::uint64_t, QList<StoredEntry>> Store::loadAll(std::int64_t nowMs, StorageStatus *status)
{
    QHash<std::uint64_t, QList<StoredEntry>> all;
    StorageStatus s = m_writer->call([&](StoreDb &db) { return db.loadAll(nowMs, &all); });
    if (status)
        *status = s;
    if (s != StorageStatus::Ok)
        all.clear();
    return all;
}

QList<QueueInfo> Store::queues(StorageStatus *status)
{
    return read<QueueInfo>(status,
                           [](StoreDb &db, QList<QueueInfo> *out) { return db.queues(out); });
}

void Store::saveSession(const StoredSession &session, Completion done)
{
    post([session](StoreDb &db) { return db.saveSession(session); }, std::move(done));
}

void Store::deleteSession(const QByteArray &clientId, Completion done)
{
    post([clientId](StoreDb &db) { return db.deleteSession(clientId); }, std::move(done));
}

void Store::saveSubscription(const StoredSubscription &subscription, Completion done)
{
    post([subscription](StoreDb &db) { return db.saveSubscription(subscription); },
         std::move(done));
}

void Store::deleteSubscription(const QByteArray &clientId, const QByteArray &filter,
                               Completion done)
{
    post([clientId, filter](StoreDb &db) { return db.deleteSubscription(clientId, filter); },
         std::move(done));
}

QList<StoredSession> Store::loadSessions(StorageStatus *status)
{
    return read<StoredSession>(
        status, [](StoreDb &db, QList<StoredSession> *out) { return db.sessions(out); });
}

QList<StoredSubscription> Store::loadSubscriptions(StorageStatus *status)
{
    return read<StoredSubscription>(
        status, [](StoreDb &db, QList<StoredSubscription> *out) { return db.subscriptions(out); });
}

void Store::addInboundQos2(const QByteArray &clientId, std::uint16_t packetId, Completion done)
{
    post([clientId, packetId](StoreDb &db) { return db.addInboundQos2(clientId, packetId); },
         std::move(done));
}

void Store::removeInboundQos2(const QByteArray &clientId, std::uint16_t packetId, Completion done)
{
    post([clientId, packetId](StoreDb &db) { return db.removeInboundQos2(clientId, packetId); },
         std::move(done));
}

QList<StoredInboundId> Store::loadInboundQos2(StorageStatus *status)
{
    return read<StoredInboundId>(
        status, [](StoreDb &db, QList<StoredInboundId> *out) { return db.inboundQos2(out); });
}

void Store::setRetained(const core::Message &message, Completion done)
{
    post([message](StoreDb &db) { return db.setRetained(message); }, std::move(done));
}

void Store::clearRetained(const QByteArray &topic, Completion done)
{
    post([topic](StoreDb &db) { return db.clearRetained(topic); }, std::move(done));
}

QList<core::Message> Store::loadRetained(std::int64_t nowMs, StorageStatus *status)
{
    return read<core::Message>(
        status, [&](StoreDb &db, QList<core::Message> *out) { return db.retained(nowMs, out); });
}

void Store::saveWill(const StoredWill &will, Completion done)
{
    post([will](StoreDb &db) { return db.saveWill(will); }, std::move(done));
}

void Store::deleteWill(const QByteArray &clientId, Completion done)
{
    post([clientId](StoreDb &db) { return db.deleteWill(clientId); }, std::move(done));
}

QList<StoredWill> Store::loadWills(StorageStatus *status)
{
    return read<StoredWill>(status,
                            [](StoreDb &db, QList<StoredWill> *out) { return db.wills(out); });
}

void Store::purgeExpired(std::int64_t nowMs, std::function<void(StorageStatus, PurgeResult)> done)
{
    auto result = std::make_shared<PurgeResult>();
    Writer *writer = m_writer.get();
    post(
        [nowMs, result, writer](StoreDb &db) {
            const StorageStatus s = db.purgeExpired(nowMs, result.get());
            if (s == StorageStatus::Ok && result->entries + result->retained > 0) {
                writer->countPurged(result->entries);
                qCInfo(lcStorage).nospace() << "event=purged_expired entries=" << result->entries
                                            << " retained=" << result->retained;
            }
            return s;
        },
        [result, done = std::move(done)](StorageStatus s) {
            if (done)
                done(s, s == StorageStatus::Ok ? *result : PurgeResult{});
        });
}

void Store::setDiskBudget(std::uint64_t bytes, Completion done)
{
    m_options.maxDiskBytes = bytes;
    const std::uint64_t reserve = m_options.reserveBytes;
    post([bytes, reserve](StoreDb &db) { return db.setBudget(bytes, reserve); }, std::move(done));
}

StorageStatus Store::flush()
{
    Q_ASSERT(QThread::currentThread() == thread());
    return m_writer->call([](StoreDb &) { return StorageStatus::Ok; });
}

StoreStats Store::stats() const
{
    return m_writer->stats();
}

} // namespace ferry::storage
