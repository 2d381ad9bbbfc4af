#pragma once
// Decoding of one packet's variable header and payload, after the fixed header (internal).
// Each function consumes the whole reader or fails: trailing bytes after what the packet type
// defines are a Malformed Packet.

#include "ByteReader.h"
#include "Packet.h"
#include "PropertyReader.h"

namespace ferry::mqtt {

struct BodyContext {
    ProtocolVersion version = ProtocolVersion::V311; // CONNECT ignores it and reads its own
    PropertyLimits limits;
};

// firstByte: packet type (high nibble) and flags, already checked by checkFixedHeaderByte.
bool decodeBody(std::uint8_t firstByte, ByteReader &r, const BodyContext &ctx, Packet &out);

// CONNECT (spec 3.1), in ConnectDecoder.cpp. Decoded with the version its own Protocol Level
// names, whatever ctx.version says; records that level in the reader's error as soon as read.
bool decodeConnect(ByteReader &r, const BodyContext &ctx, Connect &out);

// Checks the first byte of a fixed header for the given version; on failure returns the
// reason code (0 when fine) and a message. Used before the body is buffered.
std::uint8_t checkFixedHeaderByte(std::uint8_t firstByte, ProtocolVersion version,
                                  const char *&message);

} // namespace ferry::mqtt
