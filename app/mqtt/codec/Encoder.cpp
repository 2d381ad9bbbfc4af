#include "Encoder.h"

#include "PropertyWriter.h"
#include "WireWriter.h"

#include <type_traits>

namespace ferry::mqtt {

namespace {

bool isV5(ProtocolVersion v)
{
    return v == ProtocolVersion::V5;
}

std::uint8_t firstByte(const Packet &packet)
{
    const auto type = std::uint8_t(packetType(packet));
    std::uint8_t flags = 0;
    if (const auto *p = std::get_if<Publish>(&packet)) {
        flags = std::uint8_t((p->dup ? 0x08 : 0) | ((p->qos & 0x03) << 1) | (p->retain ? 1 : 0));
    } else if (type == std::uint8_t(PacketType::Pubrel) ||
               type == std::uint8_t(PacketType::Subscribe) ||
               type == std::uint8_t(PacketType::Unsubscribe)) {
        flags = 0x02; // MQTT-2.1.3-1
    }
    return std::uint8_t(type << 4 | flags);
}

template <typename W> void writeConnect(W &w, const Connect &c, ProtocolVersion v)
{
    const bool v5 = isV5(v);
    w.field(v == ProtocolVersion::V31 ? QByteArrayLiteral("MQIsdp") : QByteArrayLiteral("MQTT"));
    w.u8(std::uint8_t(v));
    std::uint8_t flags = c.cleanStart ? 0x02 : 0;
    if (c.will) {
        flags |= 0x04 | std::uint8_t((c.will->qos & 0x03) << 3) | (c.will->retain ? 0x20 : 0);
    }
    if (c.password)
        flags |= 0x40;
    if (c.username)
        flags |= 0x80;
    w.u8(flags);
    w.u16(c.keepAlive);
    if (v5)
        writeProperties(w, c.properties);
    w.field(c.clientId);
    if (c.will) {
        if (v5)
            writeProperties(w, c.will->properties);
        w.field(c.will->topic);
        w.field(c.will->payload);
    }
    if (c.username)
        w.field(*c.username);
    if (c.password)
        w.field(*c.password);
}

template <typename W> void writePublish(W &w, const Publish &p, ProtocolVersion v)
{
    w.field(p.topic);
    if (p.qos > 0)
        w.u16(p.packetId);
    if (isV5(v))
        writeProperties(w, p.properties);
    w.raw(p.payload.constData(), p.payload.size());
}

template <typename W> void writeBody(W &w, const Packet &packet, ProtocolVersion v)
{
    const bool v5 = isV5(v);
    std::visit(
        [&](const auto &p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, Connect>) {
                writeConnect(w, p, v);
            } else if constexpr (std::is_same_v<T, Connack>) {
                w.u8(p.sessionPresent ? 1 : 0);
                w.u8(p.reasonCode);
                if (v5)
                    writeProperties(w, p.properties);
            } else if constexpr (std::is_same_v<T, Publish>) {
                writePublish(w, p, v);
            } else if constexpr (std::is_same_v<T, PubResponse>) {
                w.u16(p.packetId);
                // 3.4.2.1: reason and property length may be left out when the reason is 0
                // and there are no properties; the property length alone when there are none.
                if (v5 && !(p.reasonCode == 0 && hasNoProperties(p.properties))) {
                    w.u8(p.reasonCode);
                    if (!hasNoProperties(p.properties))
                        writeProperties(w, p.properties);
                }
            } else if constexpr (std::is_same_v<T, Subscribe>) {
                w.u16(p.packetId);
                if (v5)
                    writeProperties(w, p.properties);
                for (const SubscriptionRequest &s : p.subscriptions) {
                    w.field(s.filter);
                    std::uint8_t options = s.maxQoS & 0x03;
                    if (v5) {
                        options |= (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) |
                                   std::uint8_t((s.retainHandling & 0x03) << 4);
                    }
                    w.u8(options);
                }
            } else if constexpr (std::is_same_v<T, Suback> || std::is_same_v<T, Unsuback>) {
                w.u16(p.packetId);
                if (std::is_same_v<T, Unsuback> && !v5)
                    return; // the 3.1.1 UNSUBACK has no payload (3.11.3)
                if (v5)
                    writeProperties(w, p.properties);
                for (const std::uint8_t code : p.reasonCodes)
                    w.u8(code);
            } else if constexpr (std::is_same_v<T, Unsubscribe>) {
                w.u16(p.packetId);
                if (v5)
                    writeProperties(w, p.properties);
                for (const QByteArray &f : p.filters)
                    w.field(f);
            } else if constexpr (std::is_same_v<T, Disconnect> || std::is_same_v<T, Auth>) {
                // 3.1.1 DISCONNECT has no variable header; 5.0 may omit reason 0 without
                // properties (3.14.2.1, 3.15.2.1).
                if (v5 && !(p.reasonCode == 0 && hasNoProperties(p.properties))) {
                    w.u8(p.reasonCode);
                    writeProperties(w, p.properties);
                }
            } else {
                static_assert(std::is_same_v<T, Pingreq> || std::is_same_v<T, Pingresp>);
            }
        },
        packet);
}

// Measures the body; returns false when the packet cannot be said in this dialect.
bool measure(const Packet &packet, ProtocolVersion v, qsizetype &bodySize)
{
    if (std::holds_alternative<Auth>(packet) && !isV5(v))
        return false;
    SizeCounter counter;
    writeBody(counter, packet, v);
    bodySize = counter.size();
    return bodySize <= qsizetype(varint::MaxValue);
}

QByteArray encodeImpl(const Packet &packet, ProtocolVersion v)
{
    qsizetype body = 0;
    if (!measure(packet, v, body)) {
        Q_ASSERT_X(false, "mqtt::encode", "packet cannot be encoded in this protocol version");
        return {};
    }
    const auto remaining = std::uint32_t(body);
    QByteArray out(1 + varint::encodedSize(remaining) + body, Qt::Uninitialized);
    ByteWriter w(out.data());
    w.u8(firstByte(packet));
    w.varInt(remaining);
    writeBody(w, packet, v);
    Q_ASSERT(w.position() == out.constData() + out.size());
    return out;
}

} // namespace

QByteArray encode(const Packet &packet, ProtocolVersion version)
{
    return encodeImpl(packet, version);
}

qsizetype encodedSize(const Packet &packet, ProtocolVersion version)
{
    qsizetype body = 0;
    if (!measure(packet, version, body))
        return 0;
    return 1 + varint::encodedSize(std::uint32_t(body)) + body;
}

EncodedPublish encodePublish(const Publish &publish, ProtocolVersion version)
{
    EncodedPublish result;
    // Copying the Publish into the variant shares the payload (implicit sharing), no deep copy.
    result.bytes = encodeImpl(Packet(publish), version);
    if (publish.qos > 0 && !result.bytes.isEmpty()) {
        // First byte, Remaining Length, topic length (2) and topic come before the packet id.
        std::uint32_t remaining = 0;
        int lengthBytes = 0;
        varint::read(result.bytes.constData() + 1, result.bytes.size() - 1, remaining, lengthBytes);
        result.packetIdOffset =
            1 + lengthBytes + 2 + std::min(publish.topic.size(), MaxFieldLength);
    }
    return result;
}

void patchPacketId(QByteArray &bytes, qsizetype offset, std::uint16_t packetId)
{
    Q_ASSERT(offset >= 0 && offset + 2 <= bytes.size());
    char *p = bytes.data(); // detaches if shared: a per-subscriber copy is the point
    p[offset] = char(packetId >> 8);
    p[offset + 1] = char(packetId & 0xFF);
}

void setDupFlag(QByteArray &bytes)
{
    Q_ASSERT(!bytes.isEmpty() && (std::uint8_t(bytes.at(0)) >> 4) == 3);
    bytes.data()[0] = char(bytes.at(0) | 0x08);
}

} // namespace ferry::mqtt
