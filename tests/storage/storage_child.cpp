// Test helper for tst_storage_kill and tst_storage_open (not a test itself).
//
//   storage_child write <db> <full|normal|off>
//     Appends "m<seq>" to queue "kill" through Store, forever (bounded at kMaxAppends), and
//     prints "ack <seq>" as each completion arrives; every fifth acknowledged entry is then
//     marked Released (packet id = seq mod 65536) and "rel <seq>" printed after that commit.
//     Killed with SIGKILL by the test at an arbitrary point.
//   storage_child lock <db> | writelock <db>
//     Holds SQLite's exclusive lock (no readers) or write lock (readers allowed, as an open
//     sqlite3 shell in a transaction does) on <db> from this other process, prints "locked",
//     and keeps it until stdin closes.
#include "storage/Store.h"

#include <QCoreApplication>
#include <QTimer>

#include <sqlite3.h>

#include <cstdio>
#include <unistd.h>

using namespace ferry;
using namespace ferry::storage;

namespace {

constexpr std::uint64_t kMaxAppends = 2000000;
constexpr int kPerTick = 20;
// Like a broker's in-flight window: a producer that never waits would just grow the queue.
constexpr std::uint64_t kMaxOutstanding = 1000;

int holdLock(const char *path, bool exclusive)
{
    sqlite3 *db = nullptr;
    const char *sql = exclusive ? "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; "
                                  "SELECT count(*) FROM sqlite_schema;"
                                : "BEGIN IMMEDIATE";
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "cannot lock: %s\n", sqlite3_errmsg(db));
        return 2;
    }
    std::printf("locked\n");
    std::fflush(stdout);
    char buf[64];
    while (::read(0, buf, sizeof buf) > 0) {
    }
    sqlite3_close(db);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc == 3 && qstrcmp(argv[1], "lock") == 0)
        return holdLock(argv[2], true);
    if (argc == 3 && qstrcmp(argv[1], "writelock") == 0)
        return holdLock(argv[2], false);
    if (argc != 4 || qstrcmp(argv[1], "write") != 0) {
        std::fprintf(stderr, "usage: storage_child write <db> <full|normal|off> | lock <db> | "
                             "writelock <db>\n");
        return 2;
    }
    QCoreApplication app(argc, argv);
    StoreOptions o;
    o.path = QString::fromLocal8Bit(argv[2]);
    const QByteArray sync = argv[3];
    o.sync = sync == "full" ? SyncMode::Full : sync == "off" ? SyncMode::Off : SyncMode::Normal;
    OpenError err;
    auto store = Store::open(o, &err);
    if (!store) {
        std::fprintf(stderr, "%s\n", qPrintable(err.message));
        return 1;
    }
    const std::uint64_t q = store->queueId("kill", QueueKind::MqttSession);
    std::uint64_t appended = 0;
    std::uint64_t completed = 0;
    QTimer tick;
    QObject::connect(&tick, &QTimer::timeout, [&] {
        for (int i = 0;
             i < kPerTick && appended < kMaxAppends && appended - completed < kMaxOutstanding;
             ++i, ++appended) {
            auto seqHolder = std::make_shared<std::uint64_t>(0);
            const std::uint64_t seq = store->append(
                q, core::Message("kill/t", "m" + QByteArray::number(qulonglong(appended + 1)), 2),
                EntryMeta{2, false, {}}, [&, seqHolder](StorageStatus s) {
                    ++completed;
                    if (s != StorageStatus::Ok) {
                        std::printf("fail %llu %s\n", qulonglong(*seqHolder), statusName(s));
                        std::fflush(stdout);
                        return;
                    }
                    const std::uint64_t acked = *seqHolder;
                    std::printf("ack %llu\n", qulonglong(acked));
                    std::fflush(stdout);
                    if (acked % 5 == 0)
                        store->setEntryState(q, acked, EntryState::Released,
                                             std::uint16_t(acked % 65536),
                                             [acked](StorageStatus s) {
                                                 if (s == StorageStatus::Ok) {
                                                     std::printf("rel %llu\n", qulonglong(acked));
                                                     std::fflush(stdout);
                                                 }
                                             });
                });
            *seqHolder = seq;
        }
        if (appended >= kMaxAppends)
            tick.stop();
    });
    tick.start(0);
    return app.exec();
}
