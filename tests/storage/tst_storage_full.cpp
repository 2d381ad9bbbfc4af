// Disk full, provoked with the store's budget (PRAGMA max_page_count underneath): new writes
// complete with Full (the broker answers 0x97), nothing acknowledged is lost or damaged,
// deletes keep working, and writes succeed again once space returns - rows acknowledged or
// the budget raised - without reopening anything.
#include "StoreTestUtil.h"

#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

using namespace ferry;
using namespace ferry::storage;
using namespace ferry::storage::test;

namespace {

QByteArray payloadFor(std::uint64_t seq)
{
    return QByteArray::number(qulonglong(seq)).leftJustified(2048, '.');
}

// Appends in rounds of 20 until a round has a Full, bounded. Returns the seqs answered Ok.
QList<std::uint64_t> fillUntilFull(Store &store, std::uint64_t q, int *fullCount)
{
    QList<std::uint64_t> ok;
    *fullCount = 0;
    for (int round = 0; round < 500 && *fullCount == 0; ++round) {
        QList<std::uint64_t> seqs;
        Recorder r;
        for (int i = 0; i < 20; ++i) {
            seqs.append(store.append(q, message("full/t", QByteArray(2048, 'f')), {}, r.add()));
        }
        if (!r.waitFor(20))
            return {};
        for (int i = 0; i < 20; ++i) {
            if (r.statuses[i] == StorageStatus::Ok)
                ok.append(seqs[i]);
            else if (r.statuses[i] == StorageStatus::Full)
                ++*fullCount;
        }
    }
    return ok;
}

QByteArray integrityCheck(const QString &path)
{
    sqlite3 *db = nullptr;
    QByteArray verdict = "cannot open";
    if (sqlite3_open_v2(path.toUtf8().constData(), &db, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
        sqlite3_stmt *st = nullptr;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            verdict = reinterpret_cast<const char *>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return verdict;
}

} // namespace

class TestStorageFull : public QObject {
    Q_OBJECT
private slots:
    void budgetRefusesThenRecoversAfterDeletes();
    void raisingBudgetRecovers();
    void hardLimitFailsOnlyTheFailingWriteOfABatch();
    void foreignLockAtRunTimeIsBusyThenRecovers();
};

void TestStorageFull::budgetRefusesThenRecoversAfterDeletes()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("full.db");
    StoreOptions o = options(path);
    o.maxDiskBytes = 1024 * 1024;
    o.reserveBytes = 64 * 1024;
    auto store = mustOpen(o);
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::MqttSession);

    // Payloads are built from the seq so that we can verify every byte afterwards.
    QList<std::uint64_t> ok;
    int full = 0;
    for (int round = 0; round < 500 && full == 0; ++round) {
        Recorder r;
        QList<std::uint64_t> seqs;
        for (int i = 0; i < 20; ++i) {
            // The seq is known only after append returns: build the payload from the
            // queue's next seq, which append() hands out in order.
            const std::uint64_t expected =
                ok.isEmpty() && seqs.isEmpty() ? 1 : (seqs.isEmpty() ? ok.last() : seqs.last()) + 1;
            const auto seq = store->append(q, message("full/t", payloadFor(expected)), {}, r.add());
            QCOMPARE(seq, expected);
            seqs.append(seq);
        }
        QVERIFY(r.waitFor(20));
        for (int i = 0; i < 20; ++i) {
            if (r.statuses[i] == StorageStatus::Ok)
                ok.append(seqs[i]);
            else
                QCOMPARE(r.statuses[i], StorageStatus::Full);
        }
        full = r.count(StorageStatus::Full);
        // Refused seqs are never stored: later ones continue after them, so keep counting.
        if (full)
            ok.append(0); // marker, removed below
    }
    QVERIFY(full > 0);
    ok.removeAll(0);
    QVERIFY2(ok.size() > 100, qPrintable(QString::number(ok.size())));
    QVERIFY(store->stats().refusedFull >= std::uint64_t(full));
    QVERIFY(store->stats().usedBytes <= o.maxDiskBytes);

    // Nothing acknowledged is lost or damaged.
    auto entries = store->load(q, 0);
    QCOMPARE(entries.size(), ok.size());
    for (int i = 0; i < entries.size(); ++i) {
        QCOMPARE(entries[i].seq, ok[i]);
        QCOMPARE(entries[i].message.payload(), payloadFor(ok[i]));
    }
    QCOMPARE(integrityCheck(path), QByteArray("ok"));

    // Still full: another append is refused.
    Recorder r;
    store->append(q, message("full/t", payloadFor(0)), {}, r.add());
    QVERIFY(r.waitFor(1));
    QCOMPARE(r.statuses[0], StorageStatus::Full);

    // Deletes work while full; the space they free is used again.
    Recorder del;
    const int drained = int(ok.size() / 2);
    for (int i = 0; i < drained; ++i)
        store->remove(q, ok[i], del.add());
    QVERIFY(del.waitFor(drained));
    QCOMPARE(del.count(StorageStatus::Ok), drained);

    Recorder again;
    const auto seq = store->append(q, message("full/t", "back"), {}, again.add());
    QVERIFY(again.waitFor(1));
    QCOMPARE(again.statuses[0], StorageStatus::Ok);
    entries = store->load(q, 0);
    QCOMPARE(entries.size(), ok.size() - drained + 1);
    QCOMPARE(entries.last().seq, seq);
    QCOMPARE(integrityCheck(path), QByteArray("ok"));
}

void TestStorageFull::raisingBudgetRecovers()
{
    QTemporaryDir dir;
    StoreOptions o = options(dir.filePath("raise.db"));
    o.maxDiskBytes = 512 * 1024;
    o.reserveBytes = 32 * 1024;
    auto store = mustOpen(o);
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::BridgeOutbox);
    int full = 0;
    const auto ok = fillUntilFull(*store, q, &full);
    QVERIFY(full > 0);
    QVERIFY(!ok.isEmpty());

    Recorder r;
    store->setDiskBudget(4 * 1024 * 1024, r.add());
    store->append(q, message("t", QByteArray(2048, 'n')), {}, r.add());
    // Other kinds of new data obey the same budget and recover the same way.
    store->saveSession({"c", 10, 0, 5, {}}, r.add());
    QVERIFY(r.waitFor(3));
    QCOMPARE(r.statuses,
             (QList<StorageStatus>{StorageStatus::Ok, StorageStatus::Ok, StorageStatus::Ok}));
    QCOMPARE(store->stats().budgetBytes, std::uint64_t(4 * 1024 * 1024));
    QCOMPARE(store->load(q, 0).size(), ok.size() + 1);
}

void TestStorageFull::hardLimitFailsOnlyTheFailingWriteOfABatch()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("hard.db");
    StoreOptions o = options(path);
    o.maxDiskBytes = 256 * 1024;
    o.reserveBytes = 0; // no early refusal: SQLite itself hits max_page_count (SQLITE_FULL)
    auto store = mustOpen(o);
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::MqttSession);
    Recorder r;
    const auto small = store->append(q, message("t", "small"), {}, r.add());
    QVERIFY(r.waitFor(1));
    QCOMPARE(r.statuses[0], StorageStatus::Ok);

    // One batch (the writer is idle, and all three are queued before the event loop runs):
    // a write too big for the budget between a session save and a delete.
    Recorder batch;
    store->saveSession({"c", 10, 0, 5, {}}, batch.add());
    store->append(q, message("t", QByteArray(1024 * 1024, 'B')), {}, batch.add());
    store->remove(q, small, batch.add());
    QVERIFY(batch.waitFor(3));
    QCOMPARE(batch.statuses[1], StorageStatus::Full);
    // Whether or not the writer split them into batches, the others are unaffected.
    QCOMPARE(batch.statuses[0], StorageStatus::Ok);
    QCOMPARE(batch.statuses[2], StorageStatus::Ok);
    QCOMPARE(store->loadSessions().size(), 1);
    QVERIFY(store->load(q, 0).isEmpty());
    QCOMPARE(store->stats().messageRows, 0u);
    QCOMPARE(integrityCheck(path), QByteArray("ok"));
}

void TestStorageFull::foreignLockAtRunTimeIsBusyThenRecovers()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("busy.db");
    StoreOptions o = options(path);
    o.busyTimeoutMs = 50;
    {
        auto store = mustOpen(o);
        QVERIFY(store);
        // Someone opens the live database in a shell and starts a transaction, just before a
        // new queue is created: its row cannot be written either.
        sqlite3 *other = nullptr;
        QCOMPARE(sqlite3_open(path.toUtf8().constData(), &other), SQLITE_OK);
        QCOMPARE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
        const auto q = store->queueId("q", QueueKind::MqttSession);
        Recorder r;
        store->append(q, message("t", "while locked"), {}, r.add());
        QVERIFY(r.waitFor(1));
        QCOMPARE(r.statuses[0], StorageStatus::Busy);
        QCOMPARE(store->stats().failures, 2u); // the queue row and the entry
        QCOMPARE(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(other);
        store->append(q, message("t", "after"), {}, r.add());
        QVERIFY(r.waitFor(2));
        QCOMPARE(r.statuses[1], StorageStatus::Ok);
    }
    // The queue row came with the entry: after a restart the queue is found by its name.
    auto store = mustOpen(o);
    QVERIFY(store);
    const auto infos = store->queues();
    QCOMPARE(infos.size(), 1);
    QCOMPARE(infos[0].name, QByteArray("q"));
    const auto entries = store->load(store->queueId("q", QueueKind::MqttSession), 0);
    QCOMPARE(entries.size(), 1);
    QCOMPARE(entries[0].message.payload(), QByteArray("after"));
}

QTEST_GUILESS_MAIN(TestStorageFull)
#include "tst_storage_full.moc"
