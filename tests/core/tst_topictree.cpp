// TopicTree: the subscription index, checked against the reference matcher topicMatchesFilter.
#include "core/Topic.h"
#include "core/TopicTree.h"

#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

using namespace ferry::core;

namespace {

using Tree = TopicTree<int, int>;
using Hit = std::pair<int, int>; // (key, value)

std::vector<Hit> hits(const Tree &tree, QByteArrayView topic)
{
    std::vector<Hit> out;
    tree.match(topic, [&out](const int &key, const int &value) { out.emplace_back(key, value); });
    std::sort(out.begin(), out.end());
    return out;
}

// Random level from a small alphabet so that filters and topics collide often; includes the
// empty level and a '$' level.
QByteArray randomLevel(QRandomGenerator &rng)
{
    static const char *const alphabet[] = {"a", "b", "c", "", "$s"};
    return QByteArray(alphabet[rng.bounded(5)]);
}

QByteArray randomTopic(QRandomGenerator &rng)
{
    const int levels = 1 + rng.bounded(5);
    QByteArray t;
    for (int i = 0; i < levels; ++i) {
        if (i)
            t += '/';
        t += randomLevel(rng);
    }
    return t.isEmpty() ? QByteArray("a") : t; // a lone empty level is no topic
}

QByteArray randomFilter(QRandomGenerator &rng)
{
    const int levels = 1 + rng.bounded(5);
    QByteArray f;
    for (int i = 0; i < levels; ++i) {
        if (i)
            f += '/';
        const int kind = rng.bounded(10);
        if (kind < 2)
            f += '+';
        else if (kind == 2 && i == levels - 1)
            f += '#';
        else
            f += randomLevel(rng);
    }
    return f.isEmpty() ? QByteArray("+") : f; // a lone empty level is no filter
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

class TstTopicTree : public QObject {
    Q_OBJECT
private slots:
    void insertFindReplaceRemove();
    void overlappingFilters_data();
    void overlappingFilters();
    void hashMatchesParentLevel_MQTT_4_7_1_2();
    void dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1_data();
    void dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1();
    void manyKeysOnOneFilter();
    void manyChildrenOnOneNode();
    void removalPrunesEmptyNodes();
    void forEachRebuildsFilters();
    void clearEmptiesTree();
    void randomizedAgainstReferenceMatcher();
    void thousandLevelTopic();
};

void TstTopicTree::insertFindReplaceRemove()
{
    Tree tree;
    QVERIFY(tree.isEmpty());
    QVERIFY(tree.insert("a/b", 1, 10));
    QVERIFY(tree.insert("a/b", 2, 20));
    QCOMPARE(tree.size(), std::size_t(2));
    QVERIFY(!tree.insert("a/b", 1, 11)); // same key, same filter: replaced
    QCOMPARE(tree.size(), std::size_t(2));
    QVERIFY(tree.find("a/b", 1));
    QCOMPARE(*tree.find("a/b", 1), 11);
    QCOMPARE(tree.find("a/b", 3), nullptr);
    QCOMPARE(tree.find("a", 1), nullptr);
    QCOMPARE(tree.find("a/b/c", 1), nullptr);
    QCOMPARE(tree.find("a/+", 1), nullptr);
    QCOMPARE(hits(tree, "a/b"), (std::vector<Hit>{{1, 11}, {2, 20}}));
    QVERIFY(!tree.remove("a/b", 3));
    QVERIFY(!tree.remove("a/c", 1));
    QVERIFY(!tree.remove("a", 1));
    QVERIFY(tree.remove("a/b", 1));
    QVERIFY(!tree.remove("a/b", 1));
    QCOMPARE(tree.size(), std::size_t(1));
    QCOMPARE(hits(tree, "a/b"), (std::vector<Hit>{{2, 20}}));
    *tree.find("a/b", 2) = 21; // find gives mutable access
    QCOMPARE(hits(tree, "a/b"), (std::vector<Hit>{{2, 21}}));
}

void TstTopicTree::overlappingFilters_data()
{
    QTest::addColumn<QByteArray>("topic");
    QTest::addColumn<QList<int>>("keys");
    // keys: 1 "sport/tennis/player1", 2 "sport/tennis/+", 3 "sport/#", 4 "#", 5 "+/+/player1",
    //       6 "sport/+/player1/#", 7 "+", 8 "/+", 9 "sport/tennis/player1/#"
    QTest::newRow("exact") << QByteArray("sport/tennis/player1") << QList<int>{1, 2, 3, 4, 5, 6, 9};
    QTest::newRow("deeper") << QByteArray("sport/tennis/player1/ranking") << QList<int>{3, 4, 6, 9};
    QTest::newRow("sport") << QByteArray("sport") << QList<int>{3, 4, 7};
    QTest::newRow("sport/") << QByteArray("sport/") << QList<int>{3, 4};
    QTest::newRow("/finance") << QByteArray("/finance") << QList<int>{4, 8};
    QTest::newRow("other") << QByteArray("weather") << QList<int>{4, 7};
}

void TstTopicTree::overlappingFilters()
{
    QFETCH(QByteArray, topic);
    QFETCH(QList<int>, keys);
    Tree tree;
    const char *filters[] = {"sport/tennis/player1",  "sport/tennis/+",    "sport/#", "#",
                             "+/+/player1",           "sport/+/player1/#", "+",       "/+",
                             "sport/tennis/player1/#"};
    for (int i = 0; i < 9; ++i)
        QVERIFY(tree.insert(filters[i], i + 1, 0));
    std::vector<Hit> expected;
    for (int k : keys)
        expected.emplace_back(k, 0);
    QCOMPARE(hits(tree, topic), expected);
    // The reference matcher agrees with the hand-written expectation.
    for (int i = 0; i < 9; ++i)
        QCOMPARE(topicMatchesFilter(filters[i], topic), keys.contains(i + 1));
}

void TstTopicTree::hashMatchesParentLevel_MQTT_4_7_1_2()
{
    Tree tree;
    tree.insert("sport/#", 1, 1);
    tree.insert("+/#", 2, 2);
    tree.insert("sport/tennis/#", 3, 3);
    QCOMPARE(hits(tree, "sport"), (std::vector<Hit>{{1, 1}, {2, 2}}));
    QCOMPARE(hits(tree, "sport/tennis"), (std::vector<Hit>{{1, 1}, {2, 2}, {3, 3}}));
}

void TstTopicTree::dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1_data()
{
    QTest::addColumn<QByteArray>("topic");
    QTest::addColumn<QList<int>>("keys");
    // keys: 1 "#", 2 "+/monitor/Clients", 3 "$SYS/#", 4 "$SYS/monitor/+", 5 "+/#",
    //       6 "a/#", 7 "a/+"
    QTest::newRow("$SYS/monitor/Clients") << QByteArray("$SYS/monitor/Clients") << QList<int>{3, 4};
    QTest::newRow("$SYS") << QByteArray("$SYS") << QList<int>{3};
    QTest::newRow("$") << QByteArray("$") << QList<int>{};
    QTest::newRow("x/monitor/Clients") << QByteArray("x/monitor/Clients") << QList<int>{1, 2, 5};
    QTest::newRow("a/$x") << QByteArray("a/$x") << QList<int>{1, 5, 6, 7};
}

void TstTopicTree::dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1()
{
    QFETCH(QByteArray, topic);
    QFETCH(QList<int>, keys);
    Tree tree;
    const char *filters[] = {"#",  "+/monitor/Clients", "$SYS/#", "$SYS/monitor/+", "+/#", "a/#",
                             "a/+"};
    for (int i = 0; i < 7; ++i)
        tree.insert(filters[i], i + 1, 0);
    std::vector<Hit> expected;
    for (int k : keys)
        expected.emplace_back(k, 0);
    QCOMPARE(hits(tree, topic), expected);
}

void TstTopicTree::manyKeysOnOneFilter()
{
    // Past the SmallMap's linear limit, entries are found through the hash index; erasing
    // below half the limit drops it again. Both regimes must agree.
    Tree tree;
    for (int k = 0; k < 1000; ++k)
        QVERIFY(tree.insert("sensors/#", k, k * 2));
    QCOMPARE(tree.size(), std::size_t(1000));
    QVERIFY(!tree.insert("sensors/#", 500, -1));
    QCOMPARE(*tree.find("sensors/#", 500), -1);
    QCOMPARE(hits(tree, "sensors/t").size(), std::size_t(1000));
    for (int k = 0; k < 1000; k += 2)
        QVERIFY(tree.remove("sensors/#", k));
    for (int k = 0; k < 1000; ++k)
        QCOMPARE(tree.find("sensors/#", k) != nullptr, k % 2 == 1);
    for (int k = 1; k < 995; k += 2)
        QVERIFY(tree.remove("sensors/#", k));
    const std::vector<Hit> left{{995, 1990}, {997, 1994}, {999, 1998}};
    QCOMPARE(hits(tree, "sensors/t"), left);
    QVERIFY(tree.insert("sensors/#", 7, 14));
    QCOMPARE(hits(tree, "sensors").size(), std::size_t(4));
}

void TstTopicTree::manyChildrenOnOneNode()
{
    Tree tree;
    for (int i = 0; i < 300; ++i)
        tree.insert("dev/" + QByteArray::number(i) + "/temp", i, i);
    for (int i = 0; i < 300; ++i)
        QCOMPARE(hits(tree, "dev/" + QByteArray::number(i) + "/temp"), (std::vector<Hit>{{i, i}}));
    QVERIFY(hits(tree, "dev/300/temp").empty());
    for (int i = 0; i < 300; i += 3)
        QVERIFY(tree.remove("dev/" + QByteArray::number(i) + "/temp", i));
    for (int i = 0; i < 300; ++i)
        QCOMPARE(hits(tree, "dev/" + QByteArray::number(i) + "/temp").size(),
                 std::size_t(i % 3 ? 1 : 0));
}

void TstTopicTree::removalPrunesEmptyNodes()
{
    Tree tree;
    tree.insert("a/b/c/d", 1, 0);
    QCOMPARE(tree.nodeCount(), std::size_t(4));
    tree.insert("a/b/+/#", 2, 0);
    QCOMPARE(tree.nodeCount(), std::size_t(6));
    tree.insert("a/b", 3, 0);
    QCOMPARE(tree.nodeCount(), std::size_t(6));
    QVERIFY(tree.remove("a/b/c/d", 1));
    QCOMPARE(tree.nodeCount(), std::size_t(4)); // c and d gone, a/b kept for key 3
    QVERIFY(tree.remove("a/b/+/#", 2));
    QCOMPARE(tree.nodeCount(), std::size_t(2));
    QVERIFY(tree.remove("a/b", 3));
    QCOMPARE(tree.nodeCount(), std::size_t(0));
    QCOMPARE(tree.size(), std::size_t(0));
    // The pruned tree still works.
    tree.insert("a/b", 4, 0);
    QCOMPARE(hits(tree, "a/b"), (std::vector<Hit>{{4, 0}}));
}

void TstTopicTree::forEachRebuildsFilters()
{
    Tree tree;
    const std::set<std::pair<QByteArray, int>> entries{
        {"a/b", 1}, {"a/b", 2}, {"+/#", 3}, {"#", 4}, {"/", 5}, {"a//+", 6}, {"$SYS/x", 7}};
    for (const auto &e : entries)
        tree.insert(e.first, e.second, e.second * 10);
    std::set<std::pair<QByteArray, int>> seen;
    tree.forEach([&](const QByteArray &filter, const int &key, const int &value) {
        QCOMPARE(value, key * 10);
        seen.insert({filter, key});
    });
    QCOMPARE(seen, entries);
}

void TstTopicTree::clearEmptiesTree()
{
    Tree tree;
    tree.insert("a/b", 1, 0);
    tree.insert("#", 2, 0);
    tree.clear();
    QCOMPARE(tree.size(), std::size_t(0));
    QCOMPARE(tree.nodeCount(), std::size_t(0));
    QVERIFY(hits(tree, "a/b").empty());
    tree.insert("a/b", 1, 0);
    QCOMPARE(hits(tree, "a/b").size(), std::size_t(1));
}

void TstTopicTree::randomizedAgainstReferenceMatcher()
{
    QRandomGenerator rng(20261125);
    Tree tree;
    std::vector<std::pair<QByteArray, int>> subs; // (filter, key)
    for (int key = 0; key < 300; ++key) {
        const QByteArray filter = randomFilter(rng);
        QVERIFY2(isValidTopicFilter(filter), filter.constData());
        tree.insert(filter, key, key);
        subs.emplace_back(filter, key);
    }
    // Remove a third, so that pruning is exercised in the comparison too.
    for (int key = 0; key < 300; key += 3)
        QVERIFY(tree.remove(subs[key].first, key));
    QCOMPARE(tree.size(), std::size_t(200));
    int matchedSomething = 0, matchedDollar = 0;
    for (int i = 0; i < 2000; ++i) {
        const QByteArray topic = randomTopic(rng);
        std::vector<Hit> expected;
        for (const auto &s : subs) {
            if (s.second % 3 != 0 && topicMatchesFilter(s.first, topic))
                expected.emplace_back(s.second, s.second);
        }
        const std::vector<Hit> got = hits(tree, topic);
        if (got != expected)
            QFAIL(qPrintable("topic " + topic));
        matchedSomething += !expected.empty();
        matchedDollar += !expected.empty() && topic.startsWith('$');
    }
    // The alphabet is small enough that the comparison is not vacuous.
    QVERIFY(matchedSomething > 500);
    QVERIFY(matchedDollar > 10);
}

void TstTopicTree::thousandLevelTopic()
{
    Tree tree;
    const QByteArray topic = deepTopic(1000, "end");
    const QByteArray plusFilter = deepTopic(1000, "+");
    tree.insert(topic, 1, 1);
    tree.insert(plusFilter, 2, 2);
    tree.insert("l/l/#", 3, 3);
    tree.insert("#", 4, 4);
    QCOMPARE(hits(tree, topic), (std::vector<Hit>{{1, 1}, {2, 2}, {3, 3}, {4, 4}}));
    QCOMPARE(hits(tree, deepTopic(1000, "other")), (std::vector<Hit>{{2, 2}, {3, 3}, {4, 4}}));
    QCOMPARE(hits(tree, deepTopic(1001, "end")), (std::vector<Hit>{{3, 3}, {4, 4}}));

    // "l/+/#", "l/l/+/#", ...: every node on the path forks the walk, so about one pending
    // frame per level piles up: past kInlineFrames it must spill to the heap, not recurse.
    std::vector<Hit> expected{{1, 1}, {2, 2}, {3, 3}, {4, 4}};
    for (int k = 1; k < 1000; ++k) {
        tree.insert(deepTopic(k, "+/#"), 100 + k, k);
        expected.emplace_back(100 + k, k);
    }
    QCOMPARE(hits(tree, topic), expected);

    for (int k = 1; k < 1000; ++k)
        QVERIFY(tree.remove(deepTopic(k, "+/#"), 100 + k));
    QVERIFY(tree.remove(topic, 1));
    QVERIFY(tree.remove(plusFilter, 2));
    QCOMPARE(tree.nodeCount(), std::size_t(4)); // l, l, their #, and the root's #
    // A 32k-level filter (the most 65,535 bytes allow) left in the tree is freed by the
    // destructor without recursion.
    tree.insert(deepTopic(32000, "x"), 9, 9);
}

QTEST_APPLESS_MAIN(TstTopicTree)
#include "tst_topictree.moc"
