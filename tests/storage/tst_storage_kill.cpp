// kill -9 in the middle of a stream: every write whose completion was reported before the kill
// is in the database after it, in order, with its state. A child process (storage_child)
// writes through Store and prints each seq once its completion arrived; we SIGKILL it at an
// arbitrary point, reopen, and compare. This proves the group-commit contract without the
// broker (Ok is only reported after COMMIT).
#include "StoreTestUtil.h"

#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

using namespace ferry;
using namespace ferry::storage;
using namespace ferry::storage::test;

class TestStorageKill : public QObject {
    Q_OBJECT
private slots:
    void acknowledgedWritesSurviveSigkill_data();
    void acknowledgedWritesSurviveSigkill();
};

void TestStorageKill::acknowledgedWritesSurviveSigkill_data()
{
    QTest::addColumn<QString>("sync");
    QTest::addColumn<int>("killAfterAcks");
    QTest::newRow("full") << "full" << 3000;
    QTest::newRow("normal") << "normal" << 20000;
}

void TestStorageKill::acknowledgedWritesSurviveSigkill()
{
    QFETCH(QString, sync);
    QFETCH(int, killAfterAcks);
    QTemporaryDir dir;
    const QString path = dir.filePath("kill.db");

    QProcess child;
    child.setProcessChannelMode(QProcess::SeparateChannels);
    child.start(QStringLiteral(STORAGE_CHILD_PATH), {"write", path, sync});
    QVERIFY2(child.waitForStarted(), qPrintable(child.errorString()));

    QList<std::uint64_t> acked;
    QSet<std::uint64_t> released;
    QByteArray pending;
    auto consume = [&] {
        pending += child.readAllStandardOutput();
        qsizetype nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
            const QByteArray line = pending.left(nl);
            pending.remove(0, nl + 1);
            const QList<QByteArray> parts = line.split(' ');
            QVERIFY2(parts.size() == 2, line.constData());
            if (parts[0] == "ack")
                acked.append(parts[1].toULongLong());
            else if (parts[0] == "rel")
                released.insert(parts[1].toULongLong());
            else
                QFAIL(line.constData()); // "fail <seq> <status>": a write failed
        }
    };
    QDeadlineTimer deadline(120000);
    while (acked.size() < killAfterAcks && !deadline.hasExpired() &&
           child.state() == QProcess::Running) {
        child.waitForReadyRead(1000);
        consume();
        if (QTest::currentTestFailed())
            return;
    }
    QVERIFY2(acked.size() >= killAfterAcks, child.readAllStandardError().constData());
    child.kill(); // SIGKILL: no destructor, no final commit, no flush
    QVERIFY(child.waitForFinished(30000));
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);
    consume(); // lines the child wrote before it died are still in the pipe
    if (QTest::currentTestFailed())
        return;
    // Acknowledgements arrive in seq order.
    for (int i = 1; i < acked.size(); ++i)
        QCOMPARE(acked[i], acked[i - 1] + 1);

    auto store = mustOpen(options(path));
    QVERIFY(store);
    const std::uint64_t q = store->queueId("kill", QueueKind::MqttSession);
    const QList<StoredEntry> entries = store->load(q, 0);
    qInfo("sync=%s acknowledged=%lld stored=%lld released=%lld", qPrintable(sync),
          qint64(acked.size()), qint64(entries.size()), qint64(released.size()));
    // Batches commit in order, so what is stored is exactly seqs 1..N with N >= last ack.
    QVERIFY(entries.size() >= acked.size());
    for (int i = 0; i < entries.size(); ++i) {
        const StoredEntry &e = entries[i];
        QCOMPARE(e.seq, std::uint64_t(i + 1));
        QCOMPARE(e.message.payload(), "m" + QByteArray::number(qulonglong(e.seq)));
        QCOMPARE(e.message.qos(), std::uint8_t(2));
        if (released.contains(e.seq)) {
            QCOMPARE(e.state, EntryState::Released);
            QCOMPARE(e.packetId, std::uint16_t(e.seq % 65536));
        }
    }
    QCOMPARE(entries.last().seq >= acked.last(), true);
    // Every "rel" printed refers to an acknowledged entry that we checked above.
    for (std::uint64_t s : released)
        QVERIFY(s <= std::uint64_t(entries.size()));
}

QTEST_GUILESS_MAIN(TestStorageKill)
#include "tst_storage_kill.moc"
