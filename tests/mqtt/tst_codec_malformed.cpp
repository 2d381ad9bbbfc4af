// MQTT codec: every malformed input the decoder must refuse, one row each, named after the spec
// rule or the CVE it comes from, with the reason code the protocol layer will send.

#include "CodecTestUtil.h"

#include "mqtt/codec/ReasonCode.h"

#include <QTest>

using namespace ferry::mqtt;
using codectest::frame;
using codectest::hex;

Q_DECLARE_METATYPE(ferry::mqtt::ProtocolVersion)

namespace {

const ProtocolVersion V3 = ProtocolVersion::V311;
const ProtocolVersion V5 = ProtocolVersion::V5;

// A 5.0 PUBLISH QoS 0 to "t" with the given property block (length byte included).
QByteArray publish5(const char *block)
{
    return frame(0x30, hex("00 01 74") + hex(block));
}

// A 5.0 CONNECT (clean start, empty client id) with the given property block.
QByteArray connect5(const char *block)
{
    return frame(0x10, hex("00 04 4d 51 54 54 05 02 00 00") + hex(block) + hex("00 00"));
}

// A 3.1.1 CONNECT with the given flags byte and payload after the client id "c".
QByteArray connect311(const char *flags, const char *rest = "")
{
    return frame(0x10,
                 hex("00 04 4d 51 54 54 04") + hex(flags) + hex("00 3c 00 01 63") + hex(rest));
}

} // namespace

class TstCodecMalformed : public QObject {
    Q_OBJECT
private slots:
    void refused_data();
    void refused();
    void unsupportedProtocolLevelReportsLevel_MQTT_3_1_2_2();
    void malformedConnect5ReportsLevel();
    void userPropertyCapIsASetting();
    void defaultUserPropertyCap();
    void errorIsSticky();
    void packetTooLargeBeforeBody_CVE_2017_7651();
};

void TstCodecMalformed::refused_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ProtocolVersion>("version");
    QTest::addColumn<int>("reason");
    const int M = rc::MalformedPacket, P = rc::ProtocolError;

    // Fixed header (2.1)
    QTest::newRow("2.1.2 packet type 0") << hex("00 00") << V3 << M;
    QTest::newRow("2.1.2 AUTH is reserved in 3.1.1") << hex("f0 00") << V3 << M;
    QTest::newRow("MQTT-2.1.3-1 PUBREL flags 0000") << hex("60 02 00 01") << V3 << M;
    QTest::newRow("MQTT-2.1.3-1 SUBSCRIBE flags 0000") << hex("80 06 00 01 00 01 74 00") << V3 << M;
    QTest::newRow("MQTT-2.1.3-1 UNSUBSCRIBE flags 0000") << hex("a0 05 00 01 00 01 74") << V3 << M;
    QTest::newRow("MQTT-2.1.3-1 PINGREQ flags 0001") << hex("c1 00") << V3 << M;
    QTest::newRow("MQTT-2.1.3-1 PUBACK flags 0010") << hex("42 02 00 01") << V5 << M;
    QTest::newRow("1.5.5 remaining length with 5th byte") << hex("30 ff ff ff ff 01") << V3 << M;

    // PUBLISH (3.3)
    QTest::newRow("MQTT-3.3.1-4 QoS 3") << hex("36 05 00 01 74 00 01") << V3 << M;
    QTest::newRow("MQTT-3.3.1-2 DUP with QoS 0") << hex("38 03 00 01 74") << V3 << M;
    QTest::newRow("MQTT-3.3.2-2 wildcard + in topic") << hex("30 05 00 03 61 2f 2b") << V3 << M;
    QTest::newRow("MQTT-3.3.2-2 wildcard # in topic") << hex("30 04 00 01 23 00") << V5 << M;
    QTest::newRow("MQTT-4.7.3-1 empty topic 3.1.1") << hex("30 02 00 00") << V3 << M;
    QTest::newRow("3.3.2.1 empty topic without alias 5.0 CVE-2021-34432")
        << hex("30 03 00 00 00") << V5 << P;
    QTest::newRow("MQTT-2.3.1-1 QoS 1 packet id 0") << hex("32 05 00 01 74 00 00") << V3 << M;
    QTest::newRow("NanoMQ#2270 QoS 1 truncated before packet id")
        << hex("32 03 00 01 74") << V3 << M;
    QTest::newRow("NanoMQ#2270 QoS 2 one byte of packet id") << hex("34 04 00 01 74 00") << V5 << M;
    QTest::newRow("5.0 PUBLISH without property length") << hex("30 03 00 01 74") << V5 << M;

    // UTF-8 strings (1.5.4)
    QTest::newRow("MQTT-1.5.4-1 invalid UTF-8 in topic") << hex("30 04 00 02 c3 28") << V3 << M;
    QTest::newRow("MQTT-1.5.4-1 surrogate U+D800 in topic")
        << hex("30 05 00 03 ed a0 80") << V3 << M;
    QTest::newRow("MQTT-1.5.4-1 overlong encoding") << hex("30 04 00 02 c0 af") << V3 << M;
    QTest::newRow("MQTT-1.5.4-2 U+0000 in topic") << hex("30 04 00 02 61 00") << V3 << M;
    QTest::newRow("1.5.4 string length past packet end") << hex("30 04 00 05 61 62") << V3 << M;
    QTest::newRow("MQTT-1.5.4-1 invalid UTF-8 in client id")
        << connect311("02", "").replace(QByteArray("\x00\x01\x63", 3),
                                        QByteArray("\x00\x01\xff", 3))
        << V3 << M;

    // Properties (2.2.2)
    QTest::newRow("1.5.5 property length with 5th byte CVE-2026-21888")
        << publish5("ff ff ff ff 01") << V5 << M;
    QTest::newRow("2.2.2.1 property block past packet end") << publish5("05 01 00") << V5 << M;
    QTest::newRow("2.2.2.2 unknown property 0x04") << publish5("02 04 00") << V5 << M;
    QTest::newRow("2.2.2.2 unknown property 0x80") << publish5("02 80 01") << V5 << M;
    QTest::newRow("2.2.2.2 session expiry not allowed in PUBLISH")
        << publish5("05 11 00 00 00 01") << V5 << M;
    QTest::newRow("2.2.2.2 will delay not allowed in CONNECT")
        << connect5("05 18 00 00 00 01") << V5 << M;
    QTest::newRow("2.2.2.2 reason string not allowed in SUBSCRIBE")
        << frame(0x82, hex("00 01 04 1f 00 01 78 00 01 74 00")) << V5 << M;
    QTest::newRow("2.2.2.2 property value truncated in block") << publish5("02 02 00") << V5 << M;
    QTest::newRow("2.2.2.2 user property value past block end")
        << publish5("06 26 00 01 61 00 01 | value length runs out of the block\n 62") << V5 << M;
    QTest::newRow("MQTT-1.5.4-1 content type not UTF-8")
        << publish5("05 03 00 02 c3 28") << V5 << M;
    QTest::newRow("3.3.2.3.3 message expiry twice")
        << publish5("0a 02 00 00 00 01 02 00 00 00 01") << V5 << P;
    QTest::newRow("3.3.2.3.4 topic alias twice") << publish5("06 23 00 01 23 00 02") << V5 << P;
    QTest::newRow("3.3.2.3.8 subscription identifier 0") << publish5("02 0b 00") << V5 << P;
    QTest::newRow("3.8.2.1.2 subscription identifier twice in SUBSCRIBE")
        << frame(0x82, hex("00 01 04 0b 01 0b 02 00 01 74 00")) << V5 << P;
    QTest::newRow("3.3.2.3.2 payload format indicator 2") << publish5("02 01 02") << V5 << P;
    QTest::newRow("3.1.2.11.7 request problem information 2") << connect5("02 17 02") << V5 << P;
    QTest::newRow("3.1.2.11.6 request response information 2") << connect5("02 19 02") << V5 << P;
    QTest::newRow("3.1.2.11.3 receive maximum 0") << connect5("03 21 00 00") << V5 << P;
    QTest::newRow("3.1.2.11.4 maximum packet size 0") << connect5("05 27 00 00 00 00") << V5 << P;
    QTest::newRow("3.1.2.11.2 session expiry twice")
        << connect5("0a 11 00 00 00 01 11 00 00 00 01") << V5 << P;
    QTest::newRow("3.2.2.3.4 maximum QoS 2 in CONNACK")
        << frame(0x20, hex("00 00 02 24 02")) << V5 << P;

    // CONNECT (3.1)
    QTest::newRow("MQTT-3.1.2-3 reserved flag set") << connect311("03") << V3 << M;
    QTest::newRow("MQTT-3.1.2-11 will QoS without will flag") << connect311("0a") << V3 << M;
    QTest::newRow("MQTT-3.1.2-13 will retain without will flag") << connect311("22") << V3 << M;
    QTest::newRow("MQTT-3.1.2-12 will QoS 3") << connect311("1e", "00 01 74 00 00") << V3 << M;
    QTest::newRow("MQTT-3.1.2-22 password without user name in 3.1.1")
        << connect311("42", "00 01 70") << V3 << M;
    QTest::newRow("3.1.3.5 user name flag but no user name") << connect311("82") << V3 << M;
    QTest::newRow("3.1.3.6 password flag but no password")
        << connect311("c2", "00 01 75") << V3 << M;
    QTest::newRow("3.1.3.2 will flag but no will payload")
        << connect311("06", "00 01 74") << V3 << M;
    QTest::newRow("3.1.2.1 unknown protocol name")
        << frame(0x10, hex("00 04 4d 51 54 58 04 02 00 3c 00 01 63")) << V3 << M;
    QTest::newRow("3.1 trailing bytes after CONNECT") << connect311("02", "ff") << V3 << M;
    QTest::newRow("3.1 CONNECT truncated in keep alive")
        << frame(0x10, hex("00 04 4d 51 54 54 04 02 00")) << V3 << M;

    // SUBSCRIBE / UNSUBSCRIBE (3.8, 3.10)
    QTest::newRow("MQTT-3.8.3-2 SUBSCRIBE without filters 5.0") << hex("82 03 00 01 00") << V5 << P;
    QTest::newRow("MQTT-3.8.3-3 SUBSCRIBE without filters 3.1.1") << hex("82 02 00 01") << V3 << P;
    QTest::newRow("NanoMQ#2268 options byte missing") << hex("82 05 00 01 00 01 74") << V3 << M;
    QTest::newRow("NanoMQ#2268 options byte missing 5.0")
        << hex("82 06 00 01 00 00 01 74") << V5 << M;
    QTest::newRow("MQTT-3.8.3-5 reserved option bits 5.0")
        << hex("82 07 00 01 00 00 01 74 40") << V5 << M;
    QTest::newRow("3.8.3.1 maximum QoS 3 5.0") << hex("82 07 00 01 00 00 01 74 03") << V5 << P;
    QTest::newRow("3.8.3.1 retain handling 3 5.0") << hex("82 07 00 01 00 00 01 74 30") << V5 << P;
    QTest::newRow("MQTT-3.8.3-4 upper bits of requested QoS 3.1.1")
        << hex("82 06 00 01 00 01 74 04") << V3 << M;
    QTest::newRow("MQTT-3.8.3-4 requested QoS 3 3.1.1")
        << hex("82 06 00 01 00 01 74 03") << V3 << M;
    QTest::newRow("MQTT-2.3.1-1 SUBSCRIBE packet id 0")
        << hex("82 06 00 00 00 01 74 00") << V3 << M;
    QTest::newRow("MQTT-3.10.3-2 UNSUBSCRIBE without filters") << hex("a2 02 00 01") << V3 << P;
    QTest::newRow("MQTT-3.10.3-2 UNSUBSCRIBE without filters 5.0")
        << hex("a2 03 00 01 00") << V5 << P;
    QTest::newRow("MQTT-2.3.1-1 UNSUBSCRIBE packet id 0") << hex("a2 05 00 00 00 01 74") << V3 << M;
    QTest::newRow("3.10.3 UNSUBSCRIBE filter truncated") << hex("a2 05 00 01 00 05 74") << V3 << M;

    // Acknowledgements and the rest
    QTest::newRow("3.4 PUBACK 3.1.1 remaining length 3") << hex("40 03 00 01 00") << V3 << M;
    QTest::newRow("3.4 PUBACK remaining length 1") << hex("40 01 00") << V5 << M;
    QTest::newRow("3.4 PUBACK 5.0 trailing after properties")
        << hex("40 05 00 01 00 00 ff") << V5 << M;
    QTest::newRow("3.2.2.1 CONNACK reserved flag bits") << hex("20 02 02 00") << V3 << M;
    QTest::newRow("3.2 CONNACK 3.1.1 with trailing byte") << hex("20 03 00 00 00") << V3 << M;
    QTest::newRow("MQTT-3.9.3-2 SUBACK 3.1.1 reserved return code")
        << hex("90 03 00 01 03") << V3 << M;
    QTest::newRow("3.11 UNSUBACK 3.1.1 with payload") << hex("b0 03 00 01 00") << V3 << M;
    QTest::newRow("3.12 PINGREQ remaining length 1") << hex("c0 01 00") << V3 << M;
    QTest::newRow("3.13 PINGRESP remaining length 1") << hex("d0 01 00") << V5 << M;
    QTest::newRow("3.14 DISCONNECT 3.1.1 with body") << hex("e0 01 00") << V3 << M;
    QTest::newRow("3.14 DISCONNECT 5.0 trailing after properties")
        << hex("e0 03 00 00 00") << V5 << M;
    QTest::newRow("3.15.2.2.1 AUTH of one byte") << hex("f0 01 00") << V5 << M;
}

void TstCodecMalformed::refused()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ProtocolVersion, version);
    QFETCH(int, reason);
    Packet out;
    DecodeError err;
    const auto status = decodeOne(bytes, version, out, err);
    QCOMPARE(int(status), int(Decoder::Status::Error));
    QCOMPARE(QByteArray::number(err.reasonCode, 16), QByteArray::number(reason, 16));
    QVERIFY(!err.message.isEmpty());
    QVERIFY(err.offset >= 0 && err.offset <= bytes.size());

    // The incremental decoder says the same, whatever the split.
    Decoder d;
    d.setVersion(version);
    Decoder::Status last = Decoder::Status::NeedMore;
    for (qsizetype i = 0; i < bytes.size() && last == Decoder::Status::NeedMore; ++i) {
        d.feed(bytes.constData() + i, 1);
        last = d.next(out, err);
    }
    QCOMPARE(int(last), int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), reason);
}

void TstCodecMalformed::unsupportedProtocolLevelReportsLevel_MQTT_3_1_2_2()
{
    // "The Server MUST respond to the CONNECT Packet with a CONNACK return code 0x01
    // (unacceptable protocol level) ... if the Protocol Level is not supported" [MQTT-3.1.2-2]:
    // the decoder says 0x84 and which level it saw.
    const QByteArray bytes = frame(0x10, hex("00 04 4d 51 54 54 | MQTT\n 06 | level 6\n"
                                             "02 00 3c 00 01 63"));
    Packet out;
    DecodeError err;
    QCOMPARE(int(decodeOne(bytes, ProtocolVersion::V311, out, err)), int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), int(rc::UnsupportedProtocolVersion));
    QCOMPARE(int(err.connectProtocolLevel), 6);

    const QByteArray mqisdp4 = frame(0x10, hex("00 06 4d 51 49 73 64 70 | MQIsdp\n 04 | level 4\n"
                                               "02 00 3c 00 01 63"));
    QCOMPARE(int(decodeOne(mqisdp4, ProtocolVersion::V311, out, err)), int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), int(rc::UnsupportedProtocolVersion));
    QCOMPARE(int(err.connectProtocolLevel), 4);
}

void TstCodecMalformed::malformedConnect5ReportsLevel()
{
    Packet out;
    DecodeError err;
    QCOMPARE(int(decodeOne(connect5("02 04 00"), ProtocolVersion::V311, out, err)),
             int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), int(rc::MalformedPacket));
    QCOMPARE(int(err.connectProtocolLevel), 5); // so the CONNACK can be a 5.0 one

    QCOMPARE(int(decodeOne(hex("30 02 00 00"), ProtocolVersion::V311, out, err)),
             int(Decoder::Status::Error));
    QCOMPARE(int(err.connectProtocolLevel), 0); // not a CONNECT
}

void TstCodecMalformed::userPropertyCapIsASetting()
{
    // Three user properties: two in CONNECT, one in its will. Cap 2 refuses, cap 3 accepts.
    const QByteArray bytes = frame(0x10, hex("00 04 4d 51 54 54 05 | MQTT 5\n"
                                             "06 00 00 | will, clean; keep alive 0\n"
                                             "0a 26 00 00 00 00 26 00 00 00 00 | 2 user props\n"
                                             "00 00 | client id\n"
                                             "05 26 00 00 00 00 | will: 1 user prop\n"
                                             "00 01 74 00 00 | will topic, payload\n"));
    Packet out;
    DecodeError err;
    Decoder capped;
    capped.setMaxUserProperties(2);
    capped.feed(bytes);
    QCOMPARE(int(capped.next(out, err)), int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), int(rc::ImplementationSpecificError));

    Decoder enough;
    enough.setMaxUserProperties(3);
    enough.feed(bytes);
    QCOMPARE(int(enough.next(out, err)), int(Decoder::Status::Packet));
    QCOMPARE(std::get<Connect>(out).properties.userProperties.size(), 2);
    QCOMPARE(std::get<Connect>(out).will->properties.userProperties.size(), 1);
}

void TstCodecMalformed::defaultUserPropertyCap()
{
    // 65,536 empty user properties (5 bytes each) in one CONNECT: one over the default cap.
    const int count = int(Decoder::DefaultMaxUserProperties) + 1;
    QByteArray props;
    for (int i = 0; i < count; ++i)
        props += hex("26 00 00 00 00");
    QByteArray body = hex("00 04 4d 51 54 54 05 02 00 00");
    body += hex("80 80 14 | property length 327,680 = 0x50000");
    body += props;
    body += hex("00 00 | client id");
    QCOMPARE(props.size(), 0x50000);
    QByteArray bytes = hex("10 | CONNECT");
    bytes += hex("8f 80 14 | remaining length 327,695");
    bytes += body;
    QCOMPARE(body.size(), 327695);
    Packet out;
    DecodeError err;
    QCOMPARE(int(decodeOne(bytes, ProtocolVersion::V5, out, err)), int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), int(rc::ImplementationSpecificError));
}

void TstCodecMalformed::errorIsSticky()
{
    Decoder d;
    d.feed(hex("c0 00 | PINGREQ\n c0 01 00 | bad PINGREQ\n c0 00 | PINGREQ"));
    Packet out;
    DecodeError err;
    QCOMPARE(int(d.next(out, err)), int(Decoder::Status::Packet));
    QCOMPARE(int(d.next(out, err)), int(Decoder::Status::Error));
    QCOMPARE(err.offset, 4); // first byte after the length of the bad PINGREQ (2 + 2)
    d.feed(hex("c0 00"));
    err = DecodeError{};
    QCOMPARE(int(d.next(out, err)), int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), int(rc::MalformedPacket));
    QCOMPARE(d.bufferedBytes(), 0);
}

void TstCodecMalformed::packetTooLargeBeforeBody_CVE_2017_7651()
{
    // A PUBLISH announcing 200 MB, with a 1 MB limit: refused from the fixed header alone.
    Decoder d(1024 * 1024);
    d.feed(hex("30 | PUBLISH\n 80 80 80 64 | remaining length 209,715,200"));
    Packet out;
    DecodeError err;
    QCOMPARE(int(d.next(out, err)), int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), int(rc::PacketTooLarge));
    QCOMPARE(d.bufferedBytes(), 0);

    // The limit counts the whole packet (fixed header included, 3.1.2.11.4): 1 + 1 + 126.
    Decoder exact(128);
    exact.feed(frame(0x30, hex("00 01 74") + QByteArray(123, 'x')));
    QCOMPARE(int(exact.next(out, err)), int(Decoder::Status::Packet));
    Decoder oneLess(127);
    oneLess.feed(hex("30 7e"));
    QCOMPARE(int(oneLess.next(out, err)), int(Decoder::Status::Error));
    QCOMPARE(int(err.reasonCode), int(rc::PacketTooLarge));
}

QTEST_APPLESS_MAIN(TstCodecMalformed)
#include "tst_codec_malformed.moc"
