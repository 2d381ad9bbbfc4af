#include "Decoder.h"

#include "BodyDecoder.h"
#include "ByteReader.h"
#include "ReasonCode.h"
#include "VarInt.h"

namespace ferry::mqtt {

namespace {

struct FrameOptions {
    ProtocolVersion version;
    std::uint32_t maxPacketSize;
    std::uint32_t maxUserProperties;
    qsizetype baseOffset; // stream offset of data[0], for error offsets
};

Decoder::Status fail(DecodeError &error, std::uint8_t reason, const char *message, qsizetype offset)
{
    error = DecodeError{reason, message, offset, 0};
    return Decoder::Status::Error;
}

// One packet from data[0..size): the single implementation behind Decoder and decodeOne.
Decoder::Status decodeFrame(const char *data, qsizetype size, const FrameOptions &o, Packet &out,
                            DecodeError &error, qsizetype &consumed)
{
    if (size < 1)
        return Decoder::Status::NeedMore;
    const auto first = std::uint8_t(data[0]);
    const char *message = nullptr;
    if (const auto reason = checkFixedHeaderByte(first, o.version, message))
        return fail(error, reason, message, o.baseOffset);

    std::uint32_t remaining = 0;
    int lengthBytes = 0;
    switch (varint::read(data + 1, size - 1, remaining, lengthBytes)) {
    case varint::ReadStatus::NeedMore:
        return Decoder::Status::NeedMore;
    case varint::ReadStatus::Malformed:
        return fail(error, rc::MalformedPacket,
                    "remaining length longer than four bytes (MQTT-1.5.5, 2.1.4)",
                    o.baseOffset + 1);
    case varint::ReadStatus::Ok:
        break;
    }
    // Checked as soon as the fixed header is complete, before waiting for (and buffering) the
    // body (Mosquitto CVE-2017-7651: memory taken for a huge Remaining Length from a client that
    // never authenticated).
    const std::uint64_t total = 1u + std::uint64_t(lengthBytes) + remaining;
    if (total > o.maxPacketSize)
        return fail(error, rc::PacketTooLarge, "packet larger than the maximum packet size",
                    o.baseOffset);
    if (std::uint64_t(size) < total)
        return Decoder::Status::NeedMore;

    const qsizetype headerSize = 1 + lengthBytes;
    error = DecodeError{};
    ByteReader reader(data + headerSize, qsizetype(remaining), o.baseOffset + headerSize, error);
    BodyContext ctx;
    ctx.version = o.version;
    ctx.limits.maxUserProperties = o.maxUserProperties;
    if (!decodeBody(first, reader, ctx, out))
        return Decoder::Status::Error;
    consumed = qsizetype(total);
    return Decoder::Status::Packet;
}

} // namespace

Decoder::Decoder(std::uint32_t maxPacketSize) : m_maxPacketSize(maxPacketSize) {}

void Decoder::feed(const char *data, qsizetype size)
{
    if (m_error || size <= 0)
        return;
    compact();
    m_buffer.append(data, size);
}

void Decoder::compact()
{
    if (m_head == 0)
        return;
    if (m_head == m_buffer.size()) {
        // Idle connections must not pin a buffer (thousands of them on a small gateway): only a
        // small one is kept for reuse.
        m_streamOffset += m_head;
        m_head = 0;
        if (m_buffer.capacity() > 1024)
            m_buffer.clear();
        else
            m_buffer.resize(0);
        return;
    }
    // Drop the consumed prefix only when it is at least half the buffer: each byte is then moved
    // at most once on average (amortised O(1) per byte, never quadratic).
    if (m_head >= 4096 && m_head * 2 >= m_buffer.size()) {
        m_buffer.remove(0, m_head);
        m_streamOffset += m_head;
        m_head = 0;
    }
}

Decoder::Status Decoder::next(Packet &out, DecodeError &error)
{
    if (m_error) {
        error = *m_error;
        return Status::Error;
    }
    const FrameOptions options{m_version, m_maxPacketSize, m_maxUserProperties,
                               m_streamOffset + m_head};
    qsizetype consumed = 0;
    const Status status = decodeFrame(m_buffer.constData() + m_head, m_buffer.size() - m_head,
                                      options, out, error, consumed);
    if (status == Status::Packet) {
        m_head += consumed;
    } else if (status == Status::NeedMore && m_head == m_buffer.size()) {
        // Everything fed has been decoded (packets hold copies, never this buffer): release
        // it, so an idle connection pins no buffer between packets.
        m_streamOffset += m_head;
        m_head = 0;
        m_buffer = QByteArray();
    } else if (status == Status::Error) {
        m_error = std::make_unique<DecodeError>(error);
        m_buffer.clear();
        m_head = 0;
    }
    return status;
}

Decoder::Status decodeOne(const QByteArray &bytes, ProtocolVersion version, Packet &out,
                          DecodeError &error, qsizetype *consumed, std::uint32_t maxPacketSize)
{
    const FrameOptions options{version, maxPacketSize, Decoder::DefaultMaxUserProperties, 0};
    qsizetype used = 0;
    const auto status = decodeFrame(bytes.constData(), bytes.size(), options, out, error, used);
    if (consumed)
        *consumed = status == Decoder::Status::Packet ? used : 0;
    return status;
}

} // namespace ferry::mqtt
