#include "BodyDecoder.h"

namespace ferry::mqtt {

namespace {

constexpr std::uint8_t FlagReserved = 0x01;
constexpr std::uint8_t FlagCleanStart = 0x02;
constexpr std::uint8_t FlagWill = 0x04;
constexpr std::uint8_t FlagWillRetain = 0x20;
constexpr std::uint8_t FlagPassword = 0x40;
constexpr std::uint8_t FlagUsername = 0x80;

} // namespace

bool decodeConnect(ByteReader &r, const BodyContext &ctx, Connect &out)
{
    QByteArray name;
    std::uint8_t level = 0;
    if (!r.readBinary(name) || !r.readU8(level))
        return false;
    r.error().connectProtocolLevel = level;

    // 3.1.2.1: "If the Protocol Name is incorrect the Server MAY disconnect the Client" — a
    // name we do not know is not MQTT at all: Malformed. A known name with a level we do not
    // speak is answered with "unsupported protocol version" (MQTT-3.1.2-2, 5.0 3.1.2.2), so it
    // gets its own reason code and the level is reported in error.connectProtocolLevel.
    if (name == "MQTT") {
        if (level != 4 && level != 5)
            return r.fail(rc::UnsupportedProtocolVersion, "unsupported protocol level");
    } else if (name == "MQIsdp") {
        if (level != 3)
            return r.fail(rc::UnsupportedProtocolVersion, "unsupported protocol level");
    } else {
        return r.fail(rc::MalformedPacket, "unknown protocol name (3.1.2.1)");
    }
    out.protocolName = name;
    out.version = ProtocolVersion(level);
    const bool v5 = out.version == ProtocolVersion::V5;

    std::uint8_t flags = 0;
    if (!r.readU8(flags))
        return false;
    // "The Server MUST validate that the reserved flag in the CONNECT packet is set to 0"
    // [MQTT-3.1.2-3]; in 5.0 "If the reserved flag is not 0 it is a Malformed Packet".
    if (flags & FlagReserved)
        return r.fail(rc::MalformedPacket, "reserved connect flag set (MQTT-3.1.2-3)");
    const bool hasWill = flags & FlagWill;
    const std::uint8_t willQoS = (flags >> 3) & 0x03;
    const bool willRetain = flags & FlagWillRetain;
    if (!hasWill && (willQoS != 0 || willRetain))
        return r.fail(rc::MalformedPacket,
                      "will QoS or will retain set without will flag (MQTT-3.1.2-11/13)");
    if (willQoS == 3)
        return r.fail(rc::MalformedPacket, "will QoS 3 (MQTT-3.1.2-12)");
    const bool hasUsername = flags & FlagUsername;
    const bool hasPassword = flags & FlagPassword;
    // 3.1.1: "If the User Name Flag is set to 0, the Password Flag MUST be set to 0"
    // [MQTT-3.1.2-22]. 5.0 dropped this rule (a password without user name is allowed).
    if (!v5 && hasPassword && !hasUsername)
        return r.fail(rc::MalformedPacket, "password flag without user name flag (MQTT-3.1.2-22)");
    out.cleanStart = flags & FlagCleanStart;

    if (!r.readU16(out.keepAlive))
        return false;
    std::uint32_t userProperties = 0;
    if (v5 && !readProperties(r, propctx::of(PacketType::Connect), ctx.limits, userProperties,
                              out.properties))
        return false;

    if (!r.readString(out.clientId))
        return false;
    if (hasWill) {
        Will will;
        will.qos = willQoS;
        will.retain = willRetain;
        if (v5 && !readProperties(r, propctx::Will, ctx.limits, userProperties, will.properties))
            return false;
        if (!r.readString(will.topic) || !r.readBinary(will.payload))
            return false;
        out.will = std::move(will);
    }
    if (hasUsername) {
        QByteArray username;
        if (!r.readString(username))
            return false;
        out.username = std::move(username);
    }
    if (hasPassword) {
        QByteArray password;
        if (!r.readBinary(password))
            return false;
        out.password = std::move(password);
    }
    if (!r.atEnd())
        return r.fail(rc::MalformedPacket, "trailing bytes after CONNECT payload");
    return true;
}

} // namespace ferry::mqtt
