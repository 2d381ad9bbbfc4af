// ServerProtocol alone: bytes, timer firings and the close notice go in; the recording sink and
// handler show what came out. No socket, no event loop, no sleep: time is a number passed in.
// Expected bytes are written by hand, one field a line.
#include "ProtocolTestUtil.h"

#include "core/Delivery.h"
#include "mqtt/ServerProtocol.h"

#include <QTest>

#include <memory>

using namespace ferry::mqtt;
using prototest::hex;

namespace {

constexpr std::int64_t T0 = 1000000; // an arbitrary monotonic start, far from zero

struct Fixture {
    explicit Fixture(const ProtocolSettings &settings = prototest::plainSettings())
        : proto(sink, handler, settings, "127.0.0.1:5000")
    {
        // Answer CONNECT from inside onConnect as the adapter does: success, the keep alive asked.
        handler.connectHook = [this](Connect &c) {
            Connack connack;
            proto.sendConnack(connack, c.keepAlive);
        };
    }
    void feed(const QByteArray &bytes, std::int64_t now = T0)
    {
        proto.receive(bytes.constData(), bytes.size(), now);
    }
    prototest::RecordingSink sink;
    prototest::RecordingHandler handler;
    ServerProtocol proto;
};

// Frames a body whose length is below 128 (one-byte Remaining Length). Only builds input.
QByteArray frame(quint8 first, const QByteArray &body)
{
    Q_ASSERT(body.size() < 128);
    return QByteArray(1, char(first)) + QByteArray(1, char(body.size())) + body;
}

// CONNECT 5.0, Clean Start, client id "c", with the given property bytes.
QByteArray connect5(const QByteArray &properties = {}, quint16 keepAlive = 0)
{
    QByteArray body = hex("00 04 4d 51 54 54 | protocol name MQTT\n"
                          "05                | protocol level 5\n"
                          "02                | flags: clean start\n");
    body.append(char(keepAlive >> 8)).append(char(keepAlive & 0xff));
    body.append(char(properties.size())).append(properties);
    body.append(hex("00 01 63 | client id c"));
    return frame(0x10, body);
}

QByteArray connect311(quint16 keepAlive = 0)
{
    QByteArray body = hex("00 04 4d 51 54 54 | protocol name MQTT\n"
                          "04                | protocol level 4 (3.1.1)\n"
                          "02                | flags: clean session\n");
    body.append(char(keepAlive >> 8)).append(char(keepAlive & 0xff));
    body.append(hex("00 01 63 | client id c"));
    return frame(0x10, body);
}

// The reason code of a 5.0 DISCONNECT with a one-byte Remaining Length, or -1.
int disconnectReason(const QByteArray &packet)
{
    if (packet.size() < 3 || quint8(packet.at(0)) != 0xe0)
        return -1;
    return quint8(packet.at(2));
}

const QStringList kCloseNow = {"cancel connect", "cancel keepalive", "close"};

ferry::core::Delivery delivery(const QByteArray &topic, const QByteArray &payload, quint8 qos = 0)
{
    ferry::core::Delivery d;
    d.message = ferry::core::Message(topic, payload, qos, false);
    d.qos = qos;
    return d;
}

} // namespace

class TstProtocol : public QObject {
    Q_OBJECT
private slots:
    void firstPacketMustBeConnect_MQTT_3_1_0_1_data();
    void firstPacketMustBeConnect_MQTT_3_1_0_1();
    void secondConnectIsProtocolError_MQTT_3_1_0_2();
    void secondConnect311ClosesWithoutDisconnect();
    void keepAliveOneAndAHalf_MQTT_3_1_2_22();
    void partialPacketIsNotActivity_MQTT_3_1_2_22();
    void completePacketIsActivity();
    void keepAliveZeroArmsNothing();
    void connectTimeout();
    void connectTimerCancelledByConnect();
    void pingreqAnswered_MQTT_3_12_4_1_data();
    void pingreqAnswered_MQTT_3_12_4_1();
    void inboundTopicAliasSetAndReused_MQTT_3_3_2_12();
    void inboundTopicAliasErrors_data();
    void inboundTopicAliasErrors();
    void receiveMaximumExceeded_MQTT_3_3_4_7();
    void receiveMaximumNotAppliedTo311();
    void closeReasonNamesWhyTheConnectionEnded_data();
    void closeReasonNamesWhyTheConnectionEnded();
    void receiveMaximumFreedByAck_data();
    void receiveMaximumFreedByAck();
    void resentPublishDoesNotCountTwice();
    void serverOnlyPacketsRefused_data();
    void serverOnlyPacketsRefused();
    void subscriptionIdentifierFromClient_MQTT_3_3_4_6();
    void requestProblemInformationZero_MQTT_3_1_2_29();
    void requestProblemInformationZeroKeepsConnackReason();
    void requestProblemInformationDefaultKeepsReason();
    void clientMaximumPacketSizePublish_MQTT_3_1_2_25();
    void clientMaximumPacketSizeDisconnect_MQTT_3_14_2_3();
    void clientMaximumPacketSizeSuback_MQTT_3_9_2_1();
    void outboundTopicAlias_MQTT_3_1_2_26();
    void outboundTopicAliasNotAnnounced_MQTT_3_1_2_27();
    void outboundTopicAliasNotSpentOnDiscardedPublish();
    void qos0ShedForSlowReader();
    void connackAdvertisesCapabilities_data();
    void connackAdvertisesCapabilities();
    void refusedConnackAdvertisesNothing();
    void decodeErrorInConnect5GetsConnack_data();
    void decodeErrorInConnect5GetsConnack();
    void decodeErrorInConnect311JustCloses();
    void unsupportedProtocolLevel_MQTT_3_1_2_2();
    void v311NeverGetsDisconnect_data();
    void v311NeverGetsDisconnect();
    void transportClosedNotifiesOnce();
    void gracefulOnlyAfterValidDisconnect_MQTT_3_14_4_3_data();
    void gracefulOnlyAfterValidDisconnect_MQTT_3_14_4_3();
};

// MQTT-3.1.0-1: "After a Network Connection is established by a Client to a Server, the first
// packet sent from the Client to the Server MUST be a CONNECT packet." Refused on the first
// byte, before any of the announced body is buffered.
void TstProtocol::firstPacketMustBeConnect_MQTT_3_1_0_1_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("publish announcing 256 MiB") << hex("30          | PUBLISH QoS 0\n"
                                                       "ff ff ff 7f | remaining length 268435455");
    QTest::newRow("pingreq") << hex("c0 00 | PINGREQ");
    QTest::newRow("disconnect") << hex("e0 00 | DISCONNECT");
    QTest::newRow("subscribe first byte only") << hex("82 | SUBSCRIBE");
}

void TstProtocol::firstPacketMustBeConnect_MQTT_3_1_0_1()
{
    QFETCH(QByteArray, bytes);
    Fixture f;
    f.proto.start();
    QCOMPARE(f.sink.log, QStringList{"arm connect 10000"});
    f.sink.clear();

    f.feed(bytes);
    QCOMPARE(f.sink.sent, QByteArray());
    QCOMPARE(f.sink.log, kCloseNow);
    QCOMPARE(f.handler.upwardCalls(), 0);
    QCOMPARE(f.proto.state(), ServerProtocol::State::Closing);

    // Whatever follows (even a valid CONNECT) is ignored.
    f.sink.clear();
    f.feed(connect5());
    QCOMPARE(f.sink.log, QStringList());
    QCOMPARE(f.handler.connects.size(), 0);
    f.proto.transportClosed();
    QCOMPARE(f.handler.closed, QList<bool>{false});
}

// MQTT-3.1.0-2: "The Server MUST process a second CONNECT packet sent from a Client as a
// Protocol Error and close the Network Connection."
void TstProtocol::secondConnectIsProtocolError_MQTT_3_1_0_2()
{
    Fixture f;
    f.feed(connect5());
    QCOMPARE(f.sink.sent, hex("20 | CONNACK\n"
                              "03 | remaining length\n"
                              "00 | acknowledge flags\n"
                              "00 | reason: success\n"
                              "00 | property length"));
    f.sink.clear();
    f.feed(connect5());
    QCOMPARE(f.handler.connects.size(), 1);
    const auto packets = f.sink.packets();
    QCOMPARE(packets.size(), 1);
    QCOMPARE(disconnectReason(packets.at(0)), 0x82); // Protocol Error
    QCOMPARE(f.sink.log.mid(1), kCloseNow);
}

void TstProtocol::secondConnect311ClosesWithoutDisconnect()
{
    Fixture f;
    f.feed(connect311());
    QCOMPARE(f.sink.sent, hex("20 | CONNACK\n"
                              "02 | remaining length\n"
                              "00 | session present 0\n"
                              "00 | return code: accepted"));
    f.sink.clear();
    f.feed(connect311());
    QCOMPARE(f.sink.sent, QByteArray());
    QCOMPARE(f.sink.log, kCloseNow);
}

// MQTT-3.1.2-22: "If the Keep Alive value is non-zero and the Server does not receive an MQTT
// Control Packet from the Client within one and a half times the Keep Alive time period, it
// MUST close the Network Connection to the Client as if the network had failed."
void TstProtocol::keepAliveOneAndAHalf_MQTT_3_1_2_22()
{
    Fixture f;
    f.feed(connect5({}, 10), T0);
    QVERIFY(f.sink.log.contains("arm keepalive 15000"));
    f.sink.clear();

    f.feed(hex("c0 00 | PINGREQ"), T0 + 5000);
    QCOMPARE(f.sink.sent, hex("d0 00 | PINGRESP"));
    f.sink.clear();

    // Fired at 15 s: the last packet was 10 s ago, so 5 s remain.
    f.proto.timerFired(ProtocolTimer::KeepAlive, T0 + 15000);
    QCOMPARE(f.sink.log, QStringList{"arm keepalive 5000"});
    f.sink.clear();

    // Fired at 20 s: 15 s of silence.
    f.proto.timerFired(ProtocolTimer::KeepAlive, T0 + 20000);
    QCOMPARE(f.sink.sent, hex("e0 | DISCONNECT\n"
                              "02 | remaining length\n"
                              "8d | reason: keep alive timeout\n"
                              "00 | property length"));
    QCOMPARE(f.sink.log.mid(1), kCloseNow);
    f.proto.transportClosed();
    QCOMPARE(f.handler.closed, QList<bool>{false}); // as if the network failed: will stands
    QCOMPARE(f.handler.closeReasons, QList<QByteArray>{"keepalive_timeout"});
}

void TstProtocol::partialPacketIsNotActivity_MQTT_3_1_2_22()
{
    Fixture f;
    f.feed(connect5({}, 10), T0);
    f.sink.clear();
    f.feed(hex("c0 | first byte of a PINGREQ"), T0 + 14000);
    QCOMPARE(f.sink.sent, QByteArray());
    f.proto.timerFired(ProtocolTimer::KeepAlive, T0 + 15000);
    QCOMPARE(f.sink.packets().size(), 1);
    QCOMPARE(disconnectReason(f.sink.packets().at(0)), 0x8d);
    QCOMPARE(f.sink.closes, 1);
}

void TstProtocol::completePacketIsActivity()
{
    Fixture f;
    f.feed(connect5({}, 10), T0);
    f.sink.clear();
    f.feed(hex("c0 | PINGREQ, first byte"), T0 + 13000);
    f.feed(hex("00 | remaining length"), T0 + 14000); // complete at 14 s
    f.sink.clear();
    f.proto.timerFired(ProtocolTimer::KeepAlive, T0 + 15000);
    QCOMPARE(f.sink.log, QStringList{"arm keepalive 14000"});
}

void TstProtocol::keepAliveZeroArmsNothing()
{
    Fixture f;
    f.feed(connect5({}, 0));
    QCOMPARE(f.sink.armCount(ProtocolTimer::KeepAlive), 0);
}

void TstProtocol::connectTimeout()
{
    ProtocolSettings s = prototest::plainSettings();
    s.connectTimeoutMs = 2500;
    Fixture f(s);
    f.proto.start();
    QCOMPARE(f.sink.log, QStringList{"arm connect 2500"});
    f.sink.clear();
    f.feed(hex("10 | CONNECT, first byte only"));
    f.proto.timerFired(ProtocolTimer::Connect, T0 + 2500);
    QCOMPARE(f.sink.sent, QByteArray());
    QCOMPARE(f.sink.log, kCloseNow);
    QCOMPARE(f.handler.upwardCalls(), 0);
}

void TstProtocol::connectTimerCancelledByConnect()
{
    Fixture f;
    f.proto.start();
    f.feed(connect5());
    QCOMPARE(f.sink.log.value(1), QStringLiteral("cancel connect"));
    f.sink.clear();
    // A firing already queued when CONNECT arrived changes nothing.
    f.proto.timerFired(ProtocolTimer::Connect, T0 + 10000);
    QCOMPARE(f.sink.log, QStringList());
    QCOMPARE(f.proto.state(), ServerProtocol::State::Connected);
}

// MQTT-3.12.4-1: "The Server MUST send a PINGRESP packet in response to a PINGREQ packet."
void TstProtocol::pingreqAnswered_MQTT_3_12_4_1_data()
{
    QTest::addColumn<bool>("v5");
    QTest::newRow("5.0") << true;
    QTest::newRow("3.1.1") << false;
}

void TstProtocol::pingreqAnswered_MQTT_3_12_4_1()
{
    QFETCH(bool, v5);
    Fixture f;
    f.feed(v5 ? connect5() : connect311());
    f.sink.clear();
    f.feed(hex("c0 00 c0 00 | two PINGREQ in one read"));
    QCOMPARE(f.sink.sent, hex("d0 00 | PINGRESP\n"
                              "d0 00 | PINGRESP"));
    QCOMPARE(f.sink.closes, 0);
}

// MQTT-3.3.2-12: "A receiver MUST NOT carry forward any Topic Alias mappings from one Network
// Connection to another"; within one connection an alias set with a topic is reused by a
// PUBLISH with an empty topic.
void TstProtocol::inboundTopicAliasSetAndReused_MQTT_3_3_2_12()
{
    ProtocolSettings s = prototest::plainSettings();
    s.maxTopicAlias = 10;
    Fixture f(s);
    f.feed(connect5());
    f.sink.clear();
    f.feed(hex("30             | PUBLISH QoS 0\n"
               "0a             | remaining length\n"
               "00 03 61 2f 62 | topic a/b\n"
               "03             | property length\n"
               "23 00 01       | topic alias 1\n"
               "78             | payload x"));
    f.feed(hex("30             | PUBLISH QoS 0\n"
               "07             | remaining length\n"
               "00 00          | empty topic\n"
               "03             | property length\n"
               "23 00 01       | topic alias 1\n"
               "79             | payload y"));
    QCOMPARE(f.sink.sent, QByteArray());
    QCOMPARE(f.handler.publishes.size(), 2);
    QCOMPARE(f.handler.publishes.at(0).topic, QByteArray("a/b"));
    QCOMPARE(f.handler.publishes.at(1).topic, QByteArray("a/b"));
    QCOMPARE(f.handler.publishes.at(1).payload, QByteArray("y"));
    // Resolved for the adapter: the alias itself is not passed on.
    QVERIFY(!f.handler.publishes.at(1).properties.topicAlias);

    // A new connection knows nothing of alias 1.
    Fixture g(s);
    g.feed(connect5());
    g.sink.clear();
    g.feed(hex("30 07 | PUBLISH QoS 0, remaining length\n"
               "00 00 | empty topic\n"
               "03 23 00 01 | properties: topic alias 1\n"
               "79 | payload"));
    QCOMPARE(g.handler.publishes.size(), 0);
    QCOMPARE(disconnectReason(g.sink.sent), 0x82);
}

// MQTT-3.3.2-8 (alias 0 not permitted) and 3.3.2-9/10 (not above the Topic Alias Maximum):
// Topic Alias invalid 0x94. An alias never set, used with an empty topic: Protocol Error 0x82
// (3.3.2.3.4: "If the receiver does not already have a mapping ... it is a Protocol Error").
void TstProtocol::inboundTopicAliasErrors_data()
{
    QTest::addColumn<QByteArray>("publish");
    QTest::addColumn<int>("reason");
    QTest::newRow("alias 0") << hex("30 0a | PUBLISH, remaining length\n"
                                    "00 03 61 2f 62 | topic a/b\n"
                                    "03 23 00 00 | topic alias 0\n"
                                    "78 | payload")
                             << 0x94;
    QTest::newRow("alias 11 > maximum 10") << hex("30 0a | PUBLISH, remaining length\n"
                                                  "00 03 61 2f 62 | topic a/b\n"
                                                  "03 23 00 0b | topic alias 11\n"
                                                  "78 | payload")
                                           << 0x94;
    QTest::newRow("unknown alias 2") << hex("30 07 | PUBLISH, remaining length\n"
                                            "00 00 | empty topic\n"
                                            "03 23 00 02 | topic alias 2\n"
                                            "78 | payload")
                                     << 0x82;
}

void TstProtocol::inboundTopicAliasErrors()
{
    QFETCH(QByteArray, publish);
    QFETCH(int, reason);
    ProtocolSettings s = prototest::plainSettings();
    s.maxTopicAlias = 10;
    Fixture f(s);
    f.feed(connect5());
    f.feed(hex("30 0a | PUBLISH\n"
               "00 03 61 2f 62 | topic a/b\n"
               "03 23 00 01 | alias 1 set\n"
               "78 | payload"));
    f.sink.clear();
    f.feed(publish);
    QCOMPARE(f.handler.publishes.size(), 1);
    const auto packets = f.sink.packets();
    QCOMPARE(packets.size(), 1);
    QCOMPARE(disconnectReason(packets.at(0)), reason);
    QCOMPARE(f.sink.log.mid(1), kCloseNow);
}

namespace {
// QoS 1 or 2 PUBLISH to "t", payload "x".
QByteArray qosPublish(quint8 qos, quint16 id, bool dup = false)
{
    QByteArray body = hex("00 01 74 | topic t");
    body.append(char(id >> 8)).append(char(id & 0xff));
    body.append(hex("00 | property length\n"
                    "78 | payload x"));
    return frame(quint8(0x30 | (dup ? 0x08 : 0) | (qos << 1)), body);
}
ProtocolSettings receiveMaximumTwo()
{
    ProtocolSettings s = prototest::plainSettings();
    s.receiveMaximum = 2;
    return s;
}
} // namespace

// MQTT-3.3.4-7: "The Client MUST NOT send more than Receive Maximum QoS 1 and QoS 2 PUBLISH
// packets for which it has not received PUBACK, PUBCOMP, or PUBREC with a Reason Code of 128
// or greater from the Server." The Server answers DISCONNECT 0x93 Receive Maximum exceeded.
void TstProtocol::receiveMaximumExceeded_MQTT_3_3_4_7()
{
    Fixture f(receiveMaximumTwo());
    f.feed(connect5());
    f.sink.clear();
    f.feed(qosPublish(1, 1));
    f.feed(qosPublish(2, 2));
    QCOMPARE(f.sink.sent, QByteArray());
    f.feed(qosPublish(1, 3));
    QCOMPARE(f.handler.publishes.size(), 2);
    QCOMPARE(f.sink.packets().size(), 1);
    QCOMPARE(disconnectReason(f.sink.packets().at(0)), 0x93);
    QCOMPARE(f.sink.closes, 1);
}

// Why a connection ended, in EMQX's words ($events/client_disconnected "reason").
void TstProtocol::closeReasonNamesWhyTheConnectionEnded_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QByteArray>("reason");
    QTest::newRow("DISCONNECT 0x00") << hex("e0 00") << QByteArray("normal");
    QTest::newRow("DISCONNECT 0x04") << hex("e0 01 04") << QByteArray("normal");
    QTest::newRow("peer closed") << QByteArray() << QByteArray("tcp_closed");
    QTest::newRow("malformed") << hex("30 80 80 80 80 01") << QByteArray("protocol_error");
    QTest::newRow("second CONNECT") << connect5() << QByteArray("protocol_error");
}

void TstProtocol::closeReasonNamesWhyTheConnectionEnded()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QByteArray, reason);
    Fixture f;
    f.feed(connect5());
    if (!bytes.isEmpty())
        f.feed(bytes);
    f.proto.transportClosed();
    QCOMPARE(f.handler.closeReasons, QList<QByteArray>{reason});
}

// MQTT 3.1.1 has no Receive Maximum to tell the client, so none is enforced on it: a 3.1.1
// publisher with a wide window must not be disconnected for using it.
void TstProtocol::receiveMaximumNotAppliedTo311()
{
    Fixture f(receiveMaximumTwo());
    f.feed(connect311());
    f.sink.clear();
    for (quint16 id = 1; id <= 5; ++id)
        f.feed(frame(0x32, hex("00 01 74 | topic t") + QByteArray(1, char(0)) + QByteArray(1, char(id))
                               + hex("78 | payload x")));
    QCOMPARE(f.handler.publishes.size(), 5);
    QCOMPARE(f.sink.closes, 0);
}

void TstProtocol::receiveMaximumFreedByAck_data()
{
    QTest::addColumn<int>("type");
    QTest::addColumn<int>("packetId");
    QTest::addColumn<int>("reason");
    QTest::addColumn<bool>("freed");
    QTest::newRow("PUBACK 1") << int(PacketType::Puback) << 1 << 0x00 << true;
    QTest::newRow("PUBACK 1 failure") << int(PacketType::Puback) << 1 << 0x80 << true;
    QTest::newRow("PUBREC 2 success") << int(PacketType::Pubrec) << 2 << 0x00 << false;
    QTest::newRow("PUBREC 2 0x80") << int(PacketType::Pubrec) << 2 << 0x80 << true;
    QTest::newRow("PUBCOMP 2") << int(PacketType::Pubcomp) << 2 << 0x00 << true;
    QTest::newRow("PUBACK for an id not open") << int(PacketType::Puback) << 9 << 0x00 << false;
}

void TstProtocol::receiveMaximumFreedByAck()
{
    QFETCH(int, type);
    QFETCH(int, packetId);
    QFETCH(int, reason);
    QFETCH(bool, freed);
    Fixture f(receiveMaximumTwo());
    f.feed(connect5());
    f.feed(qosPublish(1, 1));
    f.feed(qosPublish(2, 2));
    PubResponse ack;
    ack.type = PacketType(type);
    ack.packetId = quint16(packetId);
    ack.reasonCode = quint8(reason);
    f.proto.send(ack);
    f.sink.clear();
    f.feed(qosPublish(1, 3));
    QCOMPARE(f.handler.publishes.size(), freed ? 3 : 2);
    QCOMPARE(f.sink.closes, freed ? 0 : 1);
}

void TstProtocol::resentPublishDoesNotCountTwice()
{
    Fixture f(receiveMaximumTwo());
    f.feed(connect5());
    f.feed(qosPublish(2, 1));
    f.feed(qosPublish(2, 2));
    f.sink.clear();
    f.feed(qosPublish(2, 1, true)); // DUP resend of an id still open
    QCOMPARE(f.handler.publishes.size(), 3);
    QCOMPARE(f.sink.closes, 0);
}

// Packets only a Server sends, and AUTH when no Authentication Method was agreed (4.12:
// "If the Client has not ... included an Authentication Method ... it is a Protocol Error").
void TstProtocol::serverOnlyPacketsRefused_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("CONNACK") << hex("20 03 | CONNACK\n"
                                    "00 00 | flags, success\n"
                                    "00    | property length");
    QTest::newRow("SUBACK") << hex("90 04 | SUBACK\n"
                                   "00 01 | packet id\n"
                                   "00    | property length\n"
                                   "00    | granted QoS 0");
    QTest::newRow("UNSUBACK") << hex("b0 04 | UNSUBACK\n"
                                     "00 01 | packet id\n"
                                     "00    | property length\n"
                                     "00    | success");
    QTest::newRow("PINGRESP") << hex("d0 00 | PINGRESP");
    QTest::newRow("AUTH") << hex("f0 00 | AUTH, reason 0 implied");
}

void TstProtocol::serverOnlyPacketsRefused()
{
    QFETCH(QByteArray, bytes);
    Fixture f;
    f.feed(connect5());
    f.sink.clear();
    f.feed(bytes);
    const auto packets = f.sink.packets();
    QCOMPARE(packets.size(), 1);
    QCOMPARE(disconnectReason(packets.at(0)), 0x82);
    QCOMPARE(f.sink.log.mid(1), kCloseNow);
    QCOMPARE(f.handler.upwardCalls(), 1); // the CONNECT only
}

// MQTT-3.3.4-6: "A PUBLISH packet sent from a Client to a Server MUST NOT contain a
// Subscription Identifier."
void TstProtocol::subscriptionIdentifierFromClient_MQTT_3_3_4_6()
{
    Fixture f;
    f.feed(connect5());
    f.sink.clear();
    f.feed(hex("30       | PUBLISH QoS 0\n"
               "07       | remaining length\n"
               "00 01 74 | topic t\n"
               "02       | property length\n"
               "0b 01    | subscription identifier 1\n"
               "78       | payload"));
    QCOMPARE(f.handler.publishes.size(), 0);
    QCOMPARE(f.sink.packets().size(), 1);
    QCOMPARE(disconnectReason(f.sink.packets().at(0)), 0x82);
    QCOMPARE(f.sink.closes, 1);
}

// MQTT-3.1.2-29: "If the value of Request Problem Information is 0, the Server MAY return a
// Reason String or User Properties on a CONNACK or DISCONNECT packet, but MUST NOT send a
// Reason String or User Properties on any packet other than PUBLISH, CONNACK, or DISCONNECT."
void TstProtocol::requestProblemInformationZero_MQTT_3_1_2_29()
{
    Fixture f;
    f.feed(connect5(hex("17 00 | request problem information 0")));
    f.sink.clear();

    Suback suback;
    suback.packetId = 1;
    suback.properties.reasonString = QByteArray("why");
    suback.properties.userProperties.append(UserProperty("k", "v"));
    suback.reasonCodes = {0x00};
    f.proto.send(suback);
    QCOMPARE(f.sink.sent, hex("90    | SUBACK\n"
                              "04    | remaining length\n"
                              "00 01 | packet id\n"
                              "00    | property length: reason string, user property gone\n"
                              "00    | granted QoS 0"));
    f.sink.clear();

    PubResponse puback;
    puback.type = PacketType::Puback;
    puback.packetId = 7;
    puback.reasonCode = 0x10;
    puback.properties.reasonString = QByteArray("r");
    f.proto.send(puback);
    QCOMPARE(f.sink.sent, hex("40    | PUBACK\n"
                              "03    | remaining length\n"
                              "00 07 | packet id\n"
                              "10    | no matching subscribers; no properties"));
    f.sink.clear();

    f.proto.disconnect(0x80, "bye");
    QCOMPARE(f.sink.sent, hex("e0       | DISCONNECT\n"
                              "08       | remaining length\n"
                              "80       | unspecified error\n"
                              "06       | property length\n"
                              "1f 00 03 | reason string, length 3\n"
                              "62 79 65 | bye (kept on DISCONNECT)"));
}

void TstProtocol::requestProblemInformationZeroKeepsConnackReason()
{
    Fixture f;
    f.handler.connectHook = [&f](Connect &) {
        Connack connack;
        connack.properties.reasonString = QByteArray("ok");
        f.proto.sendConnack(connack, 0);
    };
    f.feed(connect5(hex("17 00 | request problem information 0")));
    QCOMPARE(f.sink.sent, hex("20       | CONNACK\n"
                              "08       | remaining length\n"
                              "00       | acknowledge flags\n"
                              "00       | success\n"
                              "05       | property length\n"
                              "1f 00 02 | reason string, length 2\n"
                              "6f 6b    | ok"));
}

void TstProtocol::requestProblemInformationDefaultKeepsReason()
{
    Fixture f;
    f.feed(connect5());
    f.sink.clear();
    Suback suback;
    suback.packetId = 1;
    suback.properties.reasonString = QByteArray("why");
    suback.reasonCodes = {0x00};
    f.proto.send(suback);
    QCOMPARE(f.sink.sent, hex("90       | SUBACK\n"
                              "0a       | remaining length\n"
                              "00 01    | packet id\n"
                              "06       | property length\n"
                              "1f 00 03 | reason string, length 3\n"
                              "77 68 79 | why\n"
                              "00       | granted QoS 0"));
}

// MQTT-3.1.2-24: "The Server MUST NOT send packets exceeding Maximum Packet Size to the
// Client." MQTT-3.1.2-25: "Where a Packet is too large to send, the Server MUST discard it
// without sending it and then behave as if it had completed sending that Application Message."
void TstProtocol::clientMaximumPacketSizePublish_MQTT_3_1_2_25()
{
    Fixture f;
    f.feed(connect5(hex("27 00 00 00 14 | maximum packet size 20")));
    f.sink.clear();

    QVERIFY(f.proto.sendPublish(delivery("t", "hi"), 0, false, 0));
    QCOMPARE(f.sink.sent, hex("30       | PUBLISH QoS 0\n"
                              "06       | remaining length\n"
                              "00 01 74 | topic t\n"
                              "00       | property length\n"
                              "68 69    | payload hi"));
    f.sink.clear();

    // 2 + 3 + 1 + 14 = 20 bytes: exactly the limit.
    QVERIFY(f.proto.sendPublish(delivery("t", QByteArray(14, 'p')), 0, false, 0));
    QCOMPARE(f.sink.sent.size(), 20);
    f.sink.clear();

    // 21 bytes: discarded, nothing sent, the connection stays.
    QVERIFY(!f.proto.sendPublish(delivery("t", QByteArray(15, 'p')), 0, false, 0));
    QVERIFY(!f.proto.sendPublish(delivery("t", QByteArray(13, 'p'), 1), 5, false, 0));
    QCOMPARE(f.sink.log, QStringList());
    QCOMPARE(f.proto.state(), ServerProtocol::State::Connected);
}

// MQTT-3.14.2-3: "The sender MUST NOT send this Property [Reason String] if it would increase
// the size of the DISCONNECT packet beyond the Maximum Packet Size specified by the receiver."
void TstProtocol::clientMaximumPacketSizeDisconnect_MQTT_3_14_2_3()
{
    Fixture f;
    f.feed(connect5(hex("27 00 00 00 14 | maximum packet size 20")));
    f.sink.clear();
    f.proto.disconnect(0x80, QByteArray(40, 'r'));
    QCOMPARE(f.sink.sent, hex("e0 | DISCONNECT\n"
                              "02 | remaining length\n"
                              "80 | unspecified error\n"
                              "00 | property length: the reason string would not fit"));
    QCOMPARE(f.sink.log.mid(1), kCloseNow);
}

// MQTT-3.9.2-1: the Server MUST NOT send the Reason String on SUBACK "if it would increase the
// size of the SUBACK packet beyond the Maximum Packet Size specified by the Client".
void TstProtocol::clientMaximumPacketSizeSuback_MQTT_3_9_2_1()
{
    Fixture f;
    f.feed(connect5(hex("27 00 00 00 14 | maximum packet size 20")));
    f.sink.clear();
    Suback suback;
    suback.packetId = 2;
    suback.properties.reasonString = QByteArray(30, 'r');
    suback.reasonCodes = {0x01};
    f.proto.send(suback);
    QCOMPARE(f.sink.sent, hex("90    | SUBACK\n"
                              "04    | remaining length\n"
                              "00 02 | packet id\n"
                              "00    | property length\n"
                              "01    | granted QoS 1"));
}

// MQTT-3.1.2-26: "The Server MUST NOT send a Topic Alias in a PUBLISH packet to the Client
// greater than Topic Alias Maximum."
void TstProtocol::outboundTopicAlias_MQTT_3_1_2_26()
{
    Fixture f;
    f.feed(connect5(hex("22 00 02 | topic alias maximum 2")));
    f.sink.clear();
    QVERIFY(f.proto.sendPublish(delivery("t/a", "1"), 0, false, 0));
    QVERIFY(f.proto.sendPublish(delivery("t/a", "2"), 0, false, 0));
    QVERIFY(f.proto.sendPublish(delivery("t/b", "3"), 0, false, 0));
    QVERIFY(f.proto.sendPublish(delivery("t/c", "4"), 0, false, 0));
    const QList<QByteArray> expected = {
        hex("30             | PUBLISH QoS 0\n"
            "0a             | remaining length\n"
            "00 03 74 2f 61 | topic t/a\n"
            "03             | property length\n"
            "23 00 01       | topic alias 1 (set)\n"
            "31             | payload 1"),
        hex("30       | PUBLISH QoS 0\n"
            "07       | remaining length\n"
            "00 00    | empty topic\n"
            "03       | property length\n"
            "23 00 01 | topic alias 1 (used)\n"
            "32       | payload 2"),
        hex("30             | PUBLISH QoS 0\n"
            "0a             | remaining length\n"
            "00 03 74 2f 62 | topic t/b\n"
            "03             | property length\n"
            "23 00 02       | topic alias 2 (set)\n"
            "33             | payload 3"),
        hex("30             | PUBLISH QoS 0\n"
            "07             | remaining length\n"
            "00 03 74 2f 63 | topic t/c: no alias left\n"
            "00             | property length\n"
            "34             | payload 4"),
    };
    QCOMPARE(f.sink.packets(), expected);
}

// MQTT-3.1.2-27: "If Topic Alias Maximum is absent or zero, the Server MUST NOT send any Topic
// Aliases to the Client."
void TstProtocol::outboundTopicAliasNotAnnounced_MQTT_3_1_2_27()
{
    Fixture f;
    f.feed(connect5());
    f.sink.clear();
    QVERIFY(f.proto.sendPublish(delivery("t/a", "1"), 0, false, 0));
    QVERIFY(f.proto.sendPublish(delivery("t/a", "2"), 0, false, 0));
    QCOMPARE(f.sink.sent, hex("30 07 | PUBLISH QoS 0, remaining length\n"
                              "00 03 74 2f 61 | topic t/a\n"
                              "00 | property length\n"
                              "31 | payload 1\n"
                              "30 07 | PUBLISH QoS 0, remaining length\n"
                              "00 03 74 2f 61 | topic t/a again\n"
                              "00 | property length\n"
                              "32 | payload 2"));
}

// A PUBLISH discarded for the client's Maximum Packet Size never reached the client, so the
// alias it would have set is unknown there. 3.3.2.3.4: "If the receiver does not already have
// a mapping for this Topic Alias ... it is a Protocol Error": the next PUBLISH to that topic
// must carry the topic name again.
void TstProtocol::outboundTopicAliasNotSpentOnDiscardedPublish()
{
    Fixture f;
    f.feed(connect5(hex("22 00 02       | topic alias maximum 2\n"
                        "27 00 00 00 14 | maximum packet size 20")));
    f.sink.clear();
    QVERIFY(!f.proto.sendPublish(delivery("t/a", QByteArray(30, 'p')), 0, false, 0));
    QCOMPARE(f.sink.sent, QByteArray());
    QVERIFY(f.proto.sendPublish(delivery("t/a", "1"), 0, false, 0));
    QCOMPARE(f.sink.sent, hex("30             | PUBLISH QoS 0\n"
                              "0a             | remaining length\n"
                              "00 03 74 2f 61 | topic t/a: the client has no alias for it yet\n"
                              "03             | property length\n"
                              "23 00 01       | topic alias 1 (set)\n"
                              "31             | payload 1"));
}

// QoS 0 to a reader whose socket backlog is past maxQos0Backlog is shed; QoS 1 is not.
void TstProtocol::qos0ShedForSlowReader()
{
    ProtocolSettings s = prototest::plainSettings();
    s.maxQos0Backlog = 1000;
    Fixture f(s);
    f.feed(connect311());
    f.sink.clear();
    f.sink.pending = 1001;
    QVERIFY(!f.proto.sendPublish(delivery("t", "x"), 0, false, 0));
    QCOMPARE(f.sink.sent, QByteArray());
    QVERIFY(f.proto.sendPublish(delivery("t", "x", 1), 3, false, 0));
    QCOMPARE(f.sink.sent, hex("32       | PUBLISH QoS 1\n"
                              "06       | remaining length\n"
                              "00 01 74 | topic t\n"
                              "00 03    | packet id 3\n"
                              "78       | payload x (3.1.1: no properties)"));
    f.sink.pending = 1000;
    f.sink.clear();
    QVERIFY(f.proto.sendPublish(delivery("t", "x"), 0, false, 0));
    QCOMPARE(f.sink.sent, hex("30 04 00 01 74 78 | PUBLISH QoS 0 t x"));
}

// 3.2.2.3.3 / 3.2.2.3.6 / 3.2.2.3.8: a CONNACK states Receive Maximum, Maximum Packet Size and
// Topic Alias Maximum where they differ from what the client assumes when they are absent
// (65535, no limit, 0).
void TstProtocol::connackAdvertisesCapabilities_data()
{
    QTest::addColumn<int>("receiveMaximum");
    QTest::addColumn<int>("maxPacketSize");
    QTest::addColumn<int>("maxTopicAlias");
    QTest::addColumn<QByteArray>("connack");
    QTest::newRow("defaults of ProtocolSettings")
        << 100 << 1048576 << 10
        << hex("20          | CONNACK\n"
               "0e          | remaining length\n"
               "00          | acknowledge flags\n"
               "00          | success\n"
               "0b          | property length\n"
               "21 00 64    | receive maximum 100\n"
               "22 00 0a    | topic alias maximum 10\n"
               "27 00 10 00 00 | maximum packet size 1048576");
    QTest::newRow("nothing to say") << 65535 << int(Decoder::ProtocolMaxPacketSize) << 0
                                    << hex("20 03 | CONNACK\n"
                                           "00 00 | flags, success\n"
                                           "00    | property length");
    QTest::newRow("receive maximum only") << 1 << int(Decoder::ProtocolMaxPacketSize) << 0
                                          << hex("20 06 | CONNACK\n"
                                                 "00 00 | flags, success\n"
                                                 "03    | property length\n"
                                                 "21 00 01 | receive maximum 1");
}

void TstProtocol::connackAdvertisesCapabilities()
{
    QFETCH(int, receiveMaximum);
    QFETCH(int, maxPacketSize);
    QFETCH(int, maxTopicAlias);
    QFETCH(QByteArray, connack);
    ProtocolSettings s;
    s.receiveMaximum = quint16(receiveMaximum);
    s.maxPacketSize = quint32(maxPacketSize);
    s.maxTopicAlias = quint16(maxTopicAlias);
    Fixture f(s);
    f.feed(connect5());
    QCOMPARE(f.sink.sent, connack);
}

void TstProtocol::refusedConnackAdvertisesNothing()
{
    Fixture f(ProtocolSettings{});
    f.handler.connectHook = [&f](Connect &) {
        Connack connack;
        connack.reasonCode = 0x87;
        f.proto.sendConnack(connack, 0);
    };
    f.feed(connect5());
    QCOMPARE(f.sink.sent, hex("20 | CONNACK\n"
                              "03 | remaining length\n"
                              "00 | acknowledge flags\n"
                              "87 | not authorized\n"
                              "00 | property length"));
    QCOMPARE(f.sink.log.last(), QStringLiteral("close"));
    QCOMPARE(f.sink.armCount(ProtocolTimer::KeepAlive), 0);
}

// MQTT-3.1.4-1 / 4.13.1: an error in CONNECT (5.0) "MAY send a CONNACK with a Reason Code of
// 0x80 or greater" before closing; this server does, with the decoder's reason.
void TstProtocol::decodeErrorInConnect5GetsConnack_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QByteArray>("connack");
    QTest::newRow("reserved flag set (MQTT-3.1.2-3)")
        << hex("10 0e | CONNECT\n"
               "00 04 4d 51 54 54 | MQTT\n"
               "05 | level 5\n"
               "03 | flags: clean start + reserved bit\n"
               "00 0a | keep alive\n"
               "00 | property length\n"
               "00 01 63 | client id")
        << hex("20 | CONNACK\n"
               "03 | remaining length\n"
               "00 | acknowledge flags\n"
               "81 | malformed packet\n"
               "00 | property length");
    QTest::newRow("session expiry twice (3.1.2.11.2)")
        << hex("10 18 | CONNECT\n"
               "00 04 4d 51 54 54 | MQTT\n"
               "05 | level 5\n"
               "02 | clean start\n"
               "00 0a | keep alive\n"
               "0a | property length\n"
               "11 00 00 00 01 | session expiry 1\n"
               "11 00 00 00 01 | session expiry again\n"
               "00 01 63 | client id")
        << hex("20 | CONNACK\n"
               "03 | remaining length\n"
               "00 | acknowledge flags\n"
               "82 | protocol error\n"
               "00 | property length");
}

void TstProtocol::decodeErrorInConnect5GetsConnack()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QByteArray, connack);
    Fixture f;
    f.feed(bytes);
    QCOMPARE(f.sink.sent, connack);
    QCOMPARE(f.sink.log.mid(1), kCloseNow);
    QCOMPARE(f.handler.upwardCalls(), 0);
}

// 3.1.1 has no CONNACK code for a malformed CONNECT: close without a word.
void TstProtocol::decodeErrorInConnect311JustCloses()
{
    Fixture f;
    f.feed(hex("10 0d | CONNECT\n"
               "00 04 4d 51 54 54 | MQTT\n"
               "04 | level 4\n"
               "03 | flags: clean session + reserved bit\n"
               "00 0a | keep alive\n"
               "00 01 63 | client id"));
    QCOMPARE(f.sink.sent, QByteArray());
    QCOMPARE(f.sink.log, kCloseNow);
}

// 3.1.1 MQTT-3.1.2-2: "The Server MUST respond to the CONNECT Packet with a CONNACK return
// code 0x01 (unacceptable protocol level) and then disconnect the Client if the Protocol Level
// is not supported by the Server."
void TstProtocol::unsupportedProtocolLevel_MQTT_3_1_2_2()
{
    Fixture f;
    f.feed(hex("10 0d | CONNECT\n"
               "00 04 4d 51 54 54 | MQTT\n"
               "06 | level 6\n"
               "02 | clean session\n"
               "00 0a | keep alive\n"
               "00 01 63 | client id"));
    QCOMPARE(f.sink.sent, hex("20 | CONNACK\n"
                              "02 | remaining length\n"
                              "00 | session present 0\n"
                              "01 | unacceptable protocol version"));
    QCOMPARE(f.sink.log.mid(1), kCloseNow);
    QCOMPARE(f.handler.upwardCalls(), 0);
}

// 3.1.1 has no server DISCONNECT (3.14: sent "from the Client to the Server"): every
// server-side close of a 3.1.1 connection is just a close.
void TstProtocol::v311NeverGetsDisconnect_data()
{
    QTest::addColumn<int>("how");
    QTest::newRow("second CONNECT") << 0;
    QTest::newRow("keep alive expired") << 1;
    QTest::newRow("server disconnect 0x8e") << 2;
    QTest::newRow("CONNACK from client") << 3;
    QTest::newRow("malformed packet") << 4;
}

void TstProtocol::v311NeverGetsDisconnect()
{
    QFETCH(int, how);
    Fixture f;
    f.feed(connect311(10), T0);
    f.sink.clear();
    switch (how) {
    case 0:
        f.feed(connect311());
        break;
    case 1:
        f.proto.timerFired(ProtocolTimer::KeepAlive, T0 + 15000);
        break;
    case 2:
        f.proto.disconnect(0x8e);
        break;
    case 3:
        f.feed(hex("20 02 00 00 | CONNACK"));
        break;
    case 4:
        f.feed(hex("c1 00 | PINGREQ with a reserved flag bit"));
        break;
    }
    QCOMPARE(f.sink.sent, QByteArray());
    QCOMPARE(f.sink.log, kCloseNow);
}

void TstProtocol::transportClosedNotifiesOnce()
{
    Fixture f;
    f.feed(connect5());
    f.proto.disconnect(0x8e);
    f.proto.transportClosed();
    f.proto.transportClosed();
    QCOMPARE(f.handler.closed, QList<bool>{false});
    QCOMPARE(f.proto.state(), ServerProtocol::State::Closed);

    Fixture before; // closed before any CONNECT
    before.proto.start();
    before.proto.transportClosed();
    before.proto.transportClosed();
    QCOMPARE(before.handler.closed.size(), 1);
}

// MQTT-3.14.4-3: "On receipt of DISCONNECT with a Reason Code of 0x00 (Success) the Server MUST
// discard any Will Message associated with the current Connection without publishing it";
// 0x04 Disconnect with Will Message keeps it; so does any close without a valid DISCONNECT.
void TstProtocol::gracefulOnlyAfterValidDisconnect_MQTT_3_14_4_3_data()
{
    QTest::addColumn<bool>("v5");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<bool>("refuse");
    QTest::addColumn<bool>("graceful");
    QTest::newRow("5.0 short form")
        << true << hex("e0 00 | DISCONNECT, success implied") << false << true;
    QTest::newRow("5.0 0x00") << true << hex("e0 02 00 00 | DISCONNECT success, no properties")
                              << false << true;
    QTest::newRow("5.0 0x04 keeps will")
        << true << hex("e0 01 04 | DISCONNECT with will message") << false << false;
    QTest::newRow("5.0 0x80 client error")
        << true << hex("e0 01 80 | DISCONNECT unspecified error") << false << false;
    QTest::newRow("5.0 refused by adapter") << true << hex("e0 00 | DISCONNECT") << true << false;
    QTest::newRow("5.0 no DISCONNECT") << true << QByteArray() << false << false;
    QTest::newRow("3.1.1 DISCONNECT") << false << hex("e0 00 | DISCONNECT") << false << true;
    QTest::newRow("3.1.1 no DISCONNECT") << false << QByteArray() << false << false;
}

void TstProtocol::gracefulOnlyAfterValidDisconnect_MQTT_3_14_4_3()
{
    QFETCH(bool, v5);
    QFETCH(QByteArray, bytes);
    QFETCH(bool, refuse);
    QFETCH(bool, graceful);
    Fixture f;
    if (refuse)
        f.handler.disconnectHook = [&f](const Disconnect &) { f.proto.disconnect(0x82, {}); };
    f.feed(v5 ? connect5() : connect311());
    f.sink.clear();
    if (!bytes.isEmpty()) {
        f.feed(bytes + hex("c0 00 | PINGREQ after DISCONNECT: ignored"));
        QCOMPARE(f.handler.disconnects.size(), 1);
        QCOMPARE(f.sink.closes, 1);
        if (refuse)
            QCOMPARE(f.sink.sent, hex("e0 02 82 00 | DISCONNECT protocol error"));
        else
            QCOMPARE(f.sink.sent, QByteArray());
    }
    f.proto.transportClosed();
    QCOMPARE(f.handler.closed, QList<bool>{graceful});
}

QTEST_APPLESS_MAIN(TstProtocol)
#include "tst_protocol.moc"
