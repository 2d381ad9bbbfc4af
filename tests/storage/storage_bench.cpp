// storage_bench: appends/s through Store with sync normal/full and different numbers of writes
// in flight (what group commit can batch), acknowledgement cycles, fan-out, restart time, and
// bytes written per message. Not a test (it measures time); run by hand:
//   storage_bench [--seconds S] [--dir D]
#include "storage/Store.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>

#include <cstdio>

using namespace ferry;
using namespace ferry::storage;

namespace {

double g_seconds = 2.0;
QString g_dir;

qint64 writeBytes()
{
    QFile f(QStringLiteral("/proc/self/io"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("write_bytes:"))
            return line.mid(12).trimmed().toLongLong();
    return -1;
}

std::unique_ptr<Store> openStore(const QString &path, SyncMode sync)
{
    StoreOptions o;
    o.path = path;
    o.sync = sync;
    OpenError err;
    auto s = Store::open(o, &err);
    if (!s)
        std::fprintf(stderr, "%s\n", qPrintable(err.message));
    return s;
}

core::Message msg(int n, int size = 256)
{
    core::Message m("bench/topic/" + QByteArray::number(n % 100), QByteArray(size, 'p'), 1);
    m.edit().timestampMs = 1700000000000 + n;
    return m;
}

// Keeps `window` appends outstanding (a publisher's in-flight window) for g_seconds; when
// `ack` is set, each completion also removes the entry again (publish then acknowledge).
// `fanout` > 1: every message goes to that many queues at once (appendMany); `spread` > 1:
// each message goes to one of that many queues in turn (many offline sessions receiving).
void appendRun(const char *label, SyncMode sync, int window, int fanout, bool ack, int spread = 1)
{
    QTemporaryDir tmp(g_dir + "/bench-XXXXXX");
    auto store = openStore(tmp.filePath("b.db"), sync);
    if (!store)
        return;
    QList<QueueTarget> targets;
    for (int i = 0; i < fanout; ++i)
        targets.append({store->queueId("q" + QByteArray::number(i), QueueKind::MqttSession),
                        EntryMeta{1, false, {}}});
    QList<std::uint64_t> spreadQueues;
    for (int i = 0; i < spread; ++i)
        spreadQueues.append(store->queueId("s" + QByteArray::number(i), QueueKind::MqttSession));
    qint64 done = 0, issued = 0, failed = 0;
    const qint64 bytesBefore = writeBytes();
    QElapsedTimer t;
    t.start();
    const qint64 limitMs = qint64(g_seconds * 1000);
    std::function<void()> issue = [&] {
        while (issued - done < window && t.elapsed() < limitMs) {
            if (spread > 1)
                targets[0].queueId = spreadQueues[int(issued % spread)];
            const auto seqs =
                store->appendMany(targets, msg(int(issued)), [&, targets](StorageStatus s) {
                    ++done;
                    if (s != StorageStatus::Ok)
                        ++failed;
                });
            ++issued;
            if (ack)
                for (int i = 0; i < targets.size(); ++i)
                    store->remove(targets[i].queueId, seqs[i], {});
        }
    };
    const StoreStats before = store->stats();
    while (t.elapsed() < limitMs || done < issued) {
        issue();
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    }
    store->flush();
    const double secs = t.elapsed() / 1000.0;
    const StoreStats s = store->stats();
    const qint64 bytes = writeBytes() - bytesBefore;
    const double batches = double(s.batches - before.batches);
    std::printf("%-28s sync=%-6s window=%-5d %9.0f msg/s  avg_batch=%7.1f  bytes/msg=%6.0f%s\n",
                label, sync == SyncMode::Full ? "full" : "normal", window, done / secs,
                batches ? double(s.operations - before.operations) / batches : 0.0,
                done ? double(bytes) / double(done) : 0.0, failed ? "  FAILURES" : "");
    std::fflush(stdout);
}

void restartRun(int queues, int perQueue)
{
    QTemporaryDir tmp(g_dir + "/bench-XXXXXX");
    const QString path = tmp.filePath("r.db");
    {
        auto store = openStore(path, SyncMode::Normal);
        if (!store)
            return;
        for (int q = 0; q < queues; ++q) {
            const auto id =
                store->queueId("mqtt/session/" + QByteArray::number(q), QueueKind::MqttSession);
            store->saveSession({"client-" + QByteArray::number(q), 3600, 1700000000000, 5, {}}, {});
            for (int i = 0; i < perQueue; ++i)
                store->append(id, msg(i), {1, false, {}}, {});
        }
        store->flush();
    }
    QElapsedTimer t;
    t.start();
    auto store = openStore(path, SyncMode::Normal);
    const qint64 openMs = t.elapsed();
    qint64 entries = 0;
    const auto sessions = store->loadSessions();
    // As ferryd restores (StorePersistence::load): every queue in one pass.
    for (const QList<StoredEntry> &queue : store->loadAll(0))
        entries += queue.size();
    std::printf("restart: %d sessions, %lld queued entries: open %lld ms (with quick_check), "
                "open+load %lld ms, file %lld bytes\n",
                int(sessions.size()), entries, openMs, qint64(t.elapsed()),
                qint64(QFile(path).size()));
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    g_dir = QDir::tempPath();
    for (int i = 1; i + 1 < args.size(); ++i) {
        if (args[i] == "--seconds")
            g_seconds = args[i + 1].toDouble();
        else if (args[i] == "--dir")
            g_dir = args[i + 1];
    }
    std::printf("storage_bench: 256-byte payloads, %.1f s per row, dir %s\n", g_seconds,
                qPrintable(g_dir));
    for (SyncMode sync : {SyncMode::Normal, SyncMode::Full})
        for (int window : {1, 10, 100, 1000})
            appendRun("append (offline queue)", sync, window, 1, false);
    for (SyncMode sync : {SyncMode::Normal, SyncMode::Full}) {
        appendRun("append+remove (ack cycle)", sync, 100, 1, true);
        appendRun("appendMany fan-out 10", sync, 100, 10, false);
        appendRun("append over 100 queues", sync, 100, 1, false, 100);
    }
    restartRun(1000, 100);
    return 0;
}
