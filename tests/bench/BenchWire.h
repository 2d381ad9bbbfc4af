#pragma once
// The few MQTT 3.1.1 packets the load generator speaks, encoded and parsed by hand.
// Deliberately independent of Ferry's own codec (app/mqtt/codec): a benchmark that shares the
// broker's codec could share its bugs and would not measure honestly.

#include "ByteBuffer.h"

#include <cstdint>
#include <string_view>

namespace ferry::bench::wire {

// MQTT 3.1.1 §2.2.1 control packet types.
enum PacketType : uint8_t {
    kConnect = 1,
    kConnack = 2,
    kPublish = 3,
    kPuback = 4,
    kSubscribe = 8,
    kSuback = 9,
    kPingreq = 12,
    kPingresp = 13,
    kDisconnect = 14,
};

// cleanSession false asks for a persistent session (§3.1.2.4), which needs a non-empty id.
void appendConnect(ByteBuffer &out, std::string_view clientId, uint16_t keepAliveSeconds,
                   bool cleanSession = true);
void appendSubscribe(ByteBuffer &out, uint16_t packetId, std::string_view filter, uint8_t qos);
// Appends a PUBLISH header and returns where its payloadLength payload bytes go (already
// committed: the caller fills them in before the buffer is flushed).
uint8_t *appendPublish(ByteBuffer &out, std::string_view topic, uint8_t qos, uint16_t packetId,
                       size_t payloadLength);
void appendPuback(ByteBuffer &out, uint16_t packetId);
void appendPingreq(ByteBuffer &out);
void appendDisconnect(ByteBuffer &out);

// One received control packet; body points into the caller's buffer.
struct Frame {
    uint8_t type = 0;
    uint8_t flags = 0;
    const uint8_t *body = nullptr;
    uint32_t length = 0;
};

enum class ParseStatus { NeedMore, Ok, Malformed };

// Parses the first packet of data[0, size). On Ok, consumed is the whole packet's length.
ParseStatus parseFrame(const uint8_t *data, size_t size, Frame &frame, size_t &consumed);

struct PublishView {
    uint8_t qos = 0;
    std::string_view topic;
    uint16_t packetId = 0;
    const uint8_t *payload = nullptr;
    size_t payloadLength = 0;
};

bool parsePublish(const Frame &frame, PublishView &publish);

// Big-endian two-byte integer (§1.5.2).
inline uint16_t readU16(const uint8_t *p)
{
    return uint16_t((p[0] << 8) | p[1]);
}

} // namespace ferry::bench::wire
