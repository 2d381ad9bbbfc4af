#pragma once
// What the decoder reports when bytes are not a valid MQTT packet.

#include <QByteArray>

#include <cstdint>

namespace ferry::mqtt {

struct DecodeError {
    // rc::MalformedPacket (0x81), rc::ProtocolError (0x82), rc::PacketTooLarge (0x95),
    // rc::UnsupportedProtocolVersion (0x84, CONNECT only) or rc::ImplementationSpecificError
    // (0x83, a decoder limit such as too many user properties was exceeded).
    std::uint8_t reasonCode = 0;
    QByteArray message;   // human-readable, names the spec rule; never contains payload bytes
    qsizetype offset = 0; // byte offset in the stream (Decoder) or buffer (decodeOne)
    // For a CONNECT that failed after its Protocol Level byte was read: that byte (3, 4, 5 or
    // anything else), so the protocol layer can answer in the client's dialect — a 3.1.1 CONNACK
    // with return code 0x01 for 0x84, a 5.0 CONNACK with the reason code otherwise.
    // 0 when the failing packet is not a CONNECT or the level was not reached.
    std::uint8_t connectProtocolLevel = 0;
};

} // namespace ferry::mqtt
