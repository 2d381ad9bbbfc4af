// MQTT codec as a stream: any split of the bytes gives the same packets, the buffer does not
// grow with the stream, and random garbage never crashes the decoder.

#include "CodecTestUtil.h"

#include "mqtt/codec/ReasonCode.h"

#include <QRandomGenerator>
#include <QTest>

using namespace ferry::mqtt;
using codectest::hex;

namespace {

// A mixed 5.0 stream of a few hundred packets, with payloads from empty to 70 KB (three-byte
// Remaining Length).
QList<Packet> samplePackets()
{
    QList<Packet> packets;
    Connect c;
    c.version = ProtocolVersion::V5;
    c.clientId = "stream";
    c.properties.receiveMaximum = 10;
    packets.append(c);
    for (int i = 0; i < 300; ++i) {
        Publish p;
        p.qos = std::uint8_t(i % 3);
        p.topic = "s/" + QByteArray::number(i);
        p.packetId = p.qos ? std::uint16_t(i + 1) : 0;
        if (i % 7 == 0)
            p.properties.userProperties = {{"n", QByteArray::number(i)}};
        p.payload = QByteArray(i % 50 == 0 ? 70000 : i, char('a' + i % 26));
        packets.append(p);
        if (p.qos == 1)
            packets.append(PubResponse{PacketType::Puback, p.packetId, 0, {}});
        if (i % 40 == 0)
            packets.append(Subscribe{std::uint16_t(i + 1), {}, {{"s/#", 1}}});
        if (i % 45 == 0)
            packets.append(Pingreq{});
    }
    packets.append(Disconnect{});
    return packets;
}

QByteArray encodeAll(const QList<Packet> &packets)
{
    QByteArray out;
    for (const Packet &p : packets)
        out += encode(p, ProtocolVersion::V5);
    return out;
}

// Feeds chunks (sizes from `nextChunk`) and drains the decoder after each; returns the packets.
template <typename NextChunk>
QList<Packet> decodeSplit(const QByteArray &stream, NextChunk nextChunk, qsizetype *maxBuffered)
{
    Decoder d;
    d.setVersion(ProtocolVersion::V5);
    QList<Packet> out;
    qsizetype pos = 0;
    while (pos < stream.size()) {
        const qsizetype n = std::min(nextChunk(), stream.size() - pos);
        d.feed(stream.constData() + pos, n);
        pos += n;
        if (maxBuffered)
            *maxBuffered = std::max(*maxBuffered, d.bufferedBytes());
        for (int guard = 0; guard < 1000; ++guard) {
            Packet p;
            DecodeError err;
            const auto status = d.next(p, err);
            if (status == Decoder::Status::NeedMore)
                break;
            if (status == Decoder::Status::Error) {
                qWarning("error 0x%x at %lld: %s", err.reasonCode, qlonglong(err.offset),
                         err.message.constData());
                return out;
            }
            out.append(std::move(p));
        }
    }
    return out;
}

} // namespace

class TstCodecStream : public QObject {
    Q_OBJECT
private slots:
    void oneFeedByteByByteAndRandomSplitsAgree();
    void bufferStaysBoundedOverALongStream();
    void randomGarbageNeverCrashes();
};

void TstCodecStream::oneFeedByteByByteAndRandomSplitsAgree()
{
    const QList<Packet> packets = samplePackets();
    const QByteArray stream = encodeAll(packets);

    const QList<Packet> whole = decodeSplit(
        stream, [&] { return stream.size(); }, nullptr);
    QCOMPARE(whole.size(), packets.size());
    QVERIFY(whole == packets);

    qsizetype maxBuffered = 0;
    const QList<Packet> bytewise = decodeSplit(
        stream, [] { return qsizetype(1); }, &maxBuffered);
    QVERIFY(bytewise == packets);
    // Byte by byte, nothing beyond one packet is ever held: the biggest is 70 KB and change.
    QVERIFY2(maxBuffered < 71000, QByteArray::number(maxBuffered).constData());

    QRandomGenerator rng(20261125);
    for (int round = 0; round < 20; ++round) {
        const int maxChunk = 1 << rng.bounded(1, 17); // 2 .. 64 KiB
        const QList<Packet> split = decodeSplit(
            stream, [&] { return qsizetype(rng.bounded(1, maxChunk + 1)); }, nullptr);
        QVERIFY2(split == packets, QByteArray::number(round).constData());
    }
}

void TstCodecStream::bufferStaysBoundedOverALongStream()
{
    // 20,000 small PUBLISHes fed in 1,000-byte chunks without ever draining more than needed:
    // the buffer must not keep consumed bytes (no quadratic growth).
    Publish p;
    p.topic = "t/x";
    p.payload = QByteArray(40, 'q');
    const QByteArray one = encode(p, ProtocolVersion::V311);
    QByteArray stream;
    for (int i = 0; i < 20000; ++i)
        stream += one;
    qsizetype maxBuffered = 0;
    Decoder d;
    int count = 0;
    for (qsizetype pos = 0; pos < stream.size(); pos += 1000) {
        d.feed(stream.constData() + pos, std::min<qsizetype>(1000, stream.size() - pos));
        maxBuffered = std::max(maxBuffered, d.bufferedBytes());
        Packet out;
        DecodeError err;
        for (int guard = 0; guard < 100 && d.next(out, err) == Decoder::Status::Packet; ++guard)
            ++count;
    }
    QCOMPARE(count, 20000);
    QVERIFY(maxBuffered < 1000 + one.size());
    QCOMPARE(d.bufferedBytes(), 0);
}

void TstCodecStream::randomGarbageNeverCrashes()
{
    // 20,000 random buffers (a valid first byte half of the time, so bodies get parsed). Any
    // packet that decodes must survive encode -> decode unchanged.
    QRandomGenerator rng(7);
    int packets = 0, errors = 0;
    for (int i = 0; i < 20000; ++i) {
        const int len = rng.bounded(0, 96);
        QByteArray buf(len, Qt::Uninitialized);
        for (int k = 0; k < len; ++k)
            buf[k] = char(rng.bounded(256));
        if (len >= 2 && rng.bounded(2)) {
            static const std::uint8_t firsts[] = {0x10, 0x20, 0x30, 0x32, 0x35, 0x40, 0x50, 0x62,
                                                  0x70, 0x82, 0x90, 0xa2, 0xb0, 0xe0, 0xf0};
            buf[0] = char(firsts[rng.bounded(int(sizeof firsts))]);
            buf[1] = char(len - 2); // a consistent remaining length
        }
        for (const auto v : {ProtocolVersion::V311, ProtocolVersion::V5}) {
            Packet out;
            DecodeError err;
            qsizetype consumed = 0;
            const auto status = decodeOne(buf, v, out, err, &consumed, 1 << 20);
            if (status == Decoder::Status::Error) {
                ++errors;
                QVERIFY(err.reasonCode >= 0x80);
                QVERIFY(err.offset >= 0 && err.offset <= buf.size());
            } else if (status == Decoder::Status::Packet) {
                ++packets;
                QVERIFY(consumed > 0 && consumed <= buf.size());
                const ProtocolVersion ev =
                    std::holds_alternative<Connect>(out) ? std::get<Connect>(out).version : v;
                const QByteArray again = encode(out, ev);
                Packet back;
                QCOMPARE(int(decodeOne(again, ev, back, err)), int(Decoder::Status::Packet));
                QVERIFY2(back == out, buf.toHex(' ').constData());
            }
        }
    }
    // The generator is seeded: these only guard that the test exercises both outcomes.
    QVERIFY(packets > 100);
    QVERIFY(errors > 1000);
}

QTEST_APPLESS_MAIN(TstCodecStream)
#include "tst_codec_stream.moc"
