#include "BenchWire.h"

namespace ferry::bench::wire {
namespace {

// §2.2.3: "The Remaining Length is encoded using a variable length encoding scheme which uses a
// single byte for values up to 127", seven bits a byte, least significant group first.
void putRemainingLength(ByteBuffer &out, uint32_t value)
{
    do {
        uint8_t byte = value % 128;
        value /= 128;
        if (value > 0)
            byte |= 0x80;
        out.appendByte(byte);
    } while (value > 0);
}

void putU16(ByteBuffer &out, uint16_t value)
{
    const uint8_t bytes[2] = {uint8_t(value >> 8), uint8_t(value & 0xff)};
    out.append(bytes, 2);
}

// §1.5.3 UTF-8 encoded string: two-byte length, then the bytes.
void putString(ByteBuffer &out, std::string_view s)
{
    putU16(out, uint16_t(s.size()));
    out.append(s.data(), s.size());
}

} // namespace

void appendConnect(ByteBuffer &out, std::string_view clientId, uint16_t keepAliveSeconds,
                   bool cleanSession)
{
    // §3.1.2: protocol name "MQTT", level 4, flags, keep alive; §3.1.3: payload is the client id.
    const uint32_t remaining = 6 + 1 + 1 + 2 + 2 + uint32_t(clientId.size());
    out.appendByte(kConnect << 4);
    putRemainingLength(out, remaining);
    putString(out, "MQTT");
    out.appendByte(4);                          // protocol level 3.1.1
    out.appendByte(cleanSession ? 0x02 : 0x00); // no will, no username or password
    putU16(out, keepAliveSeconds);
    putString(out, clientId);
}

void appendSubscribe(ByteBuffer &out, uint16_t packetId, std::string_view filter, uint8_t qos)
{
    // §3.8.1: "Bits 3,2,1 and 0 of the fixed header of the SUBSCRIBE Control Packet are
    // reserved and MUST be set to 0,0,1 and 0 respectively."
    out.appendByte((kSubscribe << 4) | 0x02);
    putRemainingLength(out, 2 + 2 + uint32_t(filter.size()) + 1);
    putU16(out, packetId);
    putString(out, filter);
    out.appendByte(qos);
}

uint8_t *appendPublish(ByteBuffer &out, std::string_view topic, uint8_t qos, uint16_t packetId,
                       size_t payloadLength)
{
    const uint32_t remaining =
        2 + uint32_t(topic.size()) + (qos > 0 ? 2 : 0) + uint32_t(payloadLength);
    out.appendByte(uint8_t((kPublish << 4) | (qos << 1)));
    putRemainingLength(out, remaining);
    putString(out, topic);
    // §3.3.2.2: "The Packet Identifier field is only present in PUBLISH Packets where the QoS
    // level is 1 or 2."
    if (qos > 0)
        putU16(out, packetId);
    uint8_t *payload = out.reserveTail(payloadLength);
    out.commit(payloadLength);
    return payload;
}

void appendPuback(ByteBuffer &out, uint16_t packetId)
{
    out.appendByte(kPuback << 4);
    out.appendByte(2);
    putU16(out, packetId);
}

void appendPingreq(ByteBuffer &out)
{
    out.appendByte(kPingreq << 4);
    out.appendByte(0);
}

void appendDisconnect(ByteBuffer &out)
{
    out.appendByte(kDisconnect << 4);
    out.appendByte(0);
}

ParseStatus parseFrame(const uint8_t *data, size_t size, Frame &frame, size_t &consumed)
{
    if (size < 2)
        return ParseStatus::NeedMore;
    uint32_t length = 0;
    uint32_t multiplier = 1;
    size_t pos = 1;
    // §2.2.3: at most four bytes of remaining length.
    for (;;) {
        if (pos >= size)
            return ParseStatus::NeedMore;
        if (pos > 4)
            return ParseStatus::Malformed;
        const uint8_t byte = data[pos++];
        length += uint32_t(byte & 0x7f) * multiplier;
        if ((byte & 0x80) == 0)
            break;
        multiplier *= 128;
    }
    if (size - pos < length)
        return ParseStatus::NeedMore;
    frame.type = data[0] >> 4;
    frame.flags = data[0] & 0x0f;
    frame.body = data + pos;
    frame.length = length;
    consumed = pos + length;
    return ParseStatus::Ok;
}

bool parsePublish(const Frame &frame, PublishView &publish)
{
    publish.qos = (frame.flags >> 1) & 0x03;
    if (frame.length < 2)
        return false;
    const size_t topicLength = readU16(frame.body);
    size_t pos = 2 + topicLength;
    if (pos > frame.length)
        return false;
    publish.topic = std::string_view(reinterpret_cast<const char *>(frame.body + 2), topicLength);
    publish.packetId = 0;
    if (publish.qos > 0) {
        if (pos + 2 > frame.length)
            return false;
        publish.packetId = readU16(frame.body + pos);
        pos += 2;
    }
    publish.payload = frame.body + pos;
    publish.payloadLength = frame.length - pos;
    return true;
}

} // namespace ferry::bench::wire
