// DeliveryCodec: the per-receiver part of a core::Delivery survives a store round trip, and
// its on-disk tag has the documented byte layout (written out by hand below).
#include "StoreTestUtil.h"
#include "storage/DeliveryCodec.h"

#include <QTemporaryDir>
#include <QTest>

using namespace ferry;
using namespace ferry::storage;
using namespace ferry::storage::test;

class TestStorageDelivery : public QObject {
    Q_OBJECT
private slots:
    void plainDeliveryHasEmptyTag();
    void tagBytes();
    void roundTripThroughStore();
    void malformedTagStillDelivers();
};

void TestStorageDelivery::plainDeliveryHasEmptyTag()
{
    core::Delivery d;
    d.message = message("t", "p");
    d.qos = 1;
    d.retain = true;
    const EntryMeta m = DeliveryCodec::meta(d);
    QCOMPARE(m.qos, std::uint8_t(1));
    QCOMPARE(m.retain, true);
    QVERIFY(m.tag.isEmpty());
}

void TestStorageDelivery::tagBytes()
{
    core::Delivery d;
    d.subscriptionIds = {5, 300};
    d.shareGroup = "g";
    const QByteArray expected = QByteArray::fromHex("01"       // format version
                                                    "00000002" // two identifiers
                                                    "00000005" // 5
                                                    "0000012c" // 300
                                                    "00000001" // share group: 1 byte
                                                    "67");     // "g"
    QCOMPARE(DeliveryCodec::meta(d).tag.toHex(), expected.toHex());
}

void TestStorageDelivery::roundTripThroughStore()
{
    QTemporaryDir dir;
    auto store = mustOpen(options(dir.filePath("d.db")));
    QVERIFY(store);
    const auto q = store->queueId("mqtt/session/x", QueueKind::MqttSession);
    core::Delivery d;
    d.message = message("sensors/1", "42", 2);
    d.qos = 1;
    d.subscriptionIds = {1, 268435455}; // the largest MQTT 5 subscription identifier
    d.shareGroup = "workers";
    Recorder r;
    store->append(q, d.message, DeliveryCodec::meta(d), r.add());
    QVERIFY(r.waitFor(1));
    const auto entries = store->load(q, 0);
    QCOMPARE(entries.size(), 1);
    const core::Delivery back = DeliveryCodec::delivery(entries[0]);
    QCOMPARE(back.message.payload(), QByteArray("42"));
    QCOMPARE(back.message.qos(), std::uint8_t(2));
    QCOMPARE(back.qos, std::uint8_t(1));
    QCOMPARE(back.retain, false);
    QCOMPARE(back.subscriptionIds, (QList<std::uint32_t>{1, 268435455}));
    QCOMPARE(back.shareGroup, QByteArray("workers"));
}

void TestStorageDelivery::malformedTagStillDelivers()
{
    StoredEntry e;
    e.message = message("t", "payload");
    e.meta.qos = 1;
    // Claims 0x7fffffff identifiers in a 9-byte tag.
    e.meta.tag = QByteArray::fromHex("017fffffff00000001");
    const core::Delivery d = DeliveryCodec::delivery(e);
    QCOMPARE(d.message.payload(), QByteArray("payload"));
    QCOMPARE(d.qos, std::uint8_t(1));
    QVERIFY(d.subscriptionIds.isEmpty());
    e.meta.tag = QByteArray::fromHex("02"); // unknown version
    QVERIFY(DeliveryCodec::delivery(e).shareGroup.isEmpty());
}

QTEST_GUILESS_MAIN(TestStorageDelivery)
#include "tst_storage_delivery.moc"
