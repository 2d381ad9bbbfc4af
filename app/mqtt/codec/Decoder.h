#pragma once
// Incremental MQTT decoder: bytes in, packets or one precise error out. Pure: no I/O, no logging,
// no session state (topic aliases, packet-id bookkeeping and "first packet must be CONNECT" are
// the protocol layer's job).
//
// Contract: feed() any split of the stream; call next() until it returns NeedMore. After Error
// the decoder stays in Error (the stream is unusable: MQTT has no resynchronisation) and ignores
// further input. The whole fixed header is checked before the body is buffered, so a peer that
// announces a packet bigger than the limit is refused after at most five bytes.

#include "DecodeError.h"
#include "Packet.h"

#include <QByteArray>

#include <cstdint>
#include <memory>

namespace ferry::mqtt {

class Decoder {
public:
    // 268,435,460 = 1 + 4 + the largest Remaining Length: no limit beyond the protocol's own.
    static constexpr std::uint32_t ProtocolMaxPacketSize = 268435460;
    static constexpr std::uint32_t DefaultMaxUserProperties = 65535;

    enum class Status { NeedMore, Packet, Error };

    explicit Decoder(std::uint32_t maxPacketSize = ProtocolMaxPacketSize);

    // Largest packet accepted, counted as MQTT 5 counts Maximum Packet Size: the whole packet,
    // fixed header included (3.1.2.11.4). Bigger is rc::PacketTooLarge.
    void setMaxPacketSize(std::uint32_t size) { m_maxPacketSize = size; }
    std::uint32_t maxPacketSize() const { return m_maxPacketSize; }

    // User properties allowed in one packet (a CONNECT and its will together). The spec sets no
    // limit, but each pair costs a parse, two allocations and a list slot; a CONNECT from an
    // unauthenticated client stuffed with tens of thousands of tiny pairs is a cheap way to burn
    // CPU and memory. More is rc::ImplementationSpecificError.
    void setMaxUserProperties(std::uint32_t count) { m_maxUserProperties = count; }

    // The dialect for every packet but CONNECT. Set by the protocol layer once CONNECT (server)
    // or CONNACK (client) settled it; defaults to V311. CONNECT is always decoded with the
    // version its own Protocol Level names, and decoding it does not change this setting.
    void setVersion(ProtocolVersion version) { m_version = version; }
    ProtocolVersion version() const { return m_version; }

    // Appends bytes to the buffer (ignored once in Error). Consumed bytes are dropped from the
    // front in amortised O(1), so a long stream never makes the buffer grow or move quadratically.
    void feed(const char *data, qsizetype size);
    void feed(const QByteArray &bytes) { feed(bytes.constData(), bytes.size()); }

    // Decodes the next complete packet into out, or reports why it cannot.
    Status next(Packet &out, DecodeError &error);

    qsizetype bufferedBytes() const { return m_buffer.size() - m_head; }
    bool hasError() const { return m_error != nullptr; }

private:
    void compact();

    QByteArray m_buffer;
    qsizetype m_head = 0;         // first unconsumed byte in m_buffer
    qsizetype m_streamOffset = 0; // stream offset of m_buffer[0]
    std::uint32_t m_maxPacketSize;
    std::uint32_t m_maxUserProperties = DefaultMaxUserProperties;
    ProtocolVersion m_version = ProtocolVersion::V311;
    // Made when decoding fails (an idle connection keeps only the pointer; the record is 48 B).
    std::unique_ptr<DecodeError> m_error;
};

// Decodes at most one packet from the start of bytes. Stateless; used by tests and fuzzing.
// On Packet, *consumed (if given) is the packet's total size. Error offsets count from bytes[0].
Decoder::Status decodeOne(const QByteArray &bytes, ProtocolVersion version, Packet &out,
                          DecodeError &error, qsizetype *consumed = nullptr,
                          std::uint32_t maxPacketSize = Decoder::ProtocolMaxPacketSize);

} // namespace ferry::mqtt
