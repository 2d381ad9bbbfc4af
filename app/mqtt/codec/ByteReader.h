#pragma once
// A bounds-checked cursor over one packet's bytes, used by the body decoders (internal).
//
// Every read checks the bytes left first; a read past the end records a Malformed Packet error
// (the first error wins) and returns false, so decoders are written as `if (!r.readX(..)) return`.
// Offsets in errors are absolute: base offset of the buffer plus position.

#include "DecodeError.h"
#include "ReasonCode.h"
#include "Utf8.h"
#include "VarInt.h"

#include <QByteArray>

#include <cstdint>

namespace ferry::mqtt {

class ByteReader {
public:
    ByteReader(const char *data, qsizetype size, qsizetype baseOffset, DecodeError &error)
        : m_data(data), m_size(size), m_base(baseOffset), m_error(error)
    {
    }

    qsizetype remaining() const { return m_size - m_pos; }
    bool atEnd() const { return m_pos == m_size; }
    const char *current() const { return m_data + m_pos; }
    qsizetype absoluteOffset() const { return m_base + m_pos; }
    DecodeError &error() { return m_error; }

    // Records the error (reason, message, current offset) and returns false.
    bool fail(std::uint8_t reasonCode, const char *message)
    {
        m_error.reasonCode = reasonCode;
        m_error.message = message;
        m_error.offset = absoluteOffset();
        return false;
    }

    // Adopts an error found by a nested reader (a property block); returns false.
    bool failWith(const DecodeError &inner)
    {
        const std::uint8_t level = m_error.connectProtocolLevel;
        m_error = inner;
        m_error.connectProtocolLevel = level;
        return false;
    }

    bool readU8(std::uint8_t &v, const char *what = "truncated byte field")
    {
        if (remaining() < 1)
            return fail(rc::MalformedPacket, what);
        v = std::uint8_t(m_data[m_pos++]);
        return true;
    }
    bool readU16(std::uint16_t &v, const char *what = "truncated two byte integer")
    {
        if (remaining() < 2)
            return fail(rc::MalformedPacket, what);
        v = std::uint16_t((std::uint8_t(m_data[m_pos]) << 8) | std::uint8_t(m_data[m_pos + 1]));
        m_pos += 2;
        return true;
    }
    bool readU32(std::uint32_t &v)
    {
        if (remaining() < 4)
            return fail(rc::MalformedPacket, "truncated four byte integer");
        v = 0;
        for (int i = 0; i < 4; ++i)
            v = (v << 8) | std::uint8_t(m_data[m_pos + i]);
        m_pos += 4;
        return true;
    }
    bool readVarInt(std::uint32_t &v)
    {
        int len = 0;
        switch (varint::read(current(), remaining(), v, len)) {
        case varint::ReadStatus::Ok:
            m_pos += len;
            return true;
        case varint::ReadStatus::NeedMore:
            return fail(rc::MalformedPacket, "variable byte integer runs past the packet end");
        case varint::ReadStatus::Malformed:
            break;
        }
        return fail(rc::MalformedPacket, "variable byte integer longer than four bytes (1.5.5)");
    }
    // Two byte length, then that many bytes (Binary Data, spec 1.5.6).
    bool readBinary(QByteArray &out)
    {
        std::uint16_t len = 0;
        if (!readU16(len, "truncated length prefix"))
            return false;
        if (remaining() < len)
            return fail(rc::MalformedPacket, "length prefix runs past the packet end");
        out = QByteArray(current(), len);
        m_pos += len;
        return true;
    }
    // UTF-8 Encoded String (spec 1.5.4): Binary Data that must pass isValidMqttUtf8.
    bool readString(QByteArray &out)
    {
        const qsizetype start = m_pos;
        if (!readBinary(out))
            return false;
        if (!isValidMqttUtf8(out.constData(), out.size())) {
            m_pos = start;
            return fail(rc::MalformedPacket,
                        "invalid UTF-8, U+0000 or surrogate in string (MQTT-1.5.4-1/2)");
        }
        return true;
    }
    // The rest of the buffer, copied once (the PUBLISH payload, the SUBACK codes).
    QByteArray readRest()
    {
        QByteArray out(current(), remaining());
        m_pos = m_size;
        return out;
    }
    void skip(qsizetype n) { m_pos += n; }

private:
    const char *m_data;
    qsizetype m_size;
    qsizetype m_pos = 0;
    qsizetype m_base;
    DecodeError &m_error;
};

} // namespace ferry::mqtt
