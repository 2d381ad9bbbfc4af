#include "BodyDecoder.h"

namespace ferry::mqtt {

namespace {

bool trailing(ByteReader &r)
{
    return r.atEnd() ? true : r.fail(rc::MalformedPacket, "trailing bytes after packet");
}

bool readNonZeroPacketId(ByteReader &r, std::uint16_t &id)
{
    if (!r.readU16(id, "truncated packet identifier"))
        return false;
    // "SUBSCRIBE, UNSUBSCRIBE, and PUBLISH (in cases where QoS > 0) Control Packets MUST contain
    // a non-zero 16-bit Packet Identifier" [MQTT-2.3.1-1].
    if (id == 0)
        return r.fail(rc::MalformedPacket, "packet identifier 0 (MQTT-2.3.1-1)");
    return true;
}

bool decodePublish(std::uint8_t flags, ByteReader &r, const BodyContext &ctx, Publish &p)
{
    p.dup = flags & 0x08;
    p.qos = (flags >> 1) & 0x03;
    p.retain = flags & 0x01;
    if (!r.readString(p.topic))
        return false;
    // "The Topic Name in the PUBLISH packet MUST NOT contain wildcard characters"
    // [MQTT-3.3.2-2]. 0x90 is for names that are "not malformed, but not accepted", so a name
    // with a wildcard is Malformed.
    if (p.topic.contains('+') || p.topic.contains('#'))
        return r.fail(rc::MalformedPacket, "wildcard in PUBLISH topic name (MQTT-3.3.2-2)");
    if (p.qos > 0 && !readNonZeroPacketId(r, p.packetId))
        return false;
    std::uint32_t userProperties = 0;
    if (ctx.version == ProtocolVersion::V5) {
        if (!readProperties(r, propctx::of(PacketType::Publish), ctx.limits, userProperties,
                            p.properties))
            return false;
        // "It is a Protocol Error if the Topic Name is zero length and there is no Topic
        // Alias." (3.3.2.1) — CVE-2021-34432 crashed Mosquitto on exactly this packet.
        if (p.topic.isEmpty() && !p.properties.topicAlias)
            return r.fail(rc::ProtocolError, "empty topic name without topic alias (3.3.2.1)");
    } else if (p.topic.isEmpty()) {
        // "All Topic Names and Topic Filters MUST be at least one character long" [MQTT-4.7.3-1]
        return r.fail(rc::MalformedPacket, "empty topic name (MQTT-4.7.3-1)");
    }
    p.payload = r.readRest();
    return true;
}

// PUBACK, PUBREC, PUBREL, PUBCOMP (3.4 - 3.7).
bool decodePubResponse(PacketType type, ByteReader &r, const BodyContext &ctx, PubResponse &p)
{
    p.type = type;
    if (!r.readU16(p.packetId, "truncated packet identifier"))
        return false;
    if (ctx.version != ProtocolVersion::V5)
        return trailing(r);
    // "The Reason Code and Property Length can be omitted if the Reason Code is 0x00 (Success)
    // and there are no Properties. In this case the PUBACK has a Remaining Length of 2."
    // "If the Remaining Length is less than 4 there is no Property Length and the value of 0 is
    // used." (3.4.2.1, 3.4.2.2.1)
    if (r.atEnd())
        return true;
    if (!r.readU8(p.reasonCode))
        return false;
    if (r.atEnd())
        return true;
    std::uint32_t userProperties = 0;
    return readProperties(r, propctx::of(type), ctx.limits, userProperties, p.properties) &&
           trailing(r);
}

bool decodeConnack(ByteReader &r, const BodyContext &ctx, Connack &c)
{
    std::uint8_t flags = 0;
    if (!r.readU8(flags) || !r.readU8(c.reasonCode))
        return false;
    // "Bits 7-1 are reserved and MUST be set to 0" (3.2.2.1; MQTT-3.2.2-1 in 5.0).
    if (flags & 0xFE)
        return r.fail(rc::MalformedPacket, "reserved CONNACK flag bits set (3.2.2.1)");
    c.sessionPresent = flags & 0x01;
    std::uint32_t userProperties = 0;
    if (ctx.version == ProtocolVersion::V5 &&
        !readProperties(r, propctx::of(PacketType::Connack), ctx.limits, userProperties,
                        c.properties))
        return false;
    return trailing(r);
}

bool decodeSubscribe(ByteReader &r, const BodyContext &ctx, Subscribe &s)
{
    const bool v5 = ctx.version == ProtocolVersion::V5;
    if (!readNonZeroPacketId(r, s.packetId))
        return false;
    std::uint32_t userProperties = 0;
    if (v5 && !readProperties(r, propctx::of(PacketType::Subscribe), ctx.limits, userProperties,
                              s.properties))
        return false;
    while (!r.atEnd()) {
        SubscriptionRequest req;
        if (!r.readString(req.filter))
            return false;
        std::uint8_t options = 0;
        // NanoMQ #2268: a SUBSCRIBE cut right after its topic filter.
        if (!r.readU8(options, "subscription options missing after topic filter"))
            return false;
        req.maxQoS = options & 0x03;
        if (v5) {
            // "The Server MUST treat a SUBSCRIBE packet as malformed if any of Reserved bits in
            // the Payload are non-zero" [MQTT-3.8.3-5].
            if (options & 0xC0)
                return r.fail(rc::MalformedPacket,
                              "reserved subscription option bits set (MQTT-3.8.3-5)");
            req.noLocal = options & 0x04;
            req.retainAsPublished = options & 0x08;
            req.retainHandling = (options >> 4) & 0x03;
            // "It is a Protocol Error if the Maximum QoS field has the value 3." and "It is a
            // Protocol Error to send a Retain Handling value of 3." (3.8.3.1)
            if (req.maxQoS == 3)
                return r.fail(rc::ProtocolError, "subscription maximum QoS 3 (3.8.3.1)");
            if (req.retainHandling == 3)
                return r.fail(rc::ProtocolError, "retain handling 3 (3.8.3.1)");
        } else if ((options & 0xFC) || req.maxQoS == 3) {
            // "The Server MUST treat a SUBSCRIBE packet as malformed and close the Network
            // Connection if any of Reserved bits in the payload are non-zero, or QoS is not
            // 0,1 or 2" [MQTT-3.8.3-4].
            return r.fail(rc::MalformedPacket,
                          "reserved bits or QoS 3 in requested QoS (MQTT-3.8.3-4)");
        }
        s.subscriptions.append(std::move(req));
    }
    // 5.0: "The Payload MUST contain at least one Topic Filter and Subscription Options pair"
    // [MQTT-3.8.3-2], "A SUBSCRIBE packet with no Payload is a Protocol Error"; 3.1.1
    // MQTT-3.8.3-3 says the same ("a protocol violation").
    if (s.subscriptions.isEmpty())
        return r.fail(rc::ProtocolError, "SUBSCRIBE without topic filters (MQTT-3.8.3-2)");
    return true;
}

bool decodeUnsubscribe(ByteReader &r, const BodyContext &ctx, Unsubscribe &u)
{
    if (!readNonZeroPacketId(r, u.packetId))
        return false;
    std::uint32_t userProperties = 0;
    if (ctx.version == ProtocolVersion::V5 &&
        !readProperties(r, propctx::of(PacketType::Unsubscribe), ctx.limits, userProperties,
                        u.properties))
        return false;
    while (!r.atEnd()) {
        QByteArray filter;
        if (!r.readString(filter))
            return false;
        u.filters.append(std::move(filter));
    }
    // "The Payload of an UNSUBSCRIBE packet MUST contain at least one Topic Filter"
    // [MQTT-3.10.3-2]; "An UNSUBSCRIBE packet with no Payload is a Protocol Error".
    if (u.filters.isEmpty())
        return r.fail(rc::ProtocolError, "UNSUBSCRIBE without topic filters (MQTT-3.10.3-2)");
    return true;
}

// SUBACK and UNSUBACK: packet id, properties (5.0), one reason code per filter.
bool decodeAckList(PacketType type, ByteReader &r, const BodyContext &ctx, std::uint16_t &id,
                   Properties &props, QList<std::uint8_t> &codes)
{
    if (!r.readU16(id, "truncated packet identifier"))
        return false;
    if (ctx.version != ProtocolVersion::V5) {
        if (type == PacketType::Unsuback)
            return trailing(r); // the 3.1.1 UNSUBACK has no payload (3.11.3)
    } else {
        std::uint32_t userProperties = 0;
        if (!readProperties(r, propctx::of(type), ctx.limits, userProperties, props))
            return false;
    }
    codes.reserve(r.remaining());
    while (!r.atEnd()) {
        std::uint8_t code = 0;
        r.readU8(code);
        // 3.1.1: "SUBACK return codes other than 0x00, 0x01, 0x02 and 0x80 are reserved and
        // MUST NOT be used" [MQTT-3.9.3-2].
        if (ctx.version != ProtocolVersion::V5 && code > 2 && code != 0x80)
            return r.fail(rc::MalformedPacket, "reserved SUBACK return code (MQTT-3.9.3-2)");
        codes.append(code);
    }
    return true;
}

// DISCONNECT and AUTH in 5.0: reason code and properties, both omissible.
bool decodeReasonOnly(PacketType type, ByteReader &r, const BodyContext &ctx, std::uint8_t &reason,
                      Properties &props)
{
    if (ctx.version != ProtocolVersion::V5)
        return trailing(r); // 3.1.1 DISCONNECT has no variable header (3.14.2)
    // DISCONNECT: "The Reason Code and Property Length can be omitted if the Reason Code is
    // 0x00 (Normal disconnecton) and there are no Properties. In this case the DISCONNECT has a
    // Remaining Length of 0." and "If the Remaining Length is less than 2, a value of 0 is
    // used" for the Property Length (3.14.2.1, 3.14.2.2.1). AUTH only has the first rule
    // (3.15.2.1), so an AUTH of one byte is Malformed.
    if (r.atEnd())
        return true;
    if (!r.readU8(reason))
        return false;
    if (r.atEnd()) {
        if (type == PacketType::Auth)
            return r.fail(rc::MalformedPacket, "AUTH without property length (3.15.2.2.1)");
        return true;
    }
    std::uint32_t userProperties = 0;
    return readProperties(r, propctx::of(type), ctx.limits, userProperties, props) && trailing(r);
}

} // namespace

std::uint8_t checkFixedHeaderByte(std::uint8_t firstByte, ProtocolVersion version,
                                  const char *&message)
{
    const unsigned type = firstByte >> 4;
    const unsigned flags = firstByte & 0x0F;
    if (type == 0) {
        message = "packet type 0 is reserved (2.1.2)";
        return rc::MalformedPacket;
    }
    if (type == unsigned(PacketType::Auth) && version != ProtocolVersion::V5) {
        message = "AUTH is not an MQTT 3.1.1 packet (packet type 15 reserved)";
        return rc::MalformedPacket;
    }
    if (type == unsigned(PacketType::Publish)) {
        const unsigned qos = (flags >> 1) & 0x03;
        if (qos == 3) {
            // "A PUBLISH Packet MUST NOT have both QoS bits set to 1" [MQTT-3.3.1-4]
            message = "PUBLISH with QoS 3 (MQTT-3.3.1-4)";
            return rc::MalformedPacket;
        }
        if (qos == 0 && (flags & 0x08)) {
            // "The DUP flag MUST be set to 0 for all QoS 0 messages" [MQTT-3.3.1-2]
            message = "PUBLISH with DUP set and QoS 0 (MQTT-3.3.1-2)";
            return rc::MalformedPacket;
        }
        return 0;
    }
    // "Where a flag bit is marked as "Reserved", it is reserved for future use and MUST be set
    // to the value listed" [MQTT-2.1.3-1]: 0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE, else 0000.
    const bool oneZero = type == unsigned(PacketType::Pubrel) ||
                         type == unsigned(PacketType::Subscribe) ||
                         type == unsigned(PacketType::Unsubscribe);
    if (flags != (oneZero ? 0x02u : 0x00u)) {
        message = "reserved fixed header flags not as specified (MQTT-2.1.3-1)";
        return rc::MalformedPacket;
    }
    return 0;
}

bool decodeBody(std::uint8_t firstByte, ByteReader &r, const BodyContext &ctx, Packet &out)
{
    const auto type = PacketType(firstByte >> 4);
    switch (type) {
    case PacketType::Connect: {
        Connect c;
        if (!decodeConnect(r, ctx, c))
            return false;
        out = std::move(c);
        return true;
    }
    case PacketType::Connack: {
        Connack c;
        if (!decodeConnack(r, ctx, c))
            return false;
        out = std::move(c);
        return true;
    }
    case PacketType::Publish: {
        Publish p;
        if (!decodePublish(firstByte & 0x0F, r, ctx, p))
            return false;
        out = std::move(p);
        return true;
    }
    case PacketType::Puback:
    case PacketType::Pubrec:
    case PacketType::Pubrel:
    case PacketType::Pubcomp: {
        PubResponse p;
        if (!decodePubResponse(type, r, ctx, p))
            return false;
        out = std::move(p);
        return true;
    }
    case PacketType::Subscribe: {
        Subscribe s;
        if (!decodeSubscribe(r, ctx, s))
            return false;
        out = std::move(s);
        return true;
    }
    case PacketType::Suback: {
        Suback s;
        if (!decodeAckList(type, r, ctx, s.packetId, s.properties, s.reasonCodes))
            return false;
        out = std::move(s);
        return true;
    }
    case PacketType::Unsubscribe: {
        Unsubscribe u;
        if (!decodeUnsubscribe(r, ctx, u))
            return false;
        out = std::move(u);
        return true;
    }
    case PacketType::Unsuback: {
        Unsuback u;
        if (!decodeAckList(type, r, ctx, u.packetId, u.properties, u.reasonCodes))
            return false;
        out = std::move(u);
        return true;
    }
    case PacketType::Pingreq:
        if (!trailing(r))
            return false;
        out = Pingreq{};
        return true;
    case PacketType::Pingresp:
        if (!trailing(r))
            return false;
        out = Pingresp{};
        return true;
    case PacketType::Disconnect: {
        Disconnect d;
        if (!decodeReasonOnly(type, r, ctx, d.reasonCode, d.properties))
            return false;
        out = std::move(d);
        return true;
    }
    case PacketType::Auth: {
        Auth a;
        if (!decodeReasonOnly(type, r, ctx, a.reasonCode, a.properties))
            return false;
        out = std::move(a);
        return true;
    }
    }
    return r.fail(rc::MalformedPacket, "packet type 0 is reserved (2.1.2)");
}

} // namespace ferry::mqtt
