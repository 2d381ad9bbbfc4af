#pragma once
// Helpers shared by the codec tests: hex literals with comments, and a QTest-printable packet.

#include "mqtt/codec/Decoder.h"
#include "mqtt/codec/Encoder.h"

#include <QByteArray>
#include <QTest>

namespace codectest {

// Hex bytes written one field a line: whitespace ignored, "|" starts a comment to end of line.
// hex("10 | CONNECT\n" "0d | remaining length") == "\x10\x0d".
inline QByteArray hex(const char *text)
{
    QByteArray digits;
    bool comment = false;
    for (const char *p = text; *p; ++p) {
        if (*p == '\n') {
            comment = false;
        } else if (*p == '|') {
            comment = true;
        } else if (!comment && QByteArray("0123456789abcdefABCDEF").contains(*p)) {
            digits.append(*p);
        }
    }
    Q_ASSERT(digits.size() % 2 == 0);
    return QByteArray::fromHex(digits);
}

// A frame: first byte, one-byte Remaining Length (the body must be shorter than 128), body.
inline QByteArray frame(std::uint8_t first, const QByteArray &body)
{
    Q_ASSERT(body.size() < 128);
    QByteArray out;
    out.append(char(first));
    out.append(char(body.size()));
    out.append(body);
    return out;
}

inline ferry::mqtt::Packet decodeOk(const QByteArray &bytes, ferry::mqtt::ProtocolVersion v)
{
    ferry::mqtt::Packet out;
    ferry::mqtt::DecodeError err;
    qsizetype consumed = -1;
    const auto status = ferry::mqtt::decodeOne(bytes, v, out, err, &consumed);
    if (status != ferry::mqtt::Decoder::Status::Packet)
        qWarning("decode failed: reason=0x%x offset=%lld %s", err.reasonCode, qlonglong(err.offset),
                 err.message.constData());
    [&] { QCOMPARE(int(status), int(ferry::mqtt::Decoder::Status::Packet)); }();
    [&] { QCOMPARE(consumed, bytes.size()); }();
    return out;
}

} // namespace codectest
