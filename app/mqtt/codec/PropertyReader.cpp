#include "PropertyReader.h"

#include <array>

namespace ferry::mqtt {

namespace {

enum class Kind : std::uint8_t { None, Byte, U16, U32, VarInt, String, Binary, Pair };

struct PropertySpec {
    Kind kind = Kind::None;
    std::uint32_t allowedIn = 0;
};

constexpr std::uint32_t PublishOrWill = propctx::of(PacketType::Publish) | propctx::Will;
constexpr std::uint32_t AllAcks =
    propctx::of(PacketType::Puback) | propctx::of(PacketType::Pubrec) |
    propctx::of(PacketType::Pubrel) | propctx::of(PacketType::Pubcomp);

// Spec 2.2.2.2, table 2-4 (identifier, type, where it may appear).
constexpr std::array<PropertySpec, 0x2B> makeTable()
{
    std::array<PropertySpec, 0x2B> t{};
    using propctx::of;
    const auto C = of(PacketType::Connect), CA = of(PacketType::Connack),
               D = of(PacketType::Disconnect), A = of(PacketType::Auth),
               SUB = of(PacketType::Subscribe), SA = of(PacketType::Suback),
               UNS = of(PacketType::Unsubscribe), UA = of(PacketType::Unsuback),
               P = of(PacketType::Publish);
    t[0x01] = {Kind::Byte, PublishOrWill};                    // Payload Format Indicator
    t[0x02] = {Kind::U32, PublishOrWill};                     // Message Expiry Interval
    t[0x03] = {Kind::String, PublishOrWill};                  // Content Type
    t[0x08] = {Kind::String, PublishOrWill};                  // Response Topic
    t[0x09] = {Kind::Binary, PublishOrWill};                  // Correlation Data
    t[0x0B] = {Kind::VarInt, P | SUB};                        // Subscription Identifier
    t[0x11] = {Kind::U32, C | CA | D};                        // Session Expiry Interval
    t[0x12] = {Kind::String, CA};                             // Assigned Client Identifier
    t[0x13] = {Kind::U16, CA};                                // Server Keep Alive
    t[0x15] = {Kind::String, C | CA | A};                     // Authentication Method
    t[0x16] = {Kind::Binary, C | CA | A};                     // Authentication Data
    t[0x17] = {Kind::Byte, C};                                // Request Problem Information
    t[0x18] = {Kind::U32, propctx::Will};                     // Will Delay Interval
    t[0x19] = {Kind::Byte, C};                                // Request Response Information
    t[0x1A] = {Kind::String, CA};                             // Response Information
    t[0x1C] = {Kind::String, CA | D};                         // Server Reference
    t[0x1F] = {Kind::String, CA | AllAcks | SA | UA | D | A}; // Reason String
    t[0x21] = {Kind::U16, C | CA};                            // Receive Maximum
    t[0x22] = {Kind::U16, C | CA};                            // Topic Alias Maximum
    t[0x23] = {Kind::U16, P};                                 // Topic Alias
    t[0x24] = {Kind::Byte, CA};                               // Maximum QoS
    t[0x25] = {Kind::Byte, CA};                               // Retain Available
    t[0x26] = {Kind::Pair, C | CA | PublishOrWill | AllAcks | SUB | SA | UNS | UA | D | A};
    t[0x27] = {Kind::U32, C | CA}; // Maximum Packet Size
    t[0x28] = {Kind::Byte, CA};    // Wildcard Subscription Available
    t[0x29] = {Kind::Byte, CA};    // Subscription Identifier Available
    t[0x2A] = {Kind::Byte, CA};    // Shared Subscription Available
    return t;
}
constexpr auto Table = makeTable();

bool protocolError(ByteReader &r, const char *message)
{
    return r.fail(rc::ProtocolError, message);
}

// Stores a single-valued property, refusing a second one.
template <typename T> bool storeOnce(ByteReader &r, std::optional<T> &slot, T value)
{
    if (slot)
        return protocolError(r, "property included more than once (2.2.2.2)");
    slot = std::move(value);
    return true;
}

bool storeFlag(ByteReader &r, std::optional<std::uint8_t> &slot, std::uint8_t value)
{
    if (value > 1)
        return protocolError(r, "property value other than 0 or 1");
    return storeOnce(r, slot, value);
}

} // namespace

bool readProperties(ByteReader &r, std::uint32_t context, const PropertyLimits &limits,
                    std::uint32_t &userPropertyCount, Properties &out)
{
    std::uint32_t length = 0;
    if (!r.readVarInt(length))
        return false;
    if (length > std::uint32_t(r.remaining()))
        return r.fail(rc::MalformedPacket, "property block runs past the packet end (2.2.2.1)");

    DecodeError blockError;
    ByteReader b(r.current(), length, r.absoluteOffset(), blockError);
    bool subscriptionIdSeen = false;

    while (!b.atEnd()) {
        const qsizetype idOffset = b.absoluteOffset();
        std::uint8_t id = 0;
        b.readU8(id);
        const PropertySpec spec = id < Table.size() ? Table[id] : PropertySpec{};
        if (spec.kind == Kind::None) {
            b.fail(rc::MalformedPacket, "unknown property identifier (2.2.2.2)");
        } else if ((spec.allowedIn & context) == 0) {
            b.fail(rc::MalformedPacket, "property not allowed in this packet (2.2.2.2)");
        }
        if (blockError.reasonCode) {
            blockError.offset = idOffset;
            break;
        }

        std::uint8_t u8 = 0;
        std::uint16_t u16 = 0;
        std::uint32_t u32 = 0;
        QByteArray s1, s2;
        bool ok = false;
        switch (spec.kind) {
        case Kind::Byte:
            ok = b.readU8(u8);
            break;
        case Kind::U16:
            ok = b.readU16(u16);
            break;
        case Kind::U32:
            ok = b.readU32(u32);
            break;
        case Kind::VarInt:
            ok = b.readVarInt(u32);
            break;
        case Kind::String:
            ok = b.readString(s1);
            break;
        case Kind::Binary:
            ok = b.readBinary(s1);
            break;
        case Kind::Pair:
            ok = b.readString(s1) && b.readString(s2);
            break;
        case Kind::None:
            break;
        }
        if (!ok)
            break;

        switch (id) {
        case 0x01:
            // Only 0 (unspecified bytes) and 1 (UTF-8) are defined (3.3.2.3.2); another value
            // parses but is not allowed, which 1.2 calls a Protocol Error.
            ok = storeFlag(b, out.payloadFormatIndicator, u8);
            break;
        case 0x02:
            ok = storeOnce(b, out.messageExpiryInterval, u32);
            break;
        case 0x03:
            ok = storeOnce(b, out.contentType, s1);
            break;
        case 0x08:
            ok = storeOnce(b, out.responseTopic, s1);
            break;
        case 0x09:
            ok = storeOnce(b, out.correlationData, s1);
            break;
        case 0x0B:
            // "It is a Protocol Error if the Subscription Identifier has a value of 0"
            // (3.3.2.3.8, 3.8.2.1.2); "It is a Protocol Error to include the Subscription
            // Identifier more than once" in SUBSCRIBE, while a PUBLISH may carry several.
            if (u32 == 0) {
                ok = protocolError(b, "subscription identifier 0 (3.8.2.1.2)");
            } else if (subscriptionIdSeen && (context & propctx::of(PacketType::Subscribe))) {
                ok = protocolError(b, "subscription identifier more than once in SUBSCRIBE");
            } else {
                subscriptionIdSeen = true;
                out.subscriptionIdentifiers.append(u32);
            }
            break;
        case 0x11:
            ok = storeOnce(b, out.sessionExpiryInterval, u32);
            break;
        case 0x12:
            ok = storeOnce(b, out.assignedClientIdentifier, s1);
            break;
        case 0x13:
            ok = storeOnce(b, out.serverKeepAlive, u16);
            break;
        case 0x15:
            ok = storeOnce(b, out.authenticationMethod, s1);
            break;
        case 0x16:
            ok = storeOnce(b, out.authenticationData, s1);
            break;
        case 0x17:
            ok = storeFlag(b, out.requestProblemInformation, u8);
            break;
        case 0x18:
            ok = storeOnce(b, out.willDelayInterval, u32);
            break;
        case 0x19:
            ok = storeFlag(b, out.requestResponseInformation, u8);
            break;
        case 0x1A:
            ok = storeOnce(b, out.responseInformation, s1);
            break;
        case 0x1C:
            ok = storeOnce(b, out.serverReference, s1);
            break;
        case 0x1F:
            ok = storeOnce(b, out.reasonString, s1);
            break;
        case 0x21:
            // "It is a Protocol Error to include the Receive Maximum value more than once or for
            // it to have the value 0." (3.1.2.11.3, 3.2.2.3.3)
            ok = u16 == 0 ? protocolError(b, "receive maximum 0")
                          : storeOnce(b, out.receiveMaximum, u16);
            break;
        case 0x22:
            ok = storeOnce(b, out.topicAliasMaximum, u16);
            break;
        case 0x23:
            ok = storeOnce(b, out.topicAlias, u16);
            break; // 0 is the protocol layer's
        case 0x24:
            ok = storeFlag(b, out.maximumQoS, u8);
            break;
        case 0x25:
            ok = storeFlag(b, out.retainAvailable, u8);
            break;
        case 0x26:
            if (++userPropertyCount > limits.maxUserProperties) {
                ok = b.fail(rc::ImplementationSpecificError, "too many user properties");
            } else {
                out.userProperties.append(UserProperty(s1, s2));
            }
            break;
        case 0x27:
            // "It is a Protocol Error to include the Maximum Packet Size more than once, or for
            // the value to be set to zero." (3.1.2.11.4)
            ok = u32 == 0 ? protocolError(b, "maximum packet size 0")
                          : storeOnce(b, out.maximumPacketSize, u32);
            break;
        case 0x28:
            ok = storeFlag(b, out.wildcardSubscriptionAvailable, u8);
            break;
        case 0x29:
            ok = storeFlag(b, out.subscriptionIdentifierAvailable, u8);
            break;
        case 0x2A:
            ok = storeFlag(b, out.sharedSubscriptionAvailable, u8);
            break;
        default:
            Q_UNREACHABLE();
        }
        if (!ok)
            break;
    }
    if (blockError.reasonCode)
        return r.failWith(blockError); // inner message and offset name the property

    r.skip(length);
    return true;
}

} // namespace ferry::mqtt
