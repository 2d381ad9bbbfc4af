#pragma once
// Decoding of an MQTT 5.0 property block (spec 2.2.2) with the rules of 2.2.2.2 (internal).

#include "ByteReader.h"
#include "Packet.h"

#include <cstdint>

namespace ferry::mqtt {

// Where a property block sits: a packet type, or the Will Properties of a CONNECT.
// A bit mask so that the table of allowed places (2.2.2.2) is one integer per property.
namespace propctx {
constexpr std::uint32_t of(PacketType t)
{
    return 1u << unsigned(t);
}
constexpr std::uint32_t Will = 1u << 16;
} // namespace propctx

struct PropertyLimits {
    // User properties allowed in one packet (CONNECT and its will counted together). Reading
    // many tiny pairs costs CPU and a list entry each; see Decoder::setMaxUserProperties.
    std::uint32_t maxUserProperties = 65535;
};

// Reads Property Length and the properties after it into out, enforcing:
// - the block lies inside the packet, lengths inside the block (Malformed, 0x81);
// - every identifier is known and allowed in `context` (Malformed, 0x81);
// - a property that may appear once appears once (Protocol Error, 0x82: "It is a Protocol Error
//   to include <property> more than once");
// - values the spec bounds: 0/1 flags, Receive Maximum and Maximum Packet Size not 0,
//   Subscription Identifier not 0 (Protocol Error, 0x82).
// userPropertyCount is incremented per user property and checked against limits.
bool readProperties(ByteReader &r, std::uint32_t context, const PropertyLimits &limits,
                    std::uint32_t &userPropertyCount, Properties &out);

} // namespace ferry::mqtt
