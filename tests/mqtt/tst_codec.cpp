// MQTT codec: hand-written wire bytes for a representative packet of each type in both
// versions, every MQTT 5.0 property, round trips, and the PUBLISH encode-once helpers.

#include "CodecTestUtil.h"

#include "mqtt/codec/ReasonCode.h"
#include "mqtt/codec/Utf8.h"

#include <QTest>

using namespace ferry::mqtt;
using codectest::hex;

Q_DECLARE_METATYPE(ferry::mqtt::Packet)
Q_DECLARE_METATYPE(ferry::mqtt::Properties)
Q_DECLARE_METATYPE(ferry::mqtt::ProtocolVersion)

namespace {

Will makeWill()
{
    Will w;
    w.topic = "w";
    w.payload = "bye";
    w.qos = 1;
    w.retain = true;
    w.properties.willDelayInterval = 5;
    return w;
}

} // namespace

class TstCodec : public QObject {
    Q_OBJECT
private slots:
    void wireBytes_data();
    void wireBytes();
    void shortFormsDecode_MQTT_3_4_2_1_data();
    void shortFormsDecode_MQTT_3_4_2_1();
    void everyProperty_data();
    void everyProperty();
    void roundTrip_data();
    void roundTrip();
    void connectPasswordWithoutUsernameAllowedIn5();
    void connectDecodedWithItsOwnVersion();
    void protocolLayerChecksAreLeftToIt();
    void encodePublishPatchesPacketIdAndDup();
    void encodePublishLongHeader();
    void remainingLengthVarIntBoundaries_data();
    void remainingLengthVarIntBoundaries();
    void utf8Validation_data();
    void utf8Validation();
};

// Each row: the packet, the version, and its bytes written by hand, one field per line.
void TstCodec::wireBytes_data()
{
    QTest::addColumn<Packet>("packet");
    QTest::addColumn<ProtocolVersion>("version");
    QTest::addColumn<QByteArray>("bytes");

    {
        Connect c;
        c.version = ProtocolVersion::V311;
        c.cleanStart = true;
        c.keepAlive = 60;
        c.clientId = "c1";
        c.username = QByteArray("u");
        c.password = QByteArray("p");
        QTest::newRow("CONNECT 3.1.1") << Packet(c) << ProtocolVersion::V311
                                       << hex("10          | CONNECT\n"
                                              "14          | remaining length 20\n"
                                              "00 04 4d 51 54 54 | \"MQTT\"\n"
                                              "04          | level 4\n"
                                              "c2          | user, password, clean session\n"
                                              "00 3c       | keep alive 60\n"
                                              "00 02 63 31 | client id \"c1\"\n"
                                              "00 01 75    | user \"u\"\n"
                                              "00 01 70    | password \"p\"\n");
    }
    {
        Connect c;
        c.version = ProtocolVersion::V5;
        c.cleanStart = false;
        c.keepAlive = 10;
        c.clientId = "c";
        c.properties.sessionExpiryInterval = 120;
        c.will = makeWill();
        QTest::newRow("CONNECT 5.0 with will") << Packet(c) << ProtocolVersion::V5
                                               << hex("10 | CONNECT\n"
                                                      "21 | remaining length 33\n"
                                                      "00 04 4d 51 54 54 | \"MQTT\"\n"
                                                      "05 | level 5\n"
                                                      "2c | will, will QoS 1, will retain\n"
                                                      "00 0a | keep alive 10\n"
                                                      "05 | property length\n"
                                                      "11 00 00 00 78 | session expiry 120\n"
                                                      "00 01 63 | client id \"c\"\n"
                                                      "05 | will property length\n"
                                                      "18 00 00 00 05 | will delay 5\n"
                                                      "00 01 77 | will topic \"w\"\n"
                                                      "00 03 62 79 65 | will payload \"bye\"\n");
    }
    {
        Connack c;
        c.sessionPresent = true;
        QTest::newRow("CONNACK 3.1.1") << Packet(c) << ProtocolVersion::V311
                                       << hex("20 | CONNACK\n"
                                              "02 | remaining length\n"
                                              "01 | session present\n"
                                              "00 | accepted\n");
    }
    {
        Connack c;
        c.properties.receiveMaximum = 20;
        c.properties.maximumQoS = 1;
        QTest::newRow("CONNACK 5.0") << Packet(c) << ProtocolVersion::V5
                                     << hex("20 | CONNACK\n"
                                            "08 | remaining length\n"
                                            "00 | no session\n"
                                            "00 | success\n"
                                            "05 | property length\n"
                                            "21 00 14 | receive maximum 20\n"
                                            "24 01 | maximum QoS 1\n");
    }
    {
        Publish p;
        p.qos = 1;
        p.retain = true;
        p.topic = "a/b";
        p.packetId = 10;
        p.payload = "hi";
        QTest::newRow("PUBLISH 3.1.1 QoS 1 retain") << Packet(p) << ProtocolVersion::V311
                                                    << hex("33 | PUBLISH QoS 1 retain\n"
                                                           "09 | remaining length\n"
                                                           "00 03 61 2f 62 | topic \"a/b\"\n"
                                                           "00 0a | packet id 10\n"
                                                           "68 69 | payload \"hi\"\n");
    }
    {
        Publish p;
        p.dup = true;
        p.qos = 2;
        p.topic = "t";
        p.packetId = 0x1234;
        p.properties.payloadFormatIndicator = 1;
        p.properties.messageExpiryInterval = 60;
        p.properties.subscriptionIdentifiers = {5};
        p.properties.topicAlias = 3;
        p.properties.userProperties = {{"k", "v"}};
        p.payload = "x";
        QTest::newRow("PUBLISH 5.0 QoS 2 dup") << Packet(p) << ProtocolVersion::V5
                                               << hex("3c | PUBLISH dup QoS 2\n"
                                                      "1a | remaining length 26\n"
                                                      "00 01 74 | topic \"t\"\n"
                                                      "12 34 | packet id\n"
                                                      "13 | property length 19\n"
                                                      "01 01 | payload format UTF-8\n"
                                                      "02 00 00 00 3c | message expiry 60\n"
                                                      "0b 05 | subscription id 5\n"
                                                      "23 00 03 | topic alias 3\n"
                                                      "26 00 01 6b 00 01 76 | user k=v\n"
                                                      "78 | payload \"x\"\n");
    }
    QTest::newRow("PUBACK 3.1.1") << Packet(PubResponse{PacketType::Puback, 7, 0, {}})
                                  << ProtocolVersion::V311 << hex("40 02 | PUBACK\n00 07 | id\n");
    QTest::newRow("PUBACK 5.0 success short form MQTT-3.4.2.1")
        << Packet(PubResponse{PacketType::Puback, 7, 0, {}}) << ProtocolVersion::V5
        << hex("40 02 | PUBACK, no reason, no properties\n00 07 | id\n");
    QTest::newRow("PUBREC 5.0 reason, no properties")
        << Packet(PubResponse{PacketType::Pubrec, 7, rc::NoMatchingSubscribers, {}})
        << ProtocolVersion::V5 << hex("50 03 | PUBREC\n00 07 | id\n10 | no matching subscribers\n");
    {
        PubResponse p{PacketType::Pubrel, 7, rc::PacketIdentifierNotFound, {}};
        p.properties.reasonString = QByteArray("x");
        QTest::newRow("PUBREL 5.0 reason string")
            << Packet(p) << ProtocolVersion::V5
            << hex("62 08 | PUBREL (flags 0010)\n00 07 | id\n92 | not found\n"
                   "04 | property length\n1f 00 01 78 | reason string \"x\"\n");
    }
    QTest::newRow("PUBCOMP 3.1.1") << Packet(PubResponse{PacketType::Pubcomp, 7, 0, {}})
                                   << ProtocolVersion::V311 << hex("70 02 | PUBCOMP\n00 07\n");
    {
        Subscribe s;
        s.packetId = 1;
        s.subscriptions = {{"a/#", 1}, {"b", 0}};
        QTest::newRow("SUBSCRIBE 3.1.1") << Packet(s) << ProtocolVersion::V311
                                         << hex("82 | SUBSCRIBE (flags 0010)\n"
                                                "0c | remaining length\n"
                                                "00 01 | packet id\n"
                                                "00 03 61 2f 23 | \"a/#\"\n"
                                                "01 | QoS 1\n"
                                                "00 01 62 | \"b\"\n"
                                                "00 | QoS 0\n");
    }
    {
        Subscribe s;
        s.packetId = 2;
        s.properties.subscriptionIdentifiers = {200};
        SubscriptionRequest r{"t/+", 2, true, true, 2};
        s.subscriptions = {r};
        QTest::newRow("SUBSCRIBE 5.0") << Packet(s) << ProtocolVersion::V5
                                       << hex("82 0c | SUBSCRIBE, remaining length\n"
                                              "00 02 | packet id\n"
                                              "03 | property length\n"
                                              "0b c8 01 | subscription id 200\n"
                                              "00 03 74 2f 2b | \"t/+\"\n"
                                              "2e | QoS 2, no local, RAP, retain handling 2\n");
    }
    QTest::newRow("SUBACK 3.1.1") << Packet(Suback{1, {}, {1, 0x80}}) << ProtocolVersion::V311
                                  << hex("90 04 | SUBACK\n00 01 | id\n01 | QoS 1\n80 | failure\n");
    QTest::newRow("SUBACK 5.0") << Packet(Suback{2, {}, {2}}) << ProtocolVersion::V5
                                << hex("90 04 | SUBACK\n00 02 | id\n00 | no properties\n"
                                       "02 | granted QoS 2\n");
    QTest::newRow("UNSUBSCRIBE 3.1.1") << Packet(Unsubscribe{3, {}, {"a"}}) << ProtocolVersion::V311
                                       << hex("a2 05 | UNSUBSCRIBE (flags 0010)\n00 03 | id\n"
                                              "00 01 61 | \"a\"\n");
    QTest::newRow("UNSUBSCRIBE 5.0") << Packet(Unsubscribe{3, {}, {"a"}}) << ProtocolVersion::V5
                                     << hex("a2 06 | UNSUBSCRIBE\n00 03 | id\n00 | no props\n"
                                            "00 01 61 | \"a\"\n");
    QTest::newRow("UNSUBACK 3.1.1 has no payload")
        << Packet(Unsuback{3, {}, {}}) << ProtocolVersion::V311 << hex("b0 02 | UNSUBACK\n00 03\n");
    QTest::newRow("UNSUBACK 5.0") << Packet(Unsuback{3, {}, {0x00, 0x11}}) << ProtocolVersion::V5
                                  << hex("b0 05 | UNSUBACK\n00 03 | id\n00 | no properties\n"
                                         "00 | success\n11 | no subscription existed\n");
    QTest::newRow("PINGREQ") << Packet(Pingreq{}) << ProtocolVersion::V311 << hex("c0 00");
    QTest::newRow("PINGRESP") << Packet(Pingresp{}) << ProtocolVersion::V5 << hex("d0 00");
    QTest::newRow("DISCONNECT 3.1.1")
        << Packet(Disconnect{}) << ProtocolVersion::V311 << hex("e0 00");
    QTest::newRow("DISCONNECT 5.0 normal short form MQTT-3.14.2.1")
        << Packet(Disconnect{}) << ProtocolVersion::V5 << hex("e0 00");
    {
        Disconnect d;
        d.reasonCode = rc::DisconnectWithWill;
        d.properties.sessionExpiryInterval = 0;
        QTest::newRow("DISCONNECT 5.0 with will, session expiry 0")
            << Packet(d) << ProtocolVersion::V5
            << hex("e0 07 | DISCONNECT\n04 | with will\n05 | property length\n"
                   "11 00 00 00 00 | session expiry 0\n");
    }
    {
        Auth a;
        a.reasonCode = rc::ContinueAuthentication;
        a.properties.authenticationMethod = QByteArray("X");
        a.properties.authenticationData = QByteArray("\x01\x02", 2);
        QTest::newRow("AUTH 5.0") << Packet(a) << ProtocolVersion::V5
                                  << hex("f0 0b | AUTH\n18 | continue authentication\n"
                                         "09 | property length\n15 00 01 58 | method \"X\"\n"
                                         "16 00 02 01 02 | data\n");
    }
}

void TstCodec::wireBytes()
{
    QFETCH(Packet, packet);
    QFETCH(ProtocolVersion, version);
    QFETCH(QByteArray, bytes);
    QCOMPARE(encode(packet, version).toHex(' '), bytes.toHex(' '));
    QCOMPARE(encodedSize(packet, version), bytes.size());
    const Packet decoded = codectest::decodeOk(bytes, version);
    QVERIFY(decoded == packet);
}

void TstCodec::shortFormsDecode_MQTT_3_4_2_1_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<Packet>("expected");
    QTest::newRow("PUBACK length 3: reason, no property length")
        << hex("40 03 00 07 10") << Packet(PubResponse{PacketType::Puback, 7, 0x10, {}});
    QTest::newRow("PUBCOMP length 4: empty property block")
        << hex("70 04 00 07 00 00") << Packet(PubResponse{PacketType::Pubcomp, 7, 0, {}});
    QTest::newRow("DISCONNECT length 1: reason only MQTT-3.14.2.2.1")
        << hex("e0 01 8e") << Packet(Disconnect{rc::SessionTakenOver, {}});
    QTest::newRow("AUTH length 0: success") << hex("f0 00") << Packet(Auth{});
}

void TstCodec::shortFormsDecode_MQTT_3_4_2_1()
{
    QFETCH(QByteArray, bytes);
    QFETCH(Packet, expected);
    QVERIFY(codectest::decodeOk(bytes, ProtocolVersion::V5) == expected);
}

enum class Carrier {
    Connect,
    Will,
    Connack,
    Publish,
    Puback,
    Subscribe,
    Suback,
    Unsubscribe,
    Unsuback,
    Disconnect,
    Auth
};
Q_DECLARE_METATYPE(Carrier)

// Each property once, in a packet that may carry it (spec 2.2.2.2), bytes by hand.
void TstCodec::everyProperty_data()
{
    QTest::addColumn<Carrier>("carrier");
    QTest::addColumn<QByteArray>("propertyBytes");
    QTest::addColumn<Properties>("properties");

    auto row = [](const char *name, Carrier c, const char *bytes, auto set) {
        Properties p;
        set(p);
        QTest::newRow(name) << c << hex(bytes) << p;
    };
    row("0x01 payload format indicator", Carrier::Publish, "01 01",
        [](Properties &p) { p.payloadFormatIndicator = 1; });
    row("0x02 message expiry (will)", Carrier::Will, "02 01 02 03 04",
        [](Properties &p) { p.messageExpiryInterval = 0x01020304; });
    row("0x03 content type", Carrier::Publish, "03 00 04 6a 73 6f 6e",
        [](Properties &p) { p.contentType = QByteArray("json"); });
    row("0x08 response topic (will)", Carrier::Will, "08 00 03 72 2f 31",
        [](Properties &p) { p.responseTopic = QByteArray("r/1"); });
    row("0x09 correlation data (binary)", Carrier::Publish, "09 00 02 00 ff",
        [](Properties &p) { p.correlationData = QByteArray("\x00\xff", 2); });
    row("0x0B subscription ids 1 and 268435455 in PUBLISH", Carrier::Publish,
        "0b 01 | 1\n 0b ff ff ff 7f | 268435455\n", [](Properties &p) {
            p.subscriptionIdentifiers = {1, 268435455};
        });
    row("0x0B subscription id 16384 in SUBSCRIBE", Carrier::Subscribe, "0b 80 80 01",
        [](Properties &p) { p.subscriptionIdentifiers = {16384}; });
    row("0x11 session expiry (CONNECT)", Carrier::Connect, "11 ff ff ff ff",
        [](Properties &p) { p.sessionExpiryInterval = 0xFFFFFFFFu; });
    row("0x11 session expiry (DISCONNECT)", Carrier::Disconnect, "11 00 00 00 1e",
        [](Properties &p) { p.sessionExpiryInterval = 30; });
    row("0x12 assigned client id", Carrier::Connack, "12 00 06 61 75 74 6f 2d 31",
        [](Properties &p) { p.assignedClientIdentifier = QByteArray("auto-1"); });
    row("0x13 server keep alive", Carrier::Connack, "13 00 1e",
        [](Properties &p) { p.serverKeepAlive = 30; });
    row("0x15 authentication method", Carrier::Connect, "15 00 05 53 43 52 41 4d",
        [](Properties &p) { p.authenticationMethod = QByteArray("SCRAM"); });
    row("0x16 authentication data (AUTH)", Carrier::Auth, "16 00 01 01",
        [](Properties &p) { p.authenticationData = QByteArray("\x01"); });
    row("0x17 request problem information", Carrier::Connect, "17 00",
        [](Properties &p) { p.requestProblemInformation = 0; });
    row("0x18 will delay interval", Carrier::Will, "18 00 00 00 0a",
        [](Properties &p) { p.willDelayInterval = 10; });
    row("0x19 request response information", Carrier::Connect, "19 01",
        [](Properties &p) { p.requestResponseInformation = 1; });
    row("0x1A response information", Carrier::Connack, "1a 00 04 72 65 73 70",
        [](Properties &p) { p.responseInformation = QByteArray("resp"); });
    row("0x1C server reference (DISCONNECT)", Carrier::Disconnect, "1c 00 05 6f 74 68 65 72",
        [](Properties &p) { p.serverReference = QByteArray("other"); });
    row("0x1F reason string (PUBACK)", Carrier::Puback, "1f 00 03 77 68 79",
        [](Properties &p) { p.reasonString = QByteArray("why"); });
    row("0x1F reason string (SUBACK)", Carrier::Suback, "1f 00 01 77",
        [](Properties &p) { p.reasonString = QByteArray("w"); });
    row("0x1F reason string (UNSUBACK)", Carrier::Unsuback, "1f 00 01 77",
        [](Properties &p) { p.reasonString = QByteArray("w"); });
    row("0x21 receive maximum", Carrier::Connect, "21 00 64",
        [](Properties &p) { p.receiveMaximum = 100; });
    row("0x22 topic alias maximum", Carrier::Connack, "22 00 0a",
        [](Properties &p) { p.topicAliasMaximum = 10; });
    row("0x23 topic alias", Carrier::Publish, "23 00 05", [](Properties &p) { p.topicAlias = 5; });
    row("0x24 maximum QoS", Carrier::Connack, "24 00", [](Properties &p) { p.maximumQoS = 0; });
    row("0x25 retain available", Carrier::Connack, "25 00",
        [](Properties &p) { p.retainAvailable = 0; });
    row("0x26 user properties, repeated key, order kept", Carrier::Unsubscribe,
        "26 00 01 61 00 01 31 | a=1\n 26 00 01 61 00 01 32 | a=2\n", [](Properties &p) {
            p.userProperties = {{"a", "1"}, {"a", "2"}};
        });
    row("0x26 user property (will)", Carrier::Will, "26 00 00 00 00", [](Properties &p) {
        p.userProperties = {{"", ""}};
    });
    row("0x27 maximum packet size", Carrier::Connect, "27 00 10 00 00",
        [](Properties &p) { p.maximumPacketSize = 1048576; });
    row("0x28 wildcard subscription available", Carrier::Connack, "28 01",
        [](Properties &p) { p.wildcardSubscriptionAvailable = 1; });
    row("0x29 subscription identifiers available", Carrier::Connack, "29 00",
        [](Properties &p) { p.subscriptionIdentifierAvailable = 0; });
    row("0x2A shared subscription available", Carrier::Connack, "2a 01",
        [](Properties &p) { p.sharedSubscriptionAvailable = 1; });
}

void TstCodec::everyProperty()
{
    QFETCH(Carrier, carrier);
    QFETCH(QByteArray, propertyBytes);
    QFETCH(Properties, properties);
    QVERIFY(propertyBytes.size() < 100);
    // Property block: one-byte Property Length (all rows are short), then the properties.
    const QByteArray block = char(propertyBytes.size()) + propertyBytes;
    const QByteArray mqtt5 = hex("00 04 4d 51 54 54 05 | \"MQTT\" level 5");
    Packet packet;
    QByteArray bytes;
    switch (carrier) {
    case Carrier::Connect: {
        Connect c;
        c.version = ProtocolVersion::V5;
        c.properties = properties;
        packet = c;
        bytes = codectest::frame(0x10, mqtt5 + hex("02 | clean\n 00 00 | keep alive") + block +
                                           hex("00 00 | client id \"\""));
        break;
    }
    case Carrier::Will: {
        Connect c;
        c.version = ProtocolVersion::V5;
        c.will = Will{"t", "", 0, false, properties};
        packet = c;
        bytes = codectest::frame(0x10, mqtt5 +
                                           hex("06 | clean, will\n 00 00 | keep alive\n"
                                               "00 | no properties\n 00 00 | client id") +
                                           block + hex("00 01 74 | will topic\n 00 00 | payload"));
        break;
    }
    case Carrier::Connack:
        packet = Connack{false, 0, properties};
        bytes = codectest::frame(0x20, hex("00 00") + block);
        break;
    case Carrier::Publish: {
        Publish p;
        p.topic = "t";
        p.properties = properties;
        packet = p;
        bytes = codectest::frame(0x30, hex("00 01 74") + block);
        break;
    }
    case Carrier::Puback:
        packet = PubResponse{PacketType::Puback, 1, 0, properties};
        bytes = codectest::frame(0x40, hex("00 01 | id\n 00 | success") + block);
        break;
    case Carrier::Subscribe:
        packet = Subscribe{1, properties, {{"t", 0}}};
        bytes = codectest::frame(0x82, hex("00 01") + block + hex("00 01 74 00"));
        break;
    case Carrier::Suback:
        packet = Suback{1, properties, {0}};
        bytes = codectest::frame(0x90, hex("00 01") + block + hex("00"));
        break;
    case Carrier::Unsubscribe:
        packet = Unsubscribe{1, properties, {"t"}};
        bytes = codectest::frame(0xa2, hex("00 01") + block + hex("00 01 74"));
        break;
    case Carrier::Unsuback:
        packet = Unsuback{1, properties, {0}};
        bytes = codectest::frame(0xb0, hex("00 01") + block + hex("00"));
        break;
    case Carrier::Disconnect:
        packet = Disconnect{0, properties};
        bytes = codectest::frame(0xe0, hex("00") + block);
        break;
    case Carrier::Auth:
        packet = Auth{0, properties};
        bytes = codectest::frame(0xf0, hex("00") + block);
        break;
    }
    QCOMPARE(encode(packet, ProtocolVersion::V5).toHex(' '), bytes.toHex(' '));
    QVERIFY(codectest::decodeOk(bytes, ProtocolVersion::V5) == packet);
}

// Every packet type, both versions: decode(encode(p)) == p. 3.1.1 rows carry no properties
// (3.1.1 has none) and no AUTH.
void TstCodec::roundTrip_data()
{
    QTest::addColumn<Packet>("packet");
    QTest::addColumn<ProtocolVersion>("version");
    for (const auto v : {ProtocolVersion::V311, ProtocolVersion::V5}) {
        const bool v5 = v == ProtocolVersion::V5;
        const QByteArray suffix = v5 ? " 5.0" : " 3.1.1";
        Properties props;
        if (v5)
            props.userProperties = {{"key", "value"}};
        auto add = [&](const char *name, const Packet &p) {
            QTest::newRow((name + suffix).constData()) << p << v;
        };
        Connect c;
        c.version = v;
        c.clientId = "client-\xc3\xa9"; // UTF-8 é
        c.keepAlive = 65535;
        c.properties = props;
        Will w;
        w.topic = "last/will";
        w.payload = QByteArray(300, '\0');
        w.qos = 2;
        w.properties = props;
        c.will = w;
        c.username = QByteArray("user");
        c.password = QByteArray("\x00\x01", 2);
        add("CONNECT", c);
        add("CONNACK", Connack{true, v5 ? rc::NotAuthorized : rc311::NotAuthorized, props});
        Publish p;
        p.qos = 1;
        p.topic = "sensors/1/temp";
        p.packetId = 65535;
        p.properties = props;
        p.payload = QByteArray(1000, 'x'); // two-byte remaining length
        add("PUBLISH", p);
        Publish empty;
        empty.topic = "t";
        add("PUBLISH empty payload QoS 0", empty);
        for (const auto t :
             {PacketType::Puback, PacketType::Pubrec, PacketType::Pubrel, PacketType::Pubcomp}) {
            const QByteArray name = "PUB* type " + QByteArray::number(int(t));
            add(name.constData(), PubResponse{t, 42, std::uint8_t(v5 ? 0x80 : 0), props});
        }
        add("SUBSCRIBE", Subscribe{9, props, {{"a/+", 0}, {"#", 1}, {"$SYS/x", 2}}});
        add("SUBACK", Suback{9, props, {0, 1, 2, 0x80}});
        add("UNSUBSCRIBE", Unsubscribe{9, props, {"a/+", "#"}});
        add("UNSUBACK",
            Unsuback{9, props, v5 ? QList<std::uint8_t>{0, 0x11} : QList<std::uint8_t>{}});
        add("PINGREQ", Pingreq{});
        add("PINGRESP", Pingresp{});
        add("DISCONNECT", Disconnect{std::uint8_t(v5 ? 0x8b : 0), props});
        if (v5)
            add("AUTH", Auth{rc::ReAuthenticate, props});
    }
}

void TstCodec::roundTrip()
{
    QFETCH(Packet, packet);
    QFETCH(ProtocolVersion, version);
    const QByteArray bytes = encode(packet, version);
    QVERIFY(!bytes.isEmpty());
    QCOMPARE(encodedSize(packet, version), bytes.size());
    QVERIFY(codectest::decodeOk(bytes, version) == packet);
}

void TstCodec::connectPasswordWithoutUsernameAllowedIn5()
{
    // 5.0 dropped MQTT-3.1.2-22: a password without a user name is allowed (3.1.2.9).
    const QByteArray bytes = hex("10 12 | CONNECT\n 00 04 4d 51 54 54 05 | MQTT 5\n"
                                 "42 | password, clean\n 00 00 | keep alive\n 00 | props\n"
                                 "00 00 | client id\n 00 03 70 77 64 | password \"pwd\"\n");
    const Packet p = codectest::decodeOk(bytes, ProtocolVersion::V311);
    const auto *c = std::get_if<Connect>(&p);
    QVERIFY(c);
    QVERIFY(!c->username);
    QCOMPARE(c->password.value_or(QByteArray()), QByteArray("pwd"));
}

void TstCodec::connectDecodedWithItsOwnVersion()
{
    Connect c;
    c.version = ProtocolVersion::V5;
    c.clientId = "x";
    c.properties.receiveMaximum = 5;
    const QByteArray bytes = encode(c, ProtocolVersion::V5);
    Decoder d; // version V311 until told otherwise
    d.feed(bytes);
    Packet out;
    DecodeError err;
    QCOMPARE(int(d.next(out, err)), int(Decoder::Status::Packet));
    QVERIFY(out == Packet(c));
    QCOMPARE(d.version(), ProtocolVersion::V311); // the protocol layer decides, not the decoder

    Connect old;
    old.version = ProtocolVersion::V31;
    old.protocolName = "MQIsdp";
    old.clientId = "legacy";
    const QByteArray oldBytes = encode(old, ProtocolVersion::V31);
    QCOMPARE(oldBytes.left(10).toHex(' '),
             hex("10 14 | CONNECT\n 00 06 4d 51 49 73 64 70 | \"MQIsdp\"\n").toHex(' '));
    QVERIFY(codectest::decodeOk(oldBytes, ProtocolVersion::V5) == Packet(old));
}

void TstCodec::protocolLayerChecksAreLeftToIt()
{
    // Topic alias 0 (3.3.2.3.4) and a subscription identifier in a client's PUBLISH
    // (MQTT-3.3.4-6) depend on direction and session state: the codec decodes them and the
    // protocol layer refuses them.
    const QByteArray alias0 = hex("30 08 | PUBLISH\n"
                                  "00 01 74 | topic t\n"
                                  "03 23 00 00 | property length 3, topic alias 0\n"
                                  "78 | payload\n");
    const Packet p = codectest::decodeOk(alias0, ProtocolVersion::V5);
    QCOMPARE(std::get<Publish>(p).properties.topicAlias.value_or(99), std::uint16_t(0));
    const QByteArray subId = hex("30 06 | PUBLISH\n"
                                 "00 01 74 | topic t\n"
                                 "02 0b 07 | property length 2, subscription id 7\n");
    QCOMPARE(std::get<Publish>(codectest::decodeOk(subId, ProtocolVersion::V5))
                 .properties.subscriptionIdentifiers,
             QList<std::uint32_t>{7});
}

void TstCodec::encodePublishPatchesPacketIdAndDup()
{
    Publish p;
    p.qos = 1;
    p.topic = "a/b";
    p.payload = "hi";
    EncodedPublish e = encodePublish(p, ProtocolVersion::V311);
    QCOMPARE(e.bytes.toHex(' '),
             hex("32 09 | PUBLISH QoS 1\n 00 03 61 2f 62 | topic\n 00 00 | id placeholder\n"
                 "68 69 | payload")
                 .toHex(' '));
    QCOMPARE(e.packetIdOffset, 7);

    QByteArray forSubscriber = e.bytes; // shared until patched
    patchPacketId(forSubscriber, e.packetIdOffset, 0xBEEF);
    QCOMPARE(forSubscriber.mid(7, 2), hex("be ef"));
    QCOMPARE(e.bytes.mid(7, 2), hex("00 00")); // the template is untouched
    setDupFlag(forSubscriber);
    QCOMPARE(std::uint8_t(forSubscriber.at(0)), std::uint8_t(0x3a));

    Publish q0 = p;
    q0.qos = 0;
    QCOMPARE(encodePublish(q0, ProtocolVersion::V5).packetIdOffset, -1);
}

void TstCodec::encodePublishLongHeader()
{
    // Remaining length needing three bytes: the offset must account for it.
    Publish p;
    p.qos = 2;
    p.topic = "t";
    p.payload = QByteArray(20000, 'p');
    p.properties.contentType = QByteArray("text/plain");
    const EncodedPublish e = encodePublish(p, ProtocolVersion::V5);
    QCOMPARE(e.packetIdOffset, 1 + 3 + 3);
    QByteArray b = e.bytes;
    patchPacketId(b, e.packetIdOffset, 513);
    const Packet decoded = codectest::decodeOk(b, ProtocolVersion::V5);
    QCOMPARE(std::get<Publish>(decoded).packetId, std::uint16_t(513));
}

void TstCodec::remainingLengthVarIntBoundaries_data()
{
    QTest::addColumn<int>("payloadSize");
    QTest::addColumn<QByteArray>("header");
    // PUBLISH QoS 0, topic "t" (3 bytes) + payload: remaining = 3 + payloadSize.
    QTest::newRow("127 one byte") << 124 << hex("30 7f");
    QTest::newRow("128 two bytes") << 125 << hex("30 80 01");
    QTest::newRow("16383 two bytes") << 16380 << hex("30 ff 7f");
    QTest::newRow("16384 three bytes") << 16381 << hex("30 80 80 01");
    QTest::newRow("2097152 four bytes") << 2097149 << hex("30 80 80 80 01");
}

void TstCodec::remainingLengthVarIntBoundaries()
{
    QFETCH(int, payloadSize);
    QFETCH(QByteArray, header);
    Publish p;
    p.topic = "t";
    p.payload = QByteArray(payloadSize, 'z');
    const QByteArray bytes = encode(p, ProtocolVersion::V311);
    QCOMPARE(bytes.left(header.size()).toHex(' '), header.toHex(' '));
    QCOMPARE(bytes.size(), header.size() + 3 + payloadSize);
    QVERIFY(codectest::decodeOk(bytes, ProtocolVersion::V311) == Packet(p));
}

void TstCodec::utf8Validation_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("valid");
    QTest::newRow("ascii") << QByteArray("sensors/temperature/living-room") << true;
    QTest::newRow("empty") << QByteArray() << true;
    QTest::newRow("2-byte é") << hex("c3 a9") << true;
    QTest::newRow("3-byte €") << hex("e2 82 ac") << true;
    QTest::newRow("4-byte U+1F600") << hex("f0 9f 98 80") << true;
    QTest::newRow("U+10FFFF") << hex("f4 8f bf bf") << true;
    QTest::newRow("U+FFFF non-character allowed") << hex("ef bf bf") << true;
    QTest::newRow("control char U+0001 allowed (MAY)") << hex("61 01 62") << true;
    QTest::newRow("MQTT-1.5.4-2 U+0000 after 8 ascii") << QByteArray("abcdefgh\0x", 10) << false;
    QTest::newRow("MQTT-1.5.4-1 surrogate U+D800") << hex("ed a0 80") << false;
    QTest::newRow("MQTT-1.5.4-1 surrogate U+DFFF") << hex("ed bf bf") << false;
    QTest::newRow("overlong / C0 AF") << hex("c0 af") << false;
    QTest::newRow("overlong 3-byte") << hex("e0 80 af") << false;
    QTest::newRow("overlong 4-byte") << hex("f0 80 80 af") << false;
    QTest::newRow("above U+10FFFF") << hex("f4 90 80 80") << false;
    QTest::newRow("F5 lead") << hex("f5 80 80 80") << false;
    QTest::newRow("lone continuation") << hex("80") << false;
    QTest::newRow("truncated sequence at end") << QByteArray("abcdefgh\xe2\x82", 10) << false;
    QTest::newRow("bad continuation") << hex("c3 28") << false;
}

void TstCodec::utf8Validation()
{
    QFETCH(QByteArray, text);
    QFETCH(bool, valid);
    QCOMPARE(isValidMqttUtf8(text.constData(), text.size()), valid);
}

QTEST_APPLESS_MAIN(TstCodec)
#include "tst_codec.moc"
