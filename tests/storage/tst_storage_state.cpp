// Sessions, subscriptions, retained messages and delayed wills: save, replace, delete, reload
// after reopen; bodies shared by the message table are released with their last reference.
#include "StoreTestUtil.h"

#include <QTemporaryDir>
#include <QTest>

using namespace ferry;
using namespace ferry::storage;
using namespace ferry::storage::test;

class TestStorageState : public QObject {
    Q_OBJECT
private slots:
    void sessionsAndSubscriptionsSurviveReopen();
    void deleteSessionDeletesItsSubscriptions();
    void retainedReplacedAndDeletedByEmptyPayload_MQTT_3_3_1_6();
    void retainedExpiryHiddenAndPurged();
    void willsReplacedAndDeleted();
    void inboundQos2IdsSurviveReopen_MQTT_4_3_3_10();
};

void TestStorageState::sessionsAndSubscriptionsSurviveReopen()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("s.db");
    {
        auto store = mustOpen(options(path));
        QVERIFY(store);
        Recorder r;
        store->saveSession({"c1", 3600, 0, 5, "p1"}, r.add());
        store->saveSession({"c2", 0xFFFFFFFF, 1700000000123, 4, {}}, r.add());
        store->saveSession({"c1", 60, 1700000000999, 5, "p1b"}, r.add()); // replaces
        store->saveSubscription({"c1", "a/+/c", 0x21, 7}, r.add());
        store->saveSubscription({"c1", "$share/g/x/#", 0x01, 0}, r.add());
        store->saveSubscription({"c2", "z", 0x02, 0}, r.add());
        store->saveSubscription({"c1", "a/+/c", 0x22, 9}, r.add()); // replaces
        store->deleteSubscription("c2", "nope", r.add());
        QVERIFY(r.waitFor(8));
        QCOMPARE(r.count(StorageStatus::Ok), 7);
        QCOMPARE(r.statuses.last(), StorageStatus::NotFound);
    }
    auto store = mustOpen(options(path));
    QVERIFY(store);
    StorageStatus st = StorageStatus::Error;
    const auto sessions = store->loadSessions(&st);
    QCOMPARE(st, StorageStatus::Ok);
    QCOMPARE(sessions.size(), 2);
    QCOMPARE(sessions[0].clientId, QByteArray("c1"));
    QCOMPARE(sessions[0].expiryInterval, 60u);
    QCOMPARE(sessions[0].disconnectedAtMs, std::int64_t(1700000000999));
    QCOMPARE(sessions[0].protocolVersion, std::uint8_t(5));
    QCOMPARE(sessions[0].props, QByteArray("p1b"));
    QCOMPARE(sessions[1].clientId, QByteArray("c2"));
    QCOMPARE(sessions[1].expiryInterval, 0xFFFFFFFFu);
    const auto subs = store->loadSubscriptions();
    QCOMPARE(subs.size(), 3);
    QCOMPARE(subs[0].clientId, QByteArray("c1"));
    QCOMPARE(subs[0].filter, QByteArray("$share/g/x/#"));
    QCOMPARE(subs[1].filter, QByteArray("a/+/c"));
    QCOMPARE(subs[1].options, 0x22u);
    QCOMPARE(subs[1].subscriptionId, 9u);
    QCOMPARE(subs[2].clientId, QByteArray("c2"));
}

void TestStorageState::deleteSessionDeletesItsSubscriptions()
{
    QTemporaryDir dir;
    auto store = mustOpen(options(dir.filePath("d.db")));
    QVERIFY(store);
    Recorder r;
    store->saveSession({"c1", 10, 0, 5, {}}, r.add());
    store->saveSubscription({"c1", "a", 1, 0}, r.add());
    store->saveSubscription({"c1", "b", 1, 0}, r.add());
    store->saveSubscription({"other", "a", 1, 0}, r.add());
    store->deleteSession("c1", r.add());
    store->deleteSession("c1", r.add());
    QVERIFY(r.waitFor(6));
    QCOMPARE(r.count(StorageStatus::Ok), 5);
    QCOMPARE(r.statuses.last(), StorageStatus::NotFound);
    QVERIFY(store->loadSessions().isEmpty());
    const auto subs = store->loadSubscriptions();
    QCOMPARE(subs.size(), 1);
    QCOMPARE(subs[0].clientId, QByteArray("other"));
}

void TestStorageState::retainedReplacedAndDeletedByEmptyPayload_MQTT_3_3_1_6()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("r.db");
    {
        auto store = mustOpen(options(path));
        QVERIFY(store);
        Recorder r;
        core::Message a = message("home/temp", "20", 1);
        a.edit().retain = true;
        a.edit().contentType = QByteArray("text/plain");
        store->setRetained(a, r.add());
        store->setRetained(message("home/temp", "21", 0), r.add()); // replaces
        store->setRetained(message("home/hum", "55", 1), r.add());
        store->setRetained(message("home/door", "open", 1), r.add());
        store->setRetained(message("home/door", "", 1), r.add()); // deletes
        store->clearRetained("never/there", r.add());
        QVERIFY(r.waitFor(6));
        QCOMPARE(r.count(StorageStatus::Ok), 6);
        QCOMPARE(store->stats().messageRows, 2u); // old bodies released
    }
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto retained = store->loadRetained(0);
    QCOMPARE(retained.size(), 2);
    QCOMPARE(retained[0].topic(), QByteArray("home/hum"));
    QCOMPARE(retained[1].topic(), QByteArray("home/temp"));
    QCOMPARE(retained[1].payload(), QByteArray("21"));
    QVERIFY(!retained[1].data().contentType.has_value());
    QCOMPARE(store->stats().messageRows, 2u);
}

void TestStorageState::retainedExpiryHiddenAndPurged()
{
    QTemporaryDir dir;
    auto store = mustOpen(options(dir.filePath("x.db")));
    QVERIFY(store);
    Recorder r;
    store->setRetained(message("a", "keeps", 1, 0), r.add());
    store->setRetained(message("b", "expires", 1, 5000), r.add());
    QVERIFY(r.waitFor(2));
    QCOMPARE(store->loadRetained(4999).size(), 2);
    QCOMPARE(store->loadRetained(5000).size(), 1);
    PurgeResult result;
    bool done = false;
    store->purgeExpired(5000, [&](StorageStatus s, PurgeResult p) {
        QCOMPARE(s, StorageStatus::Ok);
        result = p;
        done = true;
    });
    QTRY_VERIFY(done);
    QCOMPARE(result.retained, 1u);
    QCOMPARE(result.entries, 0u);
    QCOMPARE(store->stats().messageRows, 1u);
    const auto left = store->loadRetained(0);
    QCOMPARE(left.size(), 1);
    QCOMPARE(left[0].payload(), QByteArray("keeps"));
}

void TestStorageState::willsReplacedAndDeleted()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("w.db");
    {
        auto store = mustOpen(options(path));
        QVERIFY(store);
        Recorder r;
        store->saveWill({"c1", message("last/c1", "gone", 1), 1700000060000}, r.add());
        store->saveWill({"c1", message("last/c1", "gone-2", 2), 1700000090000}, r.add());
        store->saveWill({"c2", message("last/c2", "bye", 0), 1700000070000}, r.add());
        store->saveWill({"c3", message("last/c3", "x", 0), 1}, r.add());
        store->deleteWill("c3", r.add());
        store->deleteWill("c3", r.add());
        QVERIFY(r.waitFor(6));
        QCOMPARE(r.count(StorageStatus::Ok), 5);
        QCOMPARE(r.statuses.last(), StorageStatus::NotFound);
    }
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto wills = store->loadWills();
    QCOMPARE(wills.size(), 2);
    QCOMPARE(wills[0].clientId, QByteArray("c1"));
    QCOMPARE(wills[0].message.payload(), QByteArray("gone-2"));
    QCOMPARE(wills[0].message.qos(), std::uint8_t(2));
    QCOMPARE(wills[0].publishAtMs, std::int64_t(1700000090000));
    QCOMPARE(wills[1].clientId, QByteArray("c2"));
    QCOMPARE(store->stats().messageRows, 2u);
}

void TestStorageState::inboundQos2IdsSurviveReopen_MQTT_4_3_3_10()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("in.db");
    {
        auto store = mustOpen(options(path));
        QVERIFY(store);
        Recorder r;
        store->addInboundQos2("c1", 10, r.add());
        store->addInboundQos2("c1", 11, r.add());
        store->addInboundQos2("c1", 10, r.add()); // a resent PUBLISH: still one id
        store->addInboundQos2("c2", 65535, r.add());
        store->addInboundQos2("gone", 1, r.add());
        store->removeInboundQos2("c1", 11, r.add()); // PUBREL arrived
        store->removeInboundQos2("c1", 11, r.add());
        store->deleteSession("gone", r.add()); // no session row, but its ids go
        QVERIFY(r.waitFor(8));
        QCOMPARE(r.count(StorageStatus::Ok), 7);
        QCOMPARE(r.statuses[6], StorageStatus::NotFound);
    }
    auto store = mustOpen(options(path));
    QVERIFY(store);
    const auto ids = store->loadInboundQos2();
    QCOMPARE(ids.size(), 2);
    QCOMPARE(ids[0].clientId, QByteArray("c1"));
    QCOMPARE(ids[0].packetId, std::uint16_t(10));
    QCOMPARE(ids[1].clientId, QByteArray("c2"));
    QCOMPARE(ids[1].packetId, std::uint16_t(65535));
}

QTEST_GUILESS_MAIN(TestStorageState)
#include "tst_storage_state.moc"
