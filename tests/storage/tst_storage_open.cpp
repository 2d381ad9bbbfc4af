// Opening: a new store is created with its directory; anything that is not our healthy,
// unlocked database is refused with a message naming the file and what to do, never a crash,
// and the file is left exactly as it was (never recreated empty over the user's data).
// Tests run as root, so permissions cannot stop us: what stops root is tested instead
// (a directory in place of the file, a file in place of the parent directory).
#include "StoreTestUtil.h"
#include "storage/Schema.h"

#include <QCryptographicHash>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <unistd.h>

using namespace ferry;
using namespace ferry::storage;
using namespace ferry::storage::test;

namespace {

QByteArray fileHash(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return "unreadable";
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
}

// A closed store holding `n` entries of 1 KiB (several pages), checkpointed into the main file.
bool makeStore(const QString &path, int n)
{
    auto store = mustOpen(options(path));
    if (!store)
        return false;
    const auto q = store->queueId("q", QueueKind::MqttSession);
    Recorder r;
    for (int i = 0; i < n; ++i)
        store->append(q, message("t", QByteArray(1024, char('a' + i % 26))), {}, r.add());
    return r.waitFor(n) && r.count(StorageStatus::Ok) == n;
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

// Opening must fail, say `expected`, name the file, and leave it byte for byte as it was.
void expectRefused(const QString &path, const QString &expected, StoreOptions o = {})
{
    o.path = path;
    const QByteArray before = fileHash(path);
    OpenError err;
    auto store = Store::open(o, &err);
    QVERIFY(!store);
    QVERIFY2(err.message.contains(path), qPrintable(err.message));
    QVERIFY2(err.message.contains(expected, Qt::CaseInsensitive), qPrintable(err.message));
    QCOMPARE(fileHash(path), before);
}

} // namespace

class TestStorageOpen : public QObject {
    Q_OBJECT
private slots:
    void createsDirectoryAndSchema();
    void garbageFileRefused();
    void textFileRefused();
    void truncatedFileRefused();
    void truncatedInsideHeaderRefused();
    void damagedPagesRefused();
    void damagedDataPagesRefused();
    void emptyFileWithWalRefused();
    void emptyFileIsNewStore();
    void directoryInPlaceOfFileRefused();
    void fileInPlaceOfDirectoryRefused();
    void secondFerryOnSameFileRefused();
    void sqliteLockByAnotherProcessRefused_data();
    void sqliteLockByAnotherProcessRefused();
    void newerSchemaRefused();
    void version1FileMigratedKeepingData();
    void version2QueuesMigratedInOrder();
};

void TestStorageOpen::createsDirectoryAndSchema()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("var/lib/ferry/ferry.db");
    {
        auto store = mustOpen(options(path));
        QVERIFY(store);
    }
    QVERIFY(QFile::exists(path));
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open_v2(path.toUtf8().constData(), &db, SQLITE_OPEN_READONLY, nullptr),
             SQLITE_OK);
    sqlite3_stmt *st = nullptr;
    QCOMPARE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
    QCOMPARE(sqlite3_step(st), SQLITE_ROW);
    QCOMPARE(sqlite3_column_int(st, 0), Schema::kCurrentVersion);
    sqlite3_finalize(st);
    QCOMPARE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    QCOMPARE(sqlite3_step(st), SQLITE_ROW);
    QCOMPARE(QByteArray(reinterpret_cast<const char *>(sqlite3_column_text(st, 0))),
             QByteArray("wal"));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

void TestStorageOpen::garbageFileRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("g.db");
    QByteArray junk;
    for (int i = 0; i < 8192; ++i)
        junk.append(char((i * 7919 + 13) & 0xff));
    QVERIFY(writeFile(path, junk));
    expectRefused(path, "not a SQLite database");
}

void TestStorageOpen::textFileRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("t.db");
    QVERIFY(writeFile(path, "[storage]\npath = \"oops\"\n"));
    expectRefused(path, "not a SQLite database");
}

void TestStorageOpen::truncatedFileRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("tr.db");
    QVERIFY(makeStore(path, 200));
    QFile f(path);
    const qint64 size = f.size();
    QVERIFY(size > 100 * 1024);
    QVERIFY(f.resize(size / 2));
    expectRefused(path, "truncated");
}

void TestStorageOpen::truncatedInsideHeaderRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("th.db");
    QVERIFY(makeStore(path, 1));
    QVERIFY(QFile(path).resize(60)); // the 16-byte magic survives, the header does not
    expectRefused(path, "truncated");
}

void TestStorageOpen::damagedPagesRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("dmg.db");
    QVERIFY(makeStore(path, 200));
    // Keep the header, scribble over the rest of the first pages (the schema's B-tree).
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadWrite));
    QVERIFY(f.seek(100));
    QVERIFY(f.write(QByteArray(3 * 4096, '\xA5')) == 3 * 4096);
    f.close();
    expectRefused(path, "damaged");
}

void TestStorageOpen::damagedDataPagesRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("dmg2.db");
    QVERIFY(makeStore(path, 200));
    // The header and schema survive; pages in the middle of the data do not. Only the
    // integrity check on open notices this before a write lands next to the damage.
    QFile f(path);
    const qint64 middle = (f.size() / 2 / 4096) * 4096;
    QVERIFY(f.open(QIODevice::ReadWrite));
    QVERIFY(f.seek(middle));
    QVERIFY(f.write(QByteArray(2 * 4096, '\x5A')) == 2 * 4096);
    f.close();
    expectRefused(path, "damaged");
}

void TestStorageOpen::emptyFileWithWalRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("e.db");
    QVERIFY(writeFile(path, QByteArray()));
    QVERIFY(writeFile(path + "-wal", QByteArray(4096, 'w')));
    expectRefused(path, "truncated");
}

void TestStorageOpen::emptyFileIsNewStore()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("empty.db");
    QVERIFY(writeFile(path, QByteArray()));
    auto store = mustOpen(options(path));
    QVERIFY(store);
}

void TestStorageOpen::directoryInPlaceOfFileRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("isdir.db");
    QVERIFY(QDir().mkpath(path));
    OpenError err;
    QVERIFY(!Store::open(options(path), &err));
    QVERIFY2(err.message.contains(path) && err.message.contains("is a directory"),
             qPrintable(err.message));
    QVERIFY(QFileInfo(path).isDir());
}

void TestStorageOpen::fileInPlaceOfDirectoryRefused()
{
    QTemporaryDir dir;
    QVERIFY(writeFile(dir.filePath("var"), "not a directory"));
    const QString path = dir.filePath("var/ferry.db");
    OpenError err;
    QVERIFY(!Store::open(options(path), &err));
    QVERIFY2(err.message.contains(path) && err.message.contains("cannot create the directory"),
             qPrintable(err.message));
}

void TestStorageOpen::secondFerryOnSameFileRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("two.db");
    auto first = mustOpen(options(path));
    QVERIFY(first);
    OpenError err;
    QVERIFY(!Store::open(options(path), &err));
    QVERIFY2(err.message.contains(path) && err.message.contains("in use by another ferryd") &&
                 err.message.contains(QString::number(::getpid())),
             qPrintable(err.message));
    first.reset(); // the lock goes with the store
    QVERIFY(mustOpen(options(path)));
}

void TestStorageOpen::sqliteLockByAnotherProcessRefused_data()
{
    QTest::addColumn<QString>("mode");
    QTest::newRow("exclusive (no readers)") << "lock";
    QTest::newRow("write lock (open sqlite3 shell)") << "writelock";
}

void TestStorageOpen::sqliteLockByAnotherProcessRefused()
{
    QFETCH(QString, mode);
    QTemporaryDir dir;
    const QString path = dir.filePath("locked.db");
    QVERIFY(makeStore(path, 3));
    QProcess holder;
    holder.start(QStringLiteral(STORAGE_CHILD_PATH), {mode, path});
    QVERIFY(holder.waitForStarted());
    QVERIFY(holder.waitForReadyRead(30000));
    QCOMPARE(holder.readLine().trimmed(), QByteArray("locked"));

    StoreOptions o;
    o.busyTimeoutMs = 100;
    expectRefused(path, "another process holds a lock", o);

    holder.closeWriteChannel(); // the holder releases its lock and exits
    QVERIFY(holder.waitForFinished(30000));
    QCOMPARE(holder.exitCode(), 0);
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto q = store->queueId("q", QueueKind::MqttSession);
    QCOMPARE(store->load(q, 0).size(), 3); // nothing lost meanwhile
}

void TestStorageOpen::newerSchemaRefused()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("new.db");
    QVERIFY(makeStore(path, 1));
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    expectRefused(path, "newer than this Ferry");
}

void TestStorageOpen::version1FileMigratedKeepingData()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("v1.db");
    // A file as the first release left it: schema version 1 and a retained message in it.
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
    QCOMPARE(Schema::migrate(db, 1), QString());
    QCOMPARE(sqlite3_exec(db,
                          "INSERT INTO messages VALUES(7, 'a/b', 'kept', 1, 1, 0, 0, x'', 1);"
                          "INSERT INTO retained VALUES('a/b', 7);",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);

    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto retained = store->loadRetained(0);
    QCOMPARE(retained.size(), 1);
    QCOMPARE(retained[0].payload(), QByteArray("kept"));
    Recorder r;
    store->addInboundQos2("c", 1, r.add()); // the table version 2 added
    QVERIFY(r.waitFor(1));
    QCOMPARE(r.statuses[0], StorageStatus::Ok);
    QCOMPARE(store->loadInboundQos2().size(), 1);
}

void TestStorageOpen::version2QueuesMigratedInOrder()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("v2.db");
    // Version 2 numbered entries per queue, (queue_id, seq); version 3 numbers them over all
    // queues. Two queues whose seqs overlap, one entry in flight, rows inserted out of order.
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
    QCOMPARE(Schema::migrate(db, 2), QString());
    QCOMPARE(sqlite3_exec(db,
                          "INSERT INTO queues VALUES(1, 'mqtt/session/a', 1), "
                          "(2, 'mqtt/session/b', 1);"
                          "INSERT INTO messages VALUES(10, 't', 'a1', 1, 0, 0, 0, x'', 1), "
                          "(11, 't', 'a2', 1, 0, 0, 0, x'', 1), (12, 't', 'b1', 1, 0, 0, 0, x'', 1), "
                          "(13, 't', 'b2', 2, 0, 0, 0, x'', 1);"
                          "INSERT INTO queue_entries VALUES(2, 2, 13, 0, 0, 2, 0, x'', 3, 0), "
                          "(1, 2, 11, 0, 0, 1, 0, x'', 3, 0), (2, 1, 12, 1, 7, 1, 0, x'', 3, 0), "
                          "(1, 1, 10, 0, 0, 1, 0, x'', 3, 0);",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);

    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto payloads = [](const QList<StoredEntry> &entries) {
        QList<QByteArray> out;
        for (const StoredEntry &e : entries)
            out.append(e.message.payload());
        return out;
    };
    const auto a = store->queueId("mqtt/session/a", QueueKind::MqttSession);
    const auto b = store->queueId("mqtt/session/b", QueueKind::MqttSession);
    QCOMPARE(payloads(store->load(a, 0)), (QList<QByteArray>{"a1", "a2"}));
    const QList<StoredEntry> bs = store->load(b, 0);
    QCOMPARE(payloads(bs), (QList<QByteArray>{"b1", "b2"}));
    QCOMPARE(bs[0].state, EntryState::Inflight);
    QCOMPARE(bs[0].packetId, std::uint16_t(7));
    QCOMPARE(bs[1].meta.qos, std::uint8_t(2));
    const auto all = store->loadAll(0);
    QCOMPARE(all.size(), 2);
    QCOMPARE(payloads(all.value(a)), (QList<QByteArray>{"a1", "a2"}));
    QCOMPARE(payloads(all.value(b)), (QList<QByteArray>{"b1", "b2"}));

    // New entries come after the migrated ones, and seqs stay unique across queues.
    Recorder r;
    const auto s3 = store->append(a, core::Message("t", "a3", 1), {1, false, {}}, r.add());
    QVERIFY(r.waitFor(1));
    QCOMPARE(r.statuses[0], StorageStatus::Ok);
    QVERIFY(s3 > bs[1].seq);
    QCOMPARE(payloads(store->load(a, 0)), (QList<QByteArray>{"a1", "a2", "a3"}));
    store->remove(b, bs[0].seq, r.add());
    QVERIFY(r.waitFor(2));
    QCOMPARE(r.statuses[1], StorageStatus::Ok);
    QCOMPARE(payloads(store->load(b, 0)), (QList<QByteArray>{"b2"}));
    QCOMPARE(payloads(store->load(a, 0)).size(), 3);
}

QTEST_GUILESS_MAIN(TestStorageOpen)
#include "tst_storage_open.moc"
