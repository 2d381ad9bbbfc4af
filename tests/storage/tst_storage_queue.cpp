// Durable queues: order, one stored body per fan-out, acknowledgement, entry state across a
// reopen, expiry, and the group-commit contract (completion only after COMMIT, one
// transaction for everything queued meanwhile).
#include "StoreTestUtil.h"

#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

using namespace ferry;
using namespace ferry::storage;
using namespace ferry::storage::test;

namespace {

// Counts rows with a separate connection: what another process would see on disk.
qint64 countOnDisk(const QString &path, const char *sql)
{
    sqlite3 *db = nullptr;
    qint64 n = -1;
    if (sqlite3_open_v2(path.toUtf8().constData(), &db, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
        sqlite3_stmt *st = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

} // namespace

class TestStorageQueue : public QObject {
    Q_OBJECT
private slots:
    void appendLoadInOrder();
    void completionOnlyAfterCommit();
    void groupCommitOneTransactionForQueuedWrites();
    void fanOutStoresBodyOnce();
    void removeDeletesBodyWithLastReference();
    void entryStateAndSeqSurviveReopen();
    void propertiesRoundTrip_data();
    void propertiesRoundTrip();
    void expiredQueuedEntriesHiddenAndPurged_MQTT_3_3_2_5();
    void periodicPurgeRunsByItself();
    void dropQueueRemovesEntries();
    void unknownQueueIsRefused();
    void removeMissingEntryIsNotFound();
    void stateAndRemoveBeforeTheWriteAreFolded();
};

void TestStorageQueue::appendLoadInOrder()
{
    QTemporaryDir dir;
    auto store = mustOpen(options(dir.filePath("a.db")));
    QVERIFY(store);
    const auto q = store->queueId("mqtt/session/c1", QueueKind::MqttSession);
    QVERIFY(q != 0);
    Recorder r;
    QList<std::uint64_t> seqs;
    for (int i = 0; i < 50; ++i)
        seqs.append(
            store->append(q, message("t/" + QByteArray::number(i), "p" + QByteArray::number(i)),
                          EntryMeta{1, false, "tag" + QByteArray::number(i)}, r.add()));
    QVERIFY(r.waitFor(50));
    QCOMPARE(r.count(StorageStatus::Ok), 50);
    for (int i = 1; i < seqs.size(); ++i)
        QVERIFY(seqs[i] > seqs[i - 1]);
    const QList<StoredEntry> entries = store->load(q, 0);
    QCOMPARE(entries.size(), 50);
    for (int i = 0; i < 50; ++i) {
        QCOMPARE(entries[i].seq, seqs[i]);
        QCOMPARE(entries[i].message.topic(), "t/" + QByteArray::number(i));
        QCOMPARE(entries[i].message.payload(), "p" + QByteArray::number(i));
        QCOMPARE(entries[i].meta.tag, "tag" + QByteArray::number(i));
        QCOMPARE(entries[i].state, EntryState::Queued);
    }
}

void TestStorageQueue::completionOnlyAfterCommit()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("c.db");
    auto store = mustOpen(options(path, SyncMode::Full));
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::BridgeOutbox);
    QList<qint64> seenOnDisk;
    for (int i = 0; i < 20; ++i)
        store->append(q, message("t", QByteArray::number(i)), {}, [&](StorageStatus s) {
            QCOMPARE(s, StorageStatus::Ok);
            // Another connection sees the row when the completion runs: it was committed.
            seenOnDisk.append(countOnDisk(path, "SELECT COUNT(*) FROM queue_entries"));
        });
    QDeadlineTimer deadline(30000);
    while (seenOnDisk.size() < 20 && !deadline.hasExpired())
        QTest::qWait(2);
    QCOMPARE(seenOnDisk.size(), 20);
    for (int i = 0; i < 20; ++i)
        QVERIFY2(seenOnDisk[i] >= i + 1, qPrintable(QString::number(seenOnDisk[i])));
}

void TestStorageQueue::groupCommitOneTransactionForQueuedWrites()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("g.db");
    StoreOptions o = options(path, SyncMode::Full);
    o.busyTimeoutMs = 60000;
    auto store = mustOpen(o);
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::MqttSession);
    QCOMPARE(store->flush(), StorageStatus::Ok); // the queue's row, written ahead
    const StoreStats before = store->stats();

    // Hold SQLite's write lock from another connection so the writer cannot begin; everything
    // appended meanwhile must then go into one transaction.
    sqlite3 *other = nullptr;
    QCOMPARE(sqlite3_open(path.toUtf8().constData(), &other), SQLITE_OK);
    QCOMPARE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    Recorder r;
    const int n = 1000;
    store->append(q, message("t", "first"), {}, r.add()); // may start a batch of its own
    for (int i = 1; i < n; ++i)
        store->append(q, message("t", QByteArray::number(i)), {}, r.add());
    QTest::qWait(50);
    QCOMPARE(r.statuses.size(), 0); // nothing acknowledged while nothing could be committed
    QCOMPARE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(other);

    QVERIFY(r.waitFor(n));
    QCOMPARE(r.count(StorageStatus::Ok), n);
    const StoreStats after = store->stats();
    QCOMPARE(after.operations - before.operations, std::uint64_t(n));
    QVERIFY2(after.batches - before.batches <= 2,
             qPrintable(QString::number(after.batches - before.batches)));
    // At most two transactions: whatever the writer took before it blocked, and the rest.
    QVERIFY(after.maxBatchSize >= std::uint64_t(n / 2));
    QCOMPARE(after.entryRows, std::uint64_t(n));
}

void TestStorageQueue::fanOutStoresBodyOnce()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("f.db");
    auto store = mustOpen(options(path));
    QVERIFY(store);
    QList<QueueTarget> targets;
    for (int i = 0; i < 5; ++i)
        targets.append({store->queueId("s" + QByteArray::number(i), QueueKind::MqttSession),
                        EntryMeta{std::uint8_t(i % 3), i == 0, {}}});
    Recorder r;
    const auto seqs =
        store->appendMany(targets, message("fan/out", QByteArray(1000, 'x')), r.add());
    QCOMPARE(seqs.size(), 5);
    QVERIFY(r.waitFor(1));
    QCOMPARE(r.statuses.first(), StorageStatus::Ok);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM messages"), 1);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM queue_entries"), 5);
    QCOMPARE(store->stats().messageRows, 1u);
    for (int i = 0; i < 5; ++i) {
        const auto entries = store->load(targets[i].queueId, 0);
        QCOMPARE(entries.size(), 1);
        QCOMPARE(entries[0].meta.qos, std::uint8_t(i % 3));
        QCOMPARE(entries[0].meta.retain, i == 0);
        QCOMPARE(entries[0].message.payload(), QByteArray(1000, 'x'));
    }
}

void TestStorageQueue::stateAndRemoveBeforeTheWriteAreFolded()
{
    // Calls made in the same event-loop turn as the append reach the writer together with it
    // (the writer is woken at the end of the turn): a state change goes into the INSERT, a
    // remove means the entry is never written, and the body counts only written entries.
    QTemporaryDir dir;
    const QString path = dir.filePath("fold.db");
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto a = store->queueId("a", QueueKind::MqttSession);
    const auto b = store->queueId("b", QueueKind::MqttSession);
    const auto c = store->queueId("c", QueueKind::MqttSession);
    QVERIFY(store->flush() == StorageStatus::Ok);   // the queue rows, out of the way
    const StoreStats before = store->stats();
    Recorder r;
    const auto seqs = store->appendMany({{a, {}}, {b, {}}, {c, {}}}, message("t", "body"), r.add());
    store->setEntryState(a, seqs[0], EntryState::Inflight, 7, r.add());
    store->remove(b, seqs[1], {});
    QVERIFY(r.waitFor(2));
    QCOMPARE(r.statuses, (QList<StorageStatus>{StorageStatus::Ok, StorageStatus::Ok}));
    // One INSERT operation and the completion-only step for the state: no UPDATE, no DELETE.
    QCOMPARE(store->stats().operations - before.operations, 2u);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM queue_entries"), 2);
    QCOMPARE(countOnDisk(path, "SELECT refs FROM messages"), 2);
    const auto entries = store->load(a, 0);
    QCOMPARE(entries.size(), 1);
    QCOMPARE(entries[0].state, EntryState::Inflight);
    QCOMPARE(entries[0].packetId, std::uint16_t(7));
    QCOMPARE(store->load(b, 0).size(), 0);
    QCOMPARE(store->load(c, 0).size(), 1);
    QCOMPARE(store->load(c, 0)[0].state, EntryState::Queued);
    // Once written, the same calls are real statements.
    store->setEntryState(c, seqs[2], EntryState::Released, 9, r.add());
    store->remove(a, seqs[0], r.add());
    QVERIFY(r.waitFor(4));
    QCOMPARE(store->load(c, 0)[0].state, EntryState::Released);
    store->remove(c, seqs[2], r.add());
    QVERIFY(r.waitFor(5));
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM messages"), 0);   // no leaked body
    QCOMPARE(store->stats().entryRows, 0u);
}

void TestStorageQueue::removeDeletesBodyWithLastReference()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("r.db");
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto a = store->queueId("a", QueueKind::MqttSession);
    const auto b = store->queueId("b", QueueKind::MqttSession);
    Recorder r;
    const auto seqs = store->appendMany({{a, {}}, {b, {}}}, message("t", "body"), r.add());
    QVERIFY(r.waitFor(1)); // written as one shared body (a removal before would fold into it)
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM messages"), 1);
    store->remove(a, seqs[0], r.add());
    QVERIFY(r.waitFor(2));
    QCOMPARE(r.statuses, (QList<StorageStatus>{StorageStatus::Ok, StorageStatus::Ok}));
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM messages"), 1); // b still holds it
    store->remove(b, seqs[1], r.add());
    QVERIFY(r.waitFor(3));
    QCOMPARE(r.statuses[2], StorageStatus::Ok);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM messages"), 0);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM queue_entries"), 0);
    QCOMPARE(store->stats().messageRows, 0u);
    QCOMPARE(store->stats().entryRows, 0u);
}

void TestStorageQueue::entryStateAndSeqSurviveReopen()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("s.db");
    std::uint64_t q = 0, s1 = 0, s2 = 0, s3 = 0;
    {
        auto store = mustOpen(options(path));
        QVERIFY(store);
        q = store->queueId("mqtt/session/c", QueueKind::MqttSession);
        Recorder r;
        s1 = store->append(q, message("t", "1", 2), {2, false, {}}, r.add());
        s2 = store->append(q, message("t", "2", 2), {2, false, {}}, r.add());
        s3 = store->append(q, message("t", "3", 1), {1, false, {}}, r.add());
        store->setEntryState(q, s1, EntryState::Released, 7, r.add());
        store->setEntryState(q, s2, EntryState::Inflight, 8, r.add());
        QVERIFY(r.waitFor(5));
        QCOMPARE(r.count(StorageStatus::Ok), 5);
    }
    auto store = mustOpen(options(path));
    QVERIFY(store);
    QCOMPARE(store->queueId("mqtt/session/c", QueueKind::MqttSession), q);
    const auto entries = store->load(q, 0);
    QCOMPARE(entries.size(), 3);
    QCOMPARE(entries[0].seq, s1);
    QCOMPARE(entries[0].state, EntryState::Released);
    QCOMPARE(entries[0].packetId, std::uint16_t(7));
    QCOMPARE(entries[1].state, EntryState::Inflight);
    QCOMPARE(entries[1].packetId, std::uint16_t(8));
    QCOMPARE(entries[2].seq, s3);
    QCOMPARE(entries[2].state, EntryState::Queued);
    // Seqs continue after the highest stored one, never reusing an acknowledged number.
    Recorder r;
    const auto s4 = store->append(q, message("t", "4"), {}, r.add());
    QVERIFY(s4 > s3);
    QVERIFY(r.waitFor(1));
}

void TestStorageQueue::propertiesRoundTrip_data()
{
    // One queue: the body is stored inside the entry row; two: once, in messages, shared.
    QTest::addColumn<int>("queues");
    QTest::newRow("body in the entry") << 1;
    QTest::newRow("shared body") << 2;
}

void TestStorageQueue::propertiesRoundTrip()
{
    QFETCH(int, queues);
    QTemporaryDir dir;
    const QString path = dir.filePath("p.db");
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::AmqpQueue);
    const auto other = store->queueId("other", QueueKind::AmqpQueue);
    core::Message m = message("prop/t", QByteArray("\x00\x01\xff", 3), 2, 4102444800000);
    core::MessageData &d = m.edit();
    d.retain = true;
    d.payloadFormat = 1;
    d.contentType = QByteArray(""); // present but empty: MQTT 5 allows it
    d.responseTopic = QByteArray("reply/here");
    d.correlationData = QByteArray("\x00corr", 5);
    d.userProperties = {{"k1", "v1"}, {"k1", "v2"}, {"", ""}};
    d.originClientId = "dev-1";
    d.originUsername = "alice";
    d.originPeerHost = "127.0.0.1";
    Recorder r;
    // The delivery's QoS and retain flag (the entry's) differ from the message's own.
    QList<QueueTarget> targets{{q, EntryMeta{1, false, "tag"}}};
    if (queues == 2)
        targets.append({other, EntryMeta{0, false, {}}});
    store->appendMany(targets, m, r.add());
    QVERIFY(r.waitFor(1));
    QCOMPARE(r.statuses[0], StorageStatus::Ok);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM messages"), queues == 1 ? 0 : 1);
    const auto entries = store->load(q, 0);
    QCOMPARE(entries.size(), 1);
    QCOMPARE(entries[0].meta.qos, std::uint8_t(1));
    QCOMPARE(entries[0].meta.retain, false);
    QCOMPARE(entries[0].meta.tag, QByteArray("tag"));
    QCOMPARE(store->loadAll(0).value(q).size(), 1);
    const core::MessageData &g = entries[0].message.data();
    QCOMPARE(g.topic, QByteArray("prop/t"));
    QCOMPARE(g.payload, QByteArray("\x00\x01\xff", 3));
    QCOMPARE(g.qos, std::uint8_t(2));
    QCOMPARE(g.retain, true);
    QCOMPARE(g.timestampMs, std::int64_t(1700000000000));
    QCOMPARE(g.expiresAtMs, std::int64_t(4102444800000));
    QCOMPARE(g.payloadFormat, std::optional<std::uint8_t>(1));
    QVERIFY(g.contentType.has_value());
    QVERIFY(g.contentType->isEmpty());
    QCOMPARE(*g.responseTopic, QByteArray("reply/here"));
    QCOMPARE(*g.correlationData, QByteArray("\x00corr", 5));
    QCOMPARE(g.userProperties.size(), 3);
    QCOMPARE(g.userProperties[1].second, QByteArray("v2"));
    QCOMPARE(g.originClientId, QByteArray("dev-1"));
    QCOMPARE(g.originUsername, QByteArray("alice"));
    QCOMPARE(g.originPeerHost, QByteArray("127.0.0.1"));
}

void TestStorageQueue::expiredQueuedEntriesHiddenAndPurged_MQTT_3_3_2_5()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("e.db");
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::MqttSession);
    Recorder r;
    const auto fresh = store->append(q, message("t", "fresh", 1, 0), {}, r.add());
    const auto stale = store->append(q, message("t", "stale", 1, 1000), {}, r.add());
    const auto flying = store->append(q, message("t", "flying", 1, 1000), {}, r.add());
    const auto later = store->append(q, message("t", "later", 1, 5000), {}, r.add());
    // Onward delivery of `flying` started: it must not expire any more.
    store->setEntryState(q, flying, EntryState::Inflight, 3, r.add());
    QVERIFY(r.waitFor(5));
    QCOMPARE(r.count(StorageStatus::Ok), 5);

    auto seqsAt = [&](std::int64_t now) {
        QList<std::uint64_t> out;
        for (const auto &e : store->load(q, now))
            out.append(e.seq);
        return out;
    };
    QCOMPARE(seqsAt(999), (QList<std::uint64_t>{fresh, stale, flying, later}));
    QCOMPARE(seqsAt(1000), (QList<std::uint64_t>{fresh, flying, later}));

    bool purged = false;
    PurgeResult result;
    store->purgeExpired(1000, [&](StorageStatus s, PurgeResult pr) {
        QCOMPARE(s, StorageStatus::Ok);
        result = pr;
        purged = true;
    });
    QTRY_VERIFY(purged);
    QCOMPARE(result.entries, 1u);
    QCOMPARE(store->stats().purgedEntries, 1u);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM queue_entries"), 3);
    // One queue: the bodies are inside the entry rows, and the stale one went with its entry.
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM queue_entries WHERE payload = 'stale'"), 0);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM messages"), 0);
    // Even far later, the one whose delivery started stays (until acknowledged).
    QCOMPARE(seqsAt(10000), (QList<std::uint64_t>{fresh, flying}));
}

void TestStorageQueue::periodicPurgeRunsByItself()
{
    QTemporaryDir dir;
    StoreOptions o = options(dir.filePath("pp.db"));
    o.purgeIntervalMs = 20;
    auto store = mustOpen(o);
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::MqttSession);
    Recorder r;
    store->append(q, message("t", "expired long ago", 1, 1), {}, r.add());
    store->append(q, message("t", "never expires", 1, 0), {}, r.add());
    QVERIFY(r.waitFor(2));
    QTRY_COMPARE(store->stats().purgedEntries, 1u);
    QCOMPARE(store->stats().entryRows, 1u);
    QCOMPARE(store->stats().messageRows, 0u); // one queue each: bodies inside the entries
}

void TestStorageQueue::dropQueueRemovesEntries()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("d.db");
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto a = store->queueId("a", QueueKind::MqttSession);
    const auto b = store->queueId("b", QueueKind::MqttSession);
    Recorder r;
    store->appendMany({{a, {}}, {b, {}}}, message("t", "shared"), r.add());
    store->append(a, message("t", "only-a"), {}, r.add());
    store->dropQueue(a, r.add());
    QVERIFY(r.waitFor(3));
    QCOMPARE(r.count(StorageStatus::Ok), 3);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM queues"), 1);
    QCOMPARE(countOnDisk(path, "SELECT COUNT(*) FROM messages"), 1);
    QCOMPARE(store->load(b, 0).size(), 1);
    const auto infos = store->queues();
    QCOMPARE(infos.size(), 1);
    QCOMPARE(infos[0].name, QByteArray("b"));
    QCOMPARE(infos[0].entries, 1u);
    QCOMPARE(infos[0].bytes, std::uint64_t(1 + 6)); // topic "t" + payload "shared"
}

void TestStorageQueue::unknownQueueIsRefused()
{
    QTemporaryDir dir;
    auto store = mustOpen(options(dir.filePath("u.db")));
    QVERIFY(store);
    Recorder r;
    QCOMPARE(store->append(12345, message("t", "x"), {}, r.add()), 0u);
    QVERIFY(r.statuses.isEmpty()); // never called back from inside the call
    QVERIFY(r.waitFor(1));
    QCOMPARE(r.statuses.first(), StorageStatus::NotFound);
    StorageStatus st = StorageStatus::Ok;
    store->queueId("k", QueueKind::MqttSession);
    QCOMPARE(store->queueId("k", QueueKind::BridgeOutbox, &st), 0u);
    QCOMPARE(st, StorageStatus::Error);
}

void TestStorageQueue::removeMissingEntryIsNotFound()
{
    QTemporaryDir dir;
    auto store = mustOpen(options(dir.filePath("m.db")));
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::MqttSession);
    Recorder r;
    store->remove(q, 99, r.add());
    store->setEntryState(q, 99, EntryState::Inflight, 1, r.add());
    QVERIFY(r.waitFor(2));
    QCOMPARE(r.statuses, (QList<StorageStatus>{StorageStatus::NotFound, StorageStatus::NotFound}));
    QCOMPARE(store->stats().failures, 0u);
}

QTEST_GUILESS_MAIN(TestStorageQueue)
#include "tst_storage_queue.moc"
