#pragma once
// The two passes of the encoder (internal): SizeCounter measures, ByteWriter writes into memory
// reserved once from that measure. Encoding functions are templates over either, so the size
// and the bytes can never disagree.

#include "VarInt.h"

#include <QByteArray>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace ferry::mqtt {

// Longest string or binary field: its length prefix is two bytes (1.5.4, 1.5.6).
constexpr qsizetype MaxFieldLength = 65535;

class SizeCounter {
public:
    void u8(std::uint8_t) { m_size += 1; }
    void u16(std::uint16_t) { m_size += 2; }
    void u32(std::uint32_t) { m_size += 4; }
    void varInt(std::uint32_t v) { m_size += varint::encodedSize(v); }
    void raw(const char *, qsizetype n) { m_size += n; }
    void field(const QByteArray &s) { m_size += 2 + std::min(s.size(), MaxFieldLength); }
    qsizetype size() const { return m_size; }

private:
    qsizetype m_size = 0;
};

class ByteWriter {
public:
    explicit ByteWriter(char *out) : m_p(out) {}
    void u8(std::uint8_t v) { *m_p++ = char(v); }
    void u16(std::uint16_t v)
    {
        *m_p++ = char(v >> 8);
        *m_p++ = char(v & 0xFF);
    }
    void u32(std::uint32_t v)
    {
        for (int shift = 24; shift >= 0; shift -= 8)
            *m_p++ = char((v >> shift) & 0xFF);
    }
    void varInt(std::uint32_t v) { m_p += varint::write(v, m_p); }
    void raw(const char *data, qsizetype n)
    {
        if (n > 0)
            std::memcpy(m_p, data, size_t(n));
        m_p += n;
    }
    // A string or binary field. Longer than 65,535 bytes cannot be said on the wire: that is a
    // caller bug (asserted); release builds truncate so that the frame stays well-formed.
    void field(const QByteArray &s)
    {
        Q_ASSERT(s.size() <= MaxFieldLength);
        const qsizetype n = std::min(s.size(), MaxFieldLength);
        u16(std::uint16_t(n));
        raw(s.constData(), n);
    }
    char *position() const { return m_p; }

private:
    char *m_p;
};

} // namespace ferry::mqtt
