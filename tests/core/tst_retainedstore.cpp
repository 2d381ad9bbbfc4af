// RetainedStore: retained messages by topic, wildcard lookups checked against the reference
// matcher, expiry.
#include "core/Message.h"
#include "core/RetainedStore.h"
#include "core/Topic.h"

#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <map>
#include <vector>

using namespace ferry::core;

namespace {

Message retained(const QByteArray &topic, const QByteArray &payload, std::int64_t expiresAt = 0)
{
    Message m(topic, payload, 1, true);
    m.edit().expiresAtMs = expiresAt;
    return m;
}

QList<QByteArray> matchTopics(const RetainedStore &store, QByteArrayView filter,
                              std::int64_t nowMs = 0)
{
    QList<QByteArray> out;
    store.match(
        filter, [&out](const Message &m) { out.append(m.topic()); }, nowMs);
    std::sort(out.begin(), out.end());
    return out;
}

QByteArray deepTopic(int levels, const char *last)
{
    QByteArray t;
    for (int i = 0; i < levels - 1; ++i)
        t += "l/";
    t += last;
    return t;
}

} // namespace

class TstRetainedStore : public QObject {
    Q_OBJECT
private slots:
    void setGetReplace();
    void retainClearedByEmptyPayload_MQTT_3_3_1_6_and_7();
    void wildcardLookup_data();
    void wildcardLookup();
    void dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1_data();
    void dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1();
    void expiredMessagesAreNotDelivered();
    void removeExpiredDropsAndPrunes();
    void randomizedAgainstReferenceMatcher();
    void deepTopics();
};

void TstRetainedStore::setGetReplace()
{
    RetainedStore store;
    QCOMPARE(store.count(), 0);
    QVERIFY(!store.get("a/b"));
    const Message first = retained("a/b", "1");
    QVERIFY(store.set(first));
    QCOMPARE(store.count(), 1);
    QVERIFY(store.get("a/b"));
    QVERIFY(store.get("a/b")->sharesDataWith(first)); // stored by reference, not copied
    QVERIFY(!store.get("a"));
    QVERIFY(!store.get("a/b/c"));
    QVERIFY(!store.get("a/b/"));
    QVERIFY(store.set(retained("a/b", "2")));
    QCOMPARE(store.count(), 1);
    QCOMPARE(store.get("a/b")->payload(), QByteArray("2"));
    QVERIFY(store.set(retained("a", "parent")));
    QVERIFY(store.set(retained("/", "slash")));
    QCOMPARE(store.count(), 3);
    QCOMPARE(store.get("a")->payload(), QByteArray("parent"));
    QCOMPARE(store.get("/")->payload(), QByteArray("slash"));
    int seen = 0;
    store.forEach([&seen](const Message &) { ++seen; });
    QCOMPARE(seen, 3);
    store.clear();
    QCOMPARE(store.count(), 0);
    QVERIFY(!store.get("a"));
    QVERIFY(matchTopics(store, "#").isEmpty());
}

void TstRetainedStore::retainClearedByEmptyPayload_MQTT_3_3_1_6_and_7()
{
    RetainedStore store;
    // [MQTT-3.3.1-7]: a zero-byte retained payload is never stored.
    QVERIFY(!store.set(retained("a/b", QByteArray())));
    QCOMPARE(store.count(), 0);
    QVERIFY(!store.get("a/b"));
    QVERIFY(store.set(retained("a/b", "x")));
    QVERIFY(store.set(retained("a/b/c", "y")));
    // [MQTT-3.3.1-6]: it removes the retained message of the same topic, and only that one.
    QVERIFY(store.set(retained("a/b", QByteArray())));
    QCOMPARE(store.count(), 1);
    QVERIFY(!store.get("a/b"));
    QVERIFY(store.get("a/b/c"));
    QVERIFY(!store.set(retained("a/b", QByteArray()))); // nothing left to clear
    QVERIFY(!store.set(retained("a", QByteArray())));   // an inner node without a message
    QVERIFY(store.set(retained("a/b/c", QByteArray())));
    QCOMPARE(store.count(), 0);
    QVERIFY(matchTopics(store, "#").isEmpty());
}

void TstRetainedStore::wildcardLookup_data()
{
    QTest::addColumn<QByteArray>("filter");
    QTest::addColumn<QList<QByteArray>>("topics");
    // Stored: sport, sport/tennis/player1, sport/tennis/player1/ranking, sport/tennis/player2,
    //         sport/, /finance, finance, a//b
    QTest::newRow("#") << QByteArray("#")
                       << QList<QByteArray>{"/finance",
                                            "a//b",
                                            "finance",
                                            "sport",
                                            "sport/",
                                            "sport/tennis/player1",
                                            "sport/tennis/player1/ranking",
                                            "sport/tennis/player2"};
    QTest::newRow("sport/# includes sport")
        << QByteArray("sport/#")
        << QList<QByteArray>{"sport", "sport/", "sport/tennis/player1",
                             "sport/tennis/player1/ranking", "sport/tennis/player2"};
    QTest::newRow("sport/tennis/+")
        << QByteArray("sport/tennis/+")
        << QList<QByteArray>{"sport/tennis/player1", "sport/tennis/player2"};
    QTest::newRow("sport/+") << QByteArray("sport/+") << QList<QByteArray>{"sport/"};
    QTest::newRow("+") << QByteArray("+") << QList<QByteArray>{"finance", "sport"};
    QTest::newRow("+/+") << QByteArray("+/+") << QList<QByteArray>{"/finance", "sport/"};
    QTest::newRow("/+") << QByteArray("/+") << QList<QByteArray>{"/finance"};
    QTest::newRow("+/tennis/#") << QByteArray("+/tennis/#")
                                << QList<QByteArray>{"sport/tennis/player1",
                                                     "sport/tennis/player1/ranking",
                                                     "sport/tennis/player2"};
    QTest::newRow("a/+/b") << QByteArray("a/+/b") << QList<QByteArray>{"a//b"};
    QTest::newRow("exact") << QByteArray("sport/tennis/player2")
                           << QList<QByteArray>{"sport/tennis/player2"};
    QTest::newRow("inner node only") << QByteArray("sport/tennis") << QList<QByteArray>{};
    QTest::newRow("no such branch") << QByteArray("x/#") << QList<QByteArray>{};
}

void TstRetainedStore::wildcardLookup()
{
    QFETCH(QByteArray, filter);
    QFETCH(QList<QByteArray>, topics);
    RetainedStore store;
    for (const char *t : {"sport", "sport/tennis/player1", "sport/tennis/player1/ranking",
                          "sport/tennis/player2", "sport/", "/finance", "finance", "a//b"})
        store.set(retained(t, "p"));
    QCOMPARE(matchTopics(store, filter), topics);
}

void TstRetainedStore::dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1_data()
{
    QTest::addColumn<QByteArray>("filter");
    QTest::addColumn<QList<QByteArray>>("topics");
    // Stored: $SYS/monitor/Clients, $SYS, a/$x, b
    QTest::newRow("#") << QByteArray("#") << QList<QByteArray>{"a/$x", "b"};
    QTest::newRow("+/monitor/Clients") << QByteArray("+/monitor/Clients") << QList<QByteArray>{};
    QTest::newRow("+") << QByteArray("+") << QList<QByteArray>{"b"};
    QTest::newRow("$SYS/#") << QByteArray("$SYS/#")
                            << QList<QByteArray>{"$SYS", "$SYS/monitor/Clients"};
    QTest::newRow("$SYS/monitor/+")
        << QByteArray("$SYS/monitor/+") << QList<QByteArray>{"$SYS/monitor/Clients"};
    QTest::newRow("a/+ below the first level") << QByteArray("a/+") << QList<QByteArray>{"a/$x"};
}

void TstRetainedStore::dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1()
{
    QFETCH(QByteArray, filter);
    QFETCH(QList<QByteArray>, topics);
    RetainedStore store;
    for (const char *t : {"$SYS/monitor/Clients", "$SYS", "a/$x", "b"})
        store.set(retained(t, "p"));
    QCOMPARE(matchTopics(store, filter), topics);
}

void TstRetainedStore::expiredMessagesAreNotDelivered()
{
    RetainedStore store;
    store.set(retained("t/live", "p"));
    store.set(retained("t/soon", "p", 1000));
    store.set(retained("t/later", "p", 5000));
    QCOMPARE(matchTopics(store, "t/#", 999), (QList<QByteArray>{"t/later", "t/live", "t/soon"}));
    QCOMPARE(matchTopics(store, "t/#", 1000), (QList<QByteArray>{"t/later", "t/live"}));
    QCOMPARE(matchTopics(store, "t/soon", 1000), QList<QByteArray>{});
    QVERIFY(store.get("t/soon", 999));
    QVERIFY(!store.get("t/soon", 1000));
    QVERIFY(store.get("t/soon")); // nowMs = 0: expiry not checked
    QCOMPARE(store.count(), 3);   // matching does not remove
}

void TstRetainedStore::removeExpiredDropsAndPrunes()
{
    RetainedStore store;
    store.set(retained("a", "p", 1000));
    store.set(retained("a/b", "p", 2000));
    store.set(retained("a/b/c", "p", 1000));
    store.set(retained("a/b/c/d", "p"));
    store.set(retained("x/y/z", "p", 1500));
    QCOMPARE(store.removeExpired(999), 0);
    QCOMPARE(store.removeExpired(1500), 3);
    QCOMPARE(store.count(), 2);
    QCOMPARE(matchTopics(store, "#"), (QList<QByteArray>{"a/b", "a/b/c/d"}));
    QCOMPARE(store.removeExpired(1 << 30), 1);
    QCOMPARE(matchTopics(store, "#"), (QList<QByteArray>{"a/b/c/d"}));
    // Re-setting after pruning works.
    store.set(retained("x/y/z", "again"));
    QCOMPARE(store.get("x/y/z")->payload(), QByteArray("again"));
}

void TstRetainedStore::randomizedAgainstReferenceMatcher()
{
    QRandomGenerator rng(3311);
    static const char *const alphabet[] = {"a", "b", "", "$s"};
    auto randomTopic = [&rng] {
        QByteArray t;
        const int levels = 1 + rng.bounded(4);
        for (int i = 0; i < levels; ++i) {
            if (i)
                t += '/';
            t += alphabet[rng.bounded(4)];
        }
        return t.isEmpty() ? QByteArray("b") : t; // a lone empty level is no topic
    };
    RetainedStore store;
    std::map<QByteArray, std::int64_t> reference; // topic -> expiresAtMs
    for (int i = 0; i < 400; ++i) {
        const QByteArray topic = randomTopic();
        if (rng.bounded(4) == 0) {
            store.set(retained(topic, QByteArray()));
            reference.erase(topic);
        } else {
            const std::int64_t expires = rng.bounded(3) == 0 ? 100 : 0;
            store.set(retained(topic, "p", expires));
            reference[topic] = expires;
        }
    }
    QCOMPARE(store.count(), qsizetype(reference.size()));
    int nonEmpty = 0;
    for (int i = 0; i < 1000; ++i) {
        QByteArray filter;
        const int levels = 1 + rng.bounded(4);
        for (int l = 0; l < levels; ++l) {
            if (l)
                filter += '/';
            const int kind = rng.bounded(8);
            filter += kind < 2                         ? QByteArray("+")
                      : (kind == 2 && l == levels - 1) ? QByteArray("#")
                                                       : QByteArray(alphabet[rng.bounded(4)]);
        }
        if (filter.isEmpty())
            filter = "+";
        const std::int64_t now = rng.bounded(2) ? 0 : 100;
        QList<QByteArray> expected;
        for (const auto &r : reference) {
            const bool expired = r.second != 0 && now >= r.second;
            if (!expired && topicMatchesFilter(filter, r.first))
                expected.append(r.first);
        }
        const QList<QByteArray> got = matchTopics(store, filter, now);
        if (got != expected)
            QFAIL(qPrintable("filter " + filter));
        nonEmpty += !expected.isEmpty();
    }
    QVERIFY(nonEmpty > 300); // the comparison is not vacuous
}

void TstRetainedStore::deepTopics()
{
    RetainedStore store;
    const QByteArray deep = deepTopic(1000, "end");
    QVERIFY(store.set(retained(deep, "p")));
    QVERIFY(store.get(deep));
    QCOMPARE(matchTopics(store, "#"), QList<QByteArray>{deep});
    QCOMPARE(matchTopics(store, deepTopic(1000, "+")), QList<QByteArray>{deep});
    QCOMPARE(matchTopics(store, "l/+/#"), QList<QByteArray>{deep});
    QVERIFY(store.set(retained(deep, QByteArray())));
    QCOMPARE(store.count(), 0);
    // Left in the store on purpose: destruction must not recurse 32k levels deep.
    QVERIFY(store.set(retained(deepTopic(32000, "x"), "p")));
}

QTEST_APPLESS_MAIN(TstRetainedStore)
#include "tst_retainedstore.moc"
