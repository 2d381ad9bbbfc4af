// ServerProtocol + Adapter + a real core::Broker, no sockets: each "connection" is a protocol,
// its adapter and a recording sink. Clients speak to the broker in bytes; the bytes each one
// is sent are compared with hand-written expectations, one field a line. A transport close is
// simulated by calling transportClosed() (what Connection does once the socket is gone).
#include "ProtocolTestUtil.h"

#include "core/Broker.h"
#include "mqtt/Adapter.h"
#include "mqtt/ServerProtocol.h"

#include <QRegularExpression>
#include <QTest>

#include <memory>

using namespace ferry;
using namespace ferry::mqtt;
using prototest::hex;

namespace {

constexpr std::int64_t T0 = 1000000;

// One connection. Members in this order so that the adapter (whose destructor may still talk
// to its protocol) goes first and the sink last.
struct Client {
    Client(core::Broker &broker, const QByteArray &peer)
        : proto(sink, adapter, prototest::plainSettings(), peer),
          adapter(broker, AdapterSettings{}, nullptr)
    {
        adapter.setProtocol(&proto);
        proto.start();
        sink.clear();
    }
    void feed(const QByteArray &bytes, std::int64_t now = T0)
    {
        proto.receive(bytes.constData(), bytes.size(), now);
    }
    // What was sent since the last call, as packets; clears the record.
    QList<QByteArray> take()
    {
        const QList<QByteArray> out = sink.packets();
        sink.clear();
        return out;
    }
    prototest::RecordingSink sink;
    ServerProtocol proto;
    Adapter adapter;
};

// Input builders (what a client sends). Bodies stay below 128 bytes.
QByteArray frame(quint8 first, const QByteArray &body)
{
    Q_ASSERT(body.size() < 128);
    return QByteArray(1, char(first)) + QByteArray(1, char(body.size())) + body;
}

QByteArray field(const QByteArray &s)
{
    return QByteArray(1, char(s.size() >> 8)) + QByteArray(1, char(s.size() & 0xff)) + s;
}

struct WillSpec {
    QByteArray topic;
    QByteArray payload;
};

QByteArray connectPacket(bool v5, const QByteArray &clientId, bool clean = true,
                         const WillSpec *will = nullptr, quint16 keepAlive = 0)
{
    QByteArray body = field("MQTT");
    body.append(char(v5 ? 5 : 4));
    body.append(char((clean ? 0x02 : 0) | (will ? 0x04 : 0)));
    body.append(char(keepAlive >> 8)).append(char(keepAlive & 0xff));
    if (v5)
        body.append(char(0)); // no properties
    body.append(field(clientId));
    if (will) {
        if (v5)
            body.append(char(0)); // no will properties
        body.append(field(will->topic)).append(field(will->payload));
    }
    return frame(0x10, body);
}

QByteArray subscribePacket(bool v5, quint16 id, const QByteArray &filter, quint8 qos)
{
    QByteArray body;
    body.append(char(id >> 8)).append(char(id & 0xff));
    if (v5)
        body.append(char(0));
    body.append(field(filter)).append(char(qos));
    return frame(0x82, body);
}

QByteArray publishPacket(bool v5, quint8 qos, quint16 id, const QByteArray &topic,
                         const QByteArray &payload, bool retain = false, bool dup = false)
{
    QByteArray body = field(topic);
    if (qos > 0)
        body.append(char(id >> 8)).append(char(id & 0xff));
    if (v5)
        body.append(char(0));
    body.append(payload);
    return frame(quint8(0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0)), body);
}

const QByteArray kConnack5 = hex("20 03 | CONNACK, remaining length 3\n"
                                 "00    | session present 0\n"
                                 "00    | success\n"
                                 "00    | property length");
const QByteArray kConnack311 = hex("20 02 | CONNACK, remaining length 2\n"
                                   "00    | session present 0\n"
                                   "00    | accepted");

core::Limits limits(std::uint16_t maxInflight = 20)
{
    core::Limits l;
    l.maxInflight = maxInflight;
    return l;
}

} // namespace

class TstProtocolBroker : public QObject {
    Q_OBJECT
private:
    // Connects a client and checks its CONNACK.
    std::unique_ptr<Client> online(core::Broker &broker, const QByteArray &id, bool v5 = true);
    // Connects and subscribes `filter` with packet id 1; checks SUBACK.
    std::unique_ptr<Client> subscriber(core::Broker &broker, const QByteArray &id,
                                       const QByteArray &filter, quint8 qos, bool v5 = true);
private slots:
    void qos1FlowByteForByte_MQTT_4_3_2();
    void qos1PubackOpensTheWindow();
    void qos2FlowByteForByte_MQTT_4_3_3();
    void qos2DuplicateBeforePubrel_MQTT_4_3_3();
    void qosDowngradedToSubscription_MQTT_3_8_4_6();
    void pubrelUnknownId_data();
    void pubrelUnknownId();
    void sessionTakeover_MQTT_3_1_4_3();
    void will_data();
    void will();
    void assignedClientIdentifier_MQTT_3_2_2_16();
    void emptyClientId311CleanSession_MQTT_3_1_3_8();
    void emptyClientId311PersistentRefused_MQTT_3_1_3_8();
    void retainedAfterSuback_MQTT_3_3_1_9();
    void noMatchingSubscribers_data();
    void noMatchingSubscribers();
    void sysTopicRefused_data();
    void sysTopicRefused();
};

std::unique_ptr<Client> TstProtocolBroker::online(core::Broker &broker, const QByteArray &id,
                                                  bool v5)
{
    auto c = std::make_unique<Client>(broker, "127.0.0.1:" + id);
    c->feed(connectPacket(v5, id));
    const auto got = c->take();
    [&] { QCOMPARE(got, QList<QByteArray>{v5 ? kConnack5 : kConnack311}); }();
    return c;
}

std::unique_ptr<Client> TstProtocolBroker::subscriber(core::Broker &broker, const QByteArray &id,
                                                      const QByteArray &filter, quint8 qos, bool v5)
{
    auto c = online(broker, id, v5);
    c->feed(subscribePacket(v5, 1, filter, qos));
    QByteArray suback = v5 ? hex("90 04 | SUBACK, remaining length 4\n"
                                 "00 01 | packet id 1\n"
                                 "00    | property length")
                           : hex("90 03 | SUBACK, remaining length 3\n"
                                 "00 01 | packet id 1");
    suback.append(char(qos)); // granted QoS as asked
    const auto got = c->take();
    [&] { QCOMPARE(got, QList<QByteArray>{suback}); }();
    return c;
}

// 4.3.2: QoS 1, PUBLISH -> PUBACK on both legs.
void TstProtocolBroker::qos1FlowByteForByte_MQTT_4_3_2()
{
    core::Broker broker(limits());
    auto sub = subscriber(broker, "sub", "t", 2);
    auto pub = online(broker, "pub");
    QVERIFY(!QTest::currentTestFailed());

    pub->feed(hex("32    | PUBLISH QoS 1\n"
                  "08    | remaining length\n"
                  "00 01 74 | topic t\n"
                  "00 0a | packet id 10\n"
                  "00    | property length\n"
                  "68 69 | payload hi"));
    QCOMPARE(pub->take(), QList<QByteArray>{hex("40    | PUBACK\n"
                                                "02    | remaining length\n"
                                                "00 0a | packet id 10 (success, short form)")});
    QCOMPARE(sub->take(), QList<QByteArray>{hex("32       | PUBLISH QoS 1 (min of 1 and 2)\n"
                                                "08       | remaining length\n"
                                                "00 01 74 | topic t\n"
                                                "00 01    | packet id 1, the session's own\n"
                                                "00       | property length\n"
                                                "68 69    | payload hi")});
    sub->feed(hex("40 02 00 01 | PUBACK 1"));
    QCOMPARE(sub->take(), QList<QByteArray>());
    QCOMPARE(sub->sink.closes, 0);
    QCOMPARE(pub->sink.closes, 0);
}

// The PUBACK frees the outgoing window: with a window of 1 the second message waits for it.
void TstProtocolBroker::qos1PubackOpensTheWindow()
{
    core::Broker broker(limits(1));
    auto sub = subscriber(broker, "sub", "t", 1);
    auto pub = online(broker, "pub");
    QVERIFY(!QTest::currentTestFailed());
    pub->feed(publishPacket(true, 1, 1, "t", "a") + publishPacket(true, 1, 2, "t", "b"));
    QCOMPARE(sub->take(), QList<QByteArray>{hex("32 07 | PUBLISH QoS 1\n"
                                                "00 01 74 | topic t\n"
                                                "00 01 | packet id 1\n"
                                                "00 | property length\n"
                                                "61 | payload a")});
    sub->feed(hex("40 02 00 01 | PUBACK 1"));
    QCOMPARE(sub->take(), QList<QByteArray>{hex("32 07 | PUBLISH QoS 1\n"
                                                "00 01 74 | topic t\n"
                                                "00 02 | packet id 2\n"
                                                "00 | property length\n"
                                                "62 | payload b")});
}

// 4.3.3: QoS 2, PUBLISH -> PUBREC -> PUBREL -> PUBCOMP on both legs.
void TstProtocolBroker::qos2FlowByteForByte_MQTT_4_3_3()
{
    core::Broker broker(limits());
    auto sub = subscriber(broker, "sub", "t", 2);
    auto pub = online(broker, "pub");
    QVERIFY(!QTest::currentTestFailed());

    pub->feed(hex("34 08 | PUBLISH QoS 2, remaining length\n"
                  "00 01 74 | topic t\n"
                  "00 0b | packet id 11\n"
                  "00 | property length\n"
                  "68 69 | payload hi"));
    QCOMPARE(pub->take(), QList<QByteArray>{hex("50    | PUBREC\n"
                                                "02    | remaining length\n"
                                                "00 0b | packet id 11")});
    QCOMPARE(sub->take(), QList<QByteArray>{hex("34 08 | PUBLISH QoS 2\n"
                                                "00 01 74 | topic t\n"
                                                "00 01 | packet id 1\n"
                                                "00 | property length\n"
                                                "68 69 | payload hi")});
    pub->feed(hex("62 02 00 0b | PUBREL 11"));
    QCOMPARE(pub->take(), QList<QByteArray>{hex("70    | PUBCOMP\n"
                                                "02    | remaining length\n"
                                                "00 0b | packet id 11")});

    sub->feed(hex("50 02 00 01 | PUBREC 1"));
    QCOMPARE(sub->take(), QList<QByteArray>{hex("62    | PUBREL (flags 0010)\n"
                                                "02    | remaining length\n"
                                                "00 01 | packet id 1")});
    sub->feed(hex("70 02 00 01 | PUBCOMP 1"));
    QCOMPARE(sub->take(), QList<QByteArray>());
    QCOMPARE(sub->sink.closes + pub->sink.closes, 0);

    // After PUBCOMP the id is free: the same id is a new message.
    pub->feed(publishPacket(true, 2, 11, "t", "2"));
    QCOMPARE(pub->take(), QList<QByteArray>{hex("50 02 00 0b | PUBREC 11")});
    QCOMPARE(sub->take().size(), 1);
}

// 4.3.3: until PUBREL the receiver "MUST respond to a subsequent PUBLISH with the same Packet
// Identifier by sending PUBREC" and must not deliver it to onward recipients again
// (MQTT-4.3.3-9 in 5.0: "...MUST NOT cause duplicate messages to be delivered").
void TstProtocolBroker::qos2DuplicateBeforePubrel_MQTT_4_3_3()
{
    core::Broker broker(limits());
    auto sub = subscriber(broker, "sub", "t", 2);
    auto pub = online(broker, "pub");
    QVERIFY(!QTest::currentTestFailed());
    pub->feed(publishPacket(true, 2, 7, "t", "x"));
    QCOMPARE(pub->take(), QList<QByteArray>{hex("50 02 00 07 | PUBREC 7")});
    QCOMPARE(sub->take().size(), 1);

    pub->feed(hex("3c 07 | PUBLISH QoS 2 DUP\n"
                  "00 01 74 | topic t\n"
                  "00 07 | packet id 7\n"
                  "00 | property length\n"
                  "78 | payload x"));
    QCOMPARE(pub->take(), QList<QByteArray>{hex("50 02 00 07 | PUBREC 7 again")});
    QCOMPARE(sub->take(), QList<QByteArray>()); // not delivered twice

    pub->feed(hex("62 02 00 07 | PUBREL 7"));
    QCOMPARE(pub->take(), QList<QByteArray>{hex("70 02 00 07 | PUBCOMP 7")});
    QCOMPARE(sub->take(), QList<QByteArray>());
}

// MQTT-3.8.4-6 (5.0 3.8.4): delivered at min(published QoS, granted QoS).
void TstProtocolBroker::qosDowngradedToSubscription_MQTT_3_8_4_6()
{
    core::Broker broker(limits());
    auto sub = subscriber(broker, "sub", "t", 0, false);
    auto pub = online(broker, "pub");
    QVERIFY(!QTest::currentTestFailed());
    pub->feed(publishPacket(true, 2, 3, "t", "hi"));
    QCOMPARE(sub->take(),
             QList<QByteArray>{hex("30 05 | PUBLISH QoS 0, remaining length\n"
                                   "00 01 74 | topic t\n"
                                   "68 69 | payload hi (3.1.1: no properties, no id)")});
}

// 5.0 3.7.2.1: PUBCOMP reason 0x92 Packet Identifier not found. 3.1.1 has no reason: plain PUBCOMP.
void TstProtocolBroker::pubrelUnknownId_data()
{
    QTest::addColumn<bool>("v5");
    QTest::addColumn<QByteArray>("pubcomp");
    QTest::newRow("5.0") << true
                         << hex("70    | PUBCOMP\n"
                                "03    | remaining length\n"
                                "00 63 | packet id 99\n"
                                "92    | packet identifier not found");
    QTest::newRow("3.1.1") << false
                           << hex("70    | PUBCOMP\n"
                                  "02    | remaining length\n"
                                  "00 63 | packet id 99");
}

void TstProtocolBroker::pubrelUnknownId()
{
    QFETCH(bool, v5);
    QFETCH(QByteArray, pubcomp);
    core::Broker broker(limits());
    auto c = online(broker, "c", v5);
    QVERIFY(!QTest::currentTestFailed());
    c->feed(hex("62 02 00 63 | PUBREL 99, never received"));
    QCOMPARE(c->take(), QList<QByteArray>{pubcomp});
    QCOMPARE(c->sink.closes, 0);
}

// MQTT-3.1.4-3: "If the ClientID represents a Client already connected to the Server, the
// Server sends a DISCONNECT packet to the existing Client with Reason Code of 0x8E (Session
// taken over) ... and MUST close the Network Connection of the existing Client."
void TstProtocolBroker::sessionTakeover_MQTT_3_1_4_3()
{
    core::Broker broker(limits());
    auto first = online(broker, "same");
    QVERIFY(!QTest::currentTestFailed());
    auto second = std::make_unique<Client>(broker, "127.0.0.1:2");
    second->feed(connectPacket(true, "same"));
    QCOMPARE(first->sink.closes, 1);
    QCOMPARE(first->sink.log.last(), QStringLiteral("close"));
    QCOMPARE(first->take(), QList<QByteArray>{hex("e0 | DISCONNECT\n"
                                                  "02 | remaining length\n"
                                                  "8e | session taken over\n"
                                                  "00 | property length")});
    QCOMPARE(first->proto.state(), ServerProtocol::State::Closing);
    QCOMPARE(second->take(), QList<QByteArray>{kConnack5});

    // The old socket closes later: it must not disturb the new owner of the session.
    first->proto.transportClosed();
    QCOMPARE(broker.sessionCount(), 1);
    QVERIFY(broker.findSession("same") != nullptr);
    QVERIFY(broker.findSession("same")->isOnline());
    second->feed(subscribePacket(true, 5, "t", 0));
    QCOMPARE(second->take(), QList<QByteArray>{hex("90 04 00 05 00 00 | SUBACK 5, QoS 0")});
}

// 5.0 3.1.2.5: the will is published when the connection closes without a DISCONNECT 0x00
// (network failure, keep alive expiry, 0x04), and not after a normal DISCONNECT (MQTT-3.14.4-3).
void TstProtocolBroker::will_data()
{
    QTest::addColumn<int>("how");
    QTest::addColumn<bool>("published");
    QTest::newRow("socket closed") << 0 << true;
    QTest::newRow("DISCONNECT 0x00") << 1 << false;
    QTest::newRow("DISCONNECT 0x04") << 2 << true;
    QTest::newRow("keep alive expired") << 3 << true;
    QTest::newRow("taken over") << 4 << true;
}

void TstProtocolBroker::will()
{
    QFETCH(int, how);
    QFETCH(bool, published);
    core::Broker broker(limits());
    auto watcher = subscriber(broker, "watcher", "w", 0);
    QVERIFY(!QTest::currentTestFailed());
    const WillSpec will{"w", "bye"};
    auto c = std::make_unique<Client>(broker, "127.0.0.1:9");
    c->feed(connectPacket(true, "dying", true, &will, 10), T0);
    QCOMPARE(c->take(), QList<QByteArray>{kConnack5});
    std::unique_ptr<Client> successor;
    switch (how) {
    case 0:
        break;
    case 1:
        c->feed(hex("e0 00 | DISCONNECT normal"));
        break;
    case 2:
        c->feed(hex("e0 01 04 | DISCONNECT with will message"));
        break;
    case 3:
        c->proto.timerFired(ProtocolTimer::KeepAlive, T0 + 15000);
        break;
    case 4:
        successor = std::make_unique<Client>(broker, "127.0.0.1:10");
        successor->feed(connectPacket(true, "dying"));
        break;
    }
    c->proto.transportClosed();
    const QList<QByteArray> expected{hex("30       | PUBLISH QoS 0\n"
                                         "07       | remaining length\n"
                                         "00 01 77 | topic w\n"
                                         "00       | property length\n"
                                         "62 79 65 | payload bye")};
    QCOMPARE(watcher->take(), published ? expected : QList<QByteArray>());
}

// MQTT-3.2.2-16: "If the Client connects using a zero length Client Identifier, the Server MUST
// respond with a CONNACK containing an Assigned Client Identifier."
void TstProtocolBroker::assignedClientIdentifier_MQTT_3_2_2_16()
{
    core::Broker broker(limits());
    Client c(broker, "127.0.0.1:1");
    c.feed(connectPacket(true, ""));
    const auto got = c.take();
    QCOMPARE(got.size(), 1);
    const QByteArray connack = got.at(0);
    QCOMPARE(connack.left(8), hex("20    | CONNACK\n"
                                  "30    | remaining length 48\n"
                                  "00    | session present 0\n"
                                  "00    | success\n"
                                  "2d    | property length 45\n"
                                  "12    | assigned client identifier\n"
                                  "00 2a | length 42"));
    const QByteArray assigned = connack.mid(8);
    QVERIFY2(
        QRegularExpression("^ferry-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
            .match(QString::fromLatin1(assigned))
            .hasMatch(),
        assigned.constData());
    QCOMPARE(c.proto.clientId(), assigned);
    QVERIFY(broker.findSession(assigned) != nullptr);

    Client d(broker, "127.0.0.1:2");
    d.feed(connectPacket(true, ""));
    QVERIFY(d.take().value(0).mid(8) != assigned); // a new identifier each time
}

// 3.1.1 MQTT-3.1.3-6/7: a zero-byte ClientId is allowed with CleanSession 1 (the server assigns
// one; 3.1.1 CONNACK has no field to say which).
void TstProtocolBroker::emptyClientId311CleanSession_MQTT_3_1_3_8()
{
    core::Broker broker(limits());
    Client c(broker, "127.0.0.1:1");
    c.feed(connectPacket(false, "", true));
    QCOMPARE(c.take(), QList<QByteArray>{kConnack311});
    QCOMPARE(broker.sessionCount(), 1);
}

// 3.1.1 MQTT-3.1.3-8: "If the Client supplies a zero-byte ClientId with CleanSession set to 0,
// the Server MUST respond to the CONNECT Packet with a CONNACK return code 0x02 (Identifier
// rejected) and then close the Network Connection."
void TstProtocolBroker::emptyClientId311PersistentRefused_MQTT_3_1_3_8()
{
    core::Broker broker(limits());
    Client c(broker, "127.0.0.1:1");
    c.feed(connectPacket(false, "", false));
    QCOMPARE(c.sink.sent, hex("20 | CONNACK\n"
                              "02 | remaining length\n"
                              "00 | session present 0\n"
                              "02 | identifier rejected"));
    QCOMPARE(c.sink.log.last(), QStringLiteral("close"));
    QCOMPARE(broker.sessionCount(), 0);
}

// MQTT-3.3.1-9 (5.0): a new subscription gets the retained messages, RETAIN flag 1
// (3.3.1.3). The spec does not order them against SUBACK; Ferry sends SUBACK first, as
// Mosquitto and EMQX do, so a client sees its subscription confirmed before its traffic.
void TstProtocolBroker::retainedAfterSuback_MQTT_3_3_1_9()
{
    core::Broker broker(limits());
    auto pub = online(broker, "pub");
    QVERIFY(!QTest::currentTestFailed());
    pub->feed(publishPacket(true, 0, 0, "r", "v", true));
    Client sub(broker, "127.0.0.1:2");
    sub.feed(connectPacket(true, "sub"));
    sub.take();
    sub.feed(subscribePacket(true, 4, "r", 1));
    const QList<QByteArray> expected{hex("90 04 | SUBACK\n"
                                         "00 04 | packet id 4\n"
                                         "00    | property length\n"
                                         "01    | granted QoS 1"),
                                     hex("31       | PUBLISH QoS 0 RETAIN\n"
                                         "05       | remaining length\n"
                                         "00 01 72 | topic r\n"
                                         "00       | property length\n"
                                         "76       | payload v")};
    QCOMPARE(sub.take(), expected);
}

// 5.0 3.4.2.1: PUBACK 0x10 No matching subscribers ("The message is accepted but there are no
// subscribers"). 3.1.1 PUBACK has no reason code.
void TstProtocolBroker::noMatchingSubscribers_data()
{
    QTest::addColumn<bool>("v5");
    QTest::addColumn<QByteArray>("puback");
    QTest::newRow("5.0") << true
                         << hex("40    | PUBACK\n"
                                "03    | remaining length\n"
                                "00 0c | packet id 12\n"
                                "10    | no matching subscribers");
    QTest::newRow("3.1.1") << false << hex("40 02 00 0c | PUBACK 12");
}

void TstProtocolBroker::noMatchingSubscribers()
{
    QFETCH(bool, v5);
    QFETCH(QByteArray, puback);
    core::Broker broker(limits());
    auto pub = online(broker, "pub", v5);
    QVERIFY(!QTest::currentTestFailed());
    pub->feed(publishPacket(v5, 1, 12, "nobody", "x"));
    QCOMPARE(pub->take(), QList<QByteArray>{puback});
}

// $SYS belongs to the broker (4.7.2): a client PUBLISH there is refused 0x87 Not authorized
// and reaches nobody, not even a $SYS/# subscriber.
void TstProtocolBroker::sysTopicRefused_data()
{
    QTest::addColumn<int>("qos");
    QTest::addColumn<QByteArray>("ack");
    QTest::newRow("QoS 1") << 1
                           << hex("40    | PUBACK\n"
                                  "03    | remaining length\n"
                                  "00 0d | packet id 13\n"
                                  "87    | not authorized");
    QTest::newRow("QoS 2") << 2
                           << hex("50    | PUBREC\n"
                                  "03    | remaining length\n"
                                  "00 0d | packet id 13\n"
                                  "87    | not authorized");
}

void TstProtocolBroker::sysTopicRefused()
{
    QFETCH(int, qos);
    QFETCH(QByteArray, ack);
    core::Broker broker(limits());
    auto watcher = subscriber(broker, "watcher", "$SYS/#", 2);
    auto pub = online(broker, "pub");
    QVERIFY(!QTest::currentTestFailed());
    pub->feed(publishPacket(true, quint8(qos), 13, "$SYS/x", "forged"));
    QCOMPARE(pub->take(), QList<QByteArray>{ack});
    QCOMPARE(watcher->take(), QList<QByteArray>());
    QCOMPARE(pub->sink.closes, 0);
}

QTEST_GUILESS_MAIN(TstProtocolBroker)
#include "tst_protocol_broker.moc"
