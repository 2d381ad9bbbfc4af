// Topic name / filter validation, shared-subscription parsing and the reference matcher,
// against the examples and normative statements of MQTT 5.0 sections 4.7 and 4.8.2.
#include "core/Topic.h"

#include <QTest>

using namespace ferry::core;

class TstTopic : public QObject {
    Q_OBJECT
private slots:
    void topicNameValidity_MQTT_4_7_0_1_data();
    void topicNameValidity_MQTT_4_7_0_1();
    void topicFilterValidity_MQTT_4_7_1_1_and_2_data();
    void topicFilterValidity_MQTT_4_7_1_1_and_2();
    void lengthLimit_MQTT_4_7_3_3();
    void sharedSubscription_MQTT_4_8_2_data();
    void sharedSubscription_MQTT_4_8_2();
    void matcher_MQTT_4_7_1_data();
    void matcher_MQTT_4_7_1();
    void dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1_data();
    void dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1();
    void levelCount_data();
    void levelCount();
    void deepTopicDoesNotRecurse();
};

void TstTopic::topicNameValidity_MQTT_4_7_0_1_data()
{
    QTest::addColumn<QByteArray>("topic");
    QTest::addColumn<bool>("valid");
    QTest::newRow("simple") << QByteArray("sport/tennis") << true;
    QTest::newRow("single level") << QByteArray("a") << true;
    QTest::newRow("just a slash") << QByteArray("/") << true; // 4.7.3: "/" is valid
    QTest::newRow("leading slash") << QByteArray("/finance") << true;
    QTest::newRow("empty levels") << QByteArray("a//b") << true;
    QTest::newRow("space") << QByteArray("a b/c") << true;
    QTest::newRow("dollar") << QByteArray("$SYS/broker") << true;
    QTest::newRow("utf8") << QByteArray("caf\xc3\xa9/t") << true;
    QTest::newRow("empty MQTT-4.7.3-1") << QByteArray() << false;
    QTest::newRow("plus") << QByteArray("a/+") << false;
    QTest::newRow("hash") << QByteArray("a/#") << false;
    QTest::newRow("plus inside level") << QByteArray("a+b") << false;
    QTest::newRow("hash inside level") << QByteArray("a#") << false;
    QTest::newRow("nul MQTT-4.7.3-2") << QByteArray("a\0b", 3) << false;
}

void TstTopic::topicNameValidity_MQTT_4_7_0_1()
{
    QFETCH(QByteArray, topic);
    QFETCH(bool, valid);
    QCOMPARE(isValidTopicName(topic), valid);
}

void TstTopic::topicFilterValidity_MQTT_4_7_1_1_and_2_data()
{
    QTest::addColumn<QByteArray>("filter");
    QTest::addColumn<bool>("valid");
    // 4.7.1.2 examples
    QTest::newRow("sport/tennis/player1/#") << QByteArray("sport/tennis/player1/#") << true;
    QTest::newRow("#") << QByteArray("#") << true;
    QTest::newRow("sport/#") << QByteArray("sport/#") << true;
    QTest::newRow("sport/tennis#") << QByteArray("sport/tennis#") << false;
    QTest::newRow("sport/tennis/#/ranking") << QByteArray("sport/tennis/#/ranking") << false;
    // 4.7.1.3 examples
    QTest::newRow("+") << QByteArray("+") << true;
    QTest::newRow("+/tennis/#") << QByteArray("+/tennis/#") << true;
    QTest::newRow("sport+") << QByteArray("sport+") << false;
    QTest::newRow("sport/+/player1") << QByteArray("sport/+/player1") << true;
    QTest::newRow("/+") << QByteArray("/+") << true;
    QTest::newRow("+/+") << QByteArray("+/+") << true;
    // more
    QTest::newRow("##") << QByteArray("##") << false;
    QTest::newRow("#/") << QByteArray("#/") << false;
    QTest::newRow("++") << QByteArray("++") << false;
    QTest::newRow("a/+b") << QByteArray("a/+b") << false;
    QTest::newRow("a/b+") << QByteArray("a/b+") << false;
    QTest::newRow("+/#") << QByteArray("+/#") << true;
    QTest::newRow("empty levels") << QByteArray("a//b") << true;
    QTest::newRow("slash") << QByteArray("/") << true;
    QTest::newRow("empty MQTT-4.7.3-1") << QByteArray() << false;
    QTest::newRow("nul MQTT-4.7.3-2") << QByteArray("a/\0", 3) << false;
    QTest::newRow("shared form is a filter") << QByteArray("$share/g/a/#") << true;
}

void TstTopic::topicFilterValidity_MQTT_4_7_1_1_and_2()
{
    QFETCH(QByteArray, filter);
    QFETCH(bool, valid);
    QCOMPARE(isValidTopicFilter(filter), valid);
}

void TstTopic::lengthLimit_MQTT_4_7_3_3()
{
    const QByteArray max(65535, 'a');
    const QByteArray over(65536, 'a');
    QVERIFY(isValidTopicName(max));
    QVERIFY(!isValidTopicName(over));
    QVERIFY(isValidTopicFilter(max));
    QVERIFY(!isValidTopicFilter(over));
    QCOMPARE(parseSharedSubscription("$share/g/" + QByteArray(65535 - 9, 'a'), nullptr),
             ShareParse::Valid);
    QCOMPARE(parseSharedSubscription("$share/g/" + QByteArray(65536 - 9, 'a'), nullptr),
             ShareParse::Invalid);
}

void TstTopic::sharedSubscription_MQTT_4_8_2_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("result");
    QTest::addColumn<QByteArray>("group");
    QTest::addColumn<QByteArray>("filter");
    const int no = int(ShareParse::NotShared), ok = int(ShareParse::Valid),
              bad = int(ShareParse::Invalid);
    QTest::newRow("plain") << QByteArray("a/b") << no << QByteArray() << QByteArray();
    QTest::newRow("$share alone") << QByteArray("$share") << no << QByteArray() << QByteArray();
    QTest::newRow("$shared/x") << QByteArray("$shared/x") << no << QByteArray() << QByteArray();
    QTest::newRow("$SYS") << QByteArray("$SYS/#") << no << QByteArray() << QByteArray();
    QTest::newRow("simple") << QByteArray("$share/g/a/b") << ok << QByteArray("g")
                            << QByteArray("a/b");
    QTest::newRow("wildcards") << QByteArray("$share/consumer1/sport/tennis/+") << ok
                               << QByteArray("consumer1") << QByteArray("sport/tennis/+");
    QTest::newRow("hash only") << QByteArray("$share/g/#") << ok << QByteArray("g")
                               << QByteArray("#");
    QTest::newRow("inner leading slash")
        << QByteArray("$share/g//x") << ok << QByteArray("g") << QByteArray("/x");
    QTest::newRow("inner $SYS") << QByteArray("$share/g/$SYS/x") << ok << QByteArray("g")
                                << QByteArray("$SYS/x");
    // NanoMQ CVE-2025-68699: no second slash.
    QTest::newRow("$share/ab") << QByteArray("$share/ab") << bad << QByteArray() << QByteArray();
    QTest::newRow("$share/") << QByteArray("$share/") << bad << QByteArray() << QByteArray();
    QTest::newRow("empty ShareName MQTT-4.8.2-1")
        << QByteArray("$share//f") << bad << QByteArray() << QByteArray();
    QTest::newRow("no filter MQTT-4.8.2-2")
        << QByteArray("$share/g/") << bad << QByteArray() << QByteArray();
    QTest::newRow("plus in ShareName")
        << QByteArray("$share/g+/x") << bad << QByteArray() << QByteArray();
    QTest::newRow("hash in ShareName")
        << QByteArray("$share/#/x") << bad << QByteArray() << QByteArray();
    QTest::newRow("ShareName is +")
        << QByteArray("$share/+/x") << bad << QByteArray() << QByteArray();
    QTest::newRow("bad inner filter")
        << QByteArray("$share/g/a#") << bad << QByteArray() << QByteArray();
    QTest::newRow("inner hash not last")
        << QByteArray("$share/g/#/a") << bad << QByteArray() << QByteArray();
}

void TstTopic::sharedSubscription_MQTT_4_8_2()
{
    QFETCH(QByteArray, input);
    QFETCH(int, result);
    QFETCH(QByteArray, group);
    QFETCH(QByteArray, filter);
    SharedSubscription out{QByteArray("untouched"), QByteArray("untouched")};
    QCOMPARE(int(parseSharedSubscription(input, &out)), result);
    if (result == int(ShareParse::Valid)) {
        QCOMPARE(out.group, group);
        QCOMPARE(out.filter, filter);
    } else {
        QCOMPARE(out.group, QByteArray("untouched"));
        QCOMPARE(out.filter, QByteArray("untouched"));
    }
    QCOMPARE(int(parseSharedSubscription(input, nullptr)), result);
}

void TstTopic::matcher_MQTT_4_7_1_data()
{
    QTest::addColumn<QByteArray>("filter");
    QTest::addColumn<QByteArray>("topic");
    QTest::addColumn<bool>("matches");
    // 4.7.1.2: "sport/tennis/player1/#" would receive messages published using these names
    QTest::newRow("4.7.1.2 a") << QByteArray("sport/tennis/player1/#")
                               << QByteArray("sport/tennis/player1") << true;
    QTest::newRow("4.7.1.2 b") << QByteArray("sport/tennis/player1/#")
                               << QByteArray("sport/tennis/player1/ranking") << true;
    QTest::newRow("4.7.1.2 c") << QByteArray("sport/tennis/player1/#")
                               << QByteArray("sport/tennis/player1/score/wimbledon") << true;
    QTest::newRow("4.7.1.2 sport/# parent") << QByteArray("sport/#") << QByteArray("sport") << true;
    QTest::newRow("# everything") << QByteArray("#") << QByteArray("a/b/c") << true;
    QTest::newRow("# slash") << QByteArray("#") << QByteArray("/") << true;
    // 4.7.1.3
    QTest::newRow("4.7.1.3 +/player1")
        << QByteArray("sport/tennis/+") << QByteArray("sport/tennis/player1") << true;
    QTest::newRow("4.7.1.3 +/player2")
        << QByteArray("sport/tennis/+") << QByteArray("sport/tennis/player2") << true;
    QTest::newRow("4.7.1.3 + not deeper")
        << QByteArray("sport/tennis/+") << QByteArray("sport/tennis/player1/ranking") << false;
    QTest::newRow("4.7.1.3 sport/+ vs sport")
        << QByteArray("sport/+") << QByteArray("sport") << false;
    QTest::newRow("4.7.1.3 sport/+ vs sport/")
        << QByteArray("sport/+") << QByteArray("sport/") << true;
    QTest::newRow("4.7.1.3 +/+ vs /finance") << QByteArray("+/+") << QByteArray("/finance") << true;
    QTest::newRow("4.7.1.3 /+ vs /finance") << QByteArray("/+") << QByteArray("/finance") << true;
    QTest::newRow("4.7.1.3 + vs /finance") << QByteArray("+") << QByteArray("/finance") << false;
    // 4.7.3: "/finance" and "finance" differ; empty levels are levels
    QTest::newRow("leading slash differs")
        << QByteArray("finance") << QByteArray("/finance") << false;
    QTest::newRow("a//b exact") << QByteArray("a//b") << QByteArray("a//b") << true;
    QTest::newRow("a/+/b empty level") << QByteArray("a/+/b") << QByteArray("a//b") << true;
    QTest::newRow("a/b vs a//b") << QByteArray("a/b") << QByteArray("a//b") << false;
    QTest::newRow("+/# vs a") << QByteArray("+/#") << QByteArray("a") << true;
    QTest::newRow("+/+/# vs a") << QByteArray("+/+/#") << QByteArray("a") << false;
    QTest::newRow("a/b/# vs a") << QByteArray("a/b/#") << QByteArray("a") << false;
    QTest::newRow("case sensitive") << QByteArray("ACCOUNTS") << QByteArray("Accounts") << false;
    QTest::newRow("prefix is not a match") << QByteArray("a/b") << QByteArray("a/bc") << false;
    QTest::newRow("longer filter") << QByteArray("a/b/c") << QByteArray("a/b") << false;
    QTest::newRow("longer topic") << QByteArray("a/b") << QByteArray("a/b/c") << false;
    QTest::newRow("$SYS/# vs $SYS") << QByteArray("$SYS/#") << QByteArray("$SYS") << true;
    QTest::newRow("$SYS/+ vs $SYS/x") << QByteArray("$SYS/+") << QByteArray("$SYS/x") << true;
}

void TstTopic::matcher_MQTT_4_7_1()
{
    QFETCH(QByteArray, filter);
    QFETCH(QByteArray, topic);
    QFETCH(bool, matches);
    QVERIFY(isValidTopicFilter(filter));
    QVERIFY(isValidTopicName(topic));
    QCOMPARE(topicMatchesFilter(filter, topic), matches);
}

void TstTopic::dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1_data()
{
    QTest::addColumn<QByteArray>("filter");
    QTest::addColumn<QByteArray>("topic");
    QTest::addColumn<bool>("matches");
    // 4.7.2 non-normative examples
    QTest::newRow("# vs $SYS/...") << QByteArray("#") << QByteArray("$SYS/broker/clients") << false;
    QTest::newRow("+/monitor/Clients")
        << QByteArray("+/monitor/Clients") << QByteArray("$SYS/monitor/Clients") << false;
    QTest::newRow("$SYS/#") << QByteArray("$SYS/#") << QByteArray("$SYS/monitor/Clients") << true;
    QTest::newRow("$SYS/monitor/+")
        << QByteArray("$SYS/monitor/+") << QByteArray("$SYS/monitor/Clients") << true;
    QTest::newRow("+ vs $") << QByteArray("+") << QByteArray("$") << false;
    QTest::newRow("+/# vs $x/y") << QByteArray("+/#") << QByteArray("$x/y") << false;
    // Only the first level: '$' further in is an ordinary character.
    QTest::newRow("a/# vs a/$x") << QByteArray("a/#") << QByteArray("a/$x") << true;
    QTest::newRow("a/+ vs a/$x") << QByteArray("a/+") << QByteArray("a/$x") << true;
    QTest::newRow("# vs x$") << QByteArray("#") << QByteArray("x$") << true;
}

void TstTopic::dollarTopicsNotMatchedByLeadingWildcard_MQTT_4_7_2_1()
{
    matcher_MQTT_4_7_1();
}

void TstTopic::levelCount_data()
{
    QTest::addColumn<QByteArray>("topic");
    QTest::addColumn<int>("levels");
    QTest::newRow("empty") << QByteArray() << 0;
    QTest::newRow("a") << QByteArray("a") << 1;
    QTest::newRow("/") << QByteArray("/") << 2;
    QTest::newRow("a/b/c") << QByteArray("a/b/c") << 3;
    QTest::newRow("a//") << QByteArray("a//") << 3;
}

void TstTopic::levelCount()
{
    QFETCH(QByteArray, topic);
    QFETCH(int, levels);
    QCOMPARE(topicLevelCount(topic), levels);
    QVERIFY(withinLevelLimit(topic, levels));
    if (levels > 0)
        QVERIFY(!withinLevelLimit(topic, levels - 1));
}

void TstTopic::deepTopicDoesNotRecurse()
{
    // A topic with hundreds of levels (a stack-depth attack on recursive matchers).
    QByteArray topic;
    for (int i = 0; i < 20000; ++i)
        topic += i ? "/x" : "x";
    QCOMPARE(topicLevelCount(topic), 20000);
    QVERIFY(!withinLevelLimit(topic));
    QVERIFY(withinLevelLimit("a/b", kDefaultMaxTopicLevels));
    QVERIFY(isValidTopicName(topic));
    QByteArray filter = topic;
    filter.chop(1);
    filter += '+';
    QVERIFY(topicMatchesFilter(filter, topic));
    QVERIFY(topicMatchesFilter("x/x/#", topic));
    QVERIFY(!topicMatchesFilter(topic + "/x", topic));
}

QTEST_APPLESS_MAIN(TstTopic)
#include "tst_topic.moc"
