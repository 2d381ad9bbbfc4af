#pragma once
// MQTT 3.1.1 / 5.0 control packets as plain values.
//
// The codec (Decoder, Encoder) turns bytes into these and back; nothing here knows about
// sockets, sessions or the broker. Strings on the wire are UTF-8 and kept as QByteArray
// (validated by the decoder), because topics are compared and hashed as bytes everywhere.

#include <QByteArray>
#include <QList>
#include <QPair>

#include <cstdint>
#include <optional>
#include <variant>

namespace ferry::mqtt {

enum class ProtocolVersion : std::uint8_t {
    V31 = 3,   // MQIsdp; accepted on CONNECT only to refuse it politely
    V311 = 4,
    V5 = 5,
};

enum class PacketType : std::uint8_t {
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Pubrec = 5,
    Pubrel = 6,
    Pubcomp = 7,
    Subscribe = 8,
    Suback = 9,
    Unsubscribe = 10,
    Unsuback = 11,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
    Auth = 15,
};

using UserProperty = QPair<QByteArray, QByteArray>;

// Every MQTT 5.0 property (spec 2.2.2.2). A property absent on the wire is an empty optional
// (or an empty list). The decoder rejects a property that is not allowed in the packet it
// appears in, and a duplicate of one that may appear once, as Malformed Packet / Protocol Error.
struct Properties {
    std::optional<std::uint8_t> payloadFormatIndicator;       // 0x01
    std::optional<std::uint32_t> messageExpiryInterval;       // 0x02
    std::optional<QByteArray> contentType;                    // 0x03
    std::optional<QByteArray> responseTopic;                  // 0x08
    std::optional<QByteArray> correlationData;                // 0x09 (binary)
    QList<std::uint32_t> subscriptionIdentifiers;             // 0x0B (several in PUBLISH)
    std::optional<std::uint32_t> sessionExpiryInterval;       // 0x11
    std::optional<QByteArray> assignedClientIdentifier;       // 0x12
    std::optional<std::uint16_t> serverKeepAlive;             // 0x13
    std::optional<QByteArray> authenticationMethod;           // 0x15
    std::optional<QByteArray> authenticationData;             // 0x16 (binary)
    std::optional<std::uint8_t> requestProblemInformation;    // 0x17
    std::optional<std::uint32_t> willDelayInterval;           // 0x18
    std::optional<std::uint8_t> requestResponseInformation;   // 0x19
    std::optional<QByteArray> responseInformation;            // 0x1A
    std::optional<QByteArray> serverReference;                // 0x1C
    std::optional<QByteArray> reasonString;                   // 0x1F
    std::optional<std::uint16_t> receiveMaximum;              // 0x21
    std::optional<std::uint16_t> topicAliasMaximum;           // 0x22
    std::optional<std::uint16_t> topicAlias;                  // 0x23
    std::optional<std::uint8_t> maximumQoS;                   // 0x24
    std::optional<std::uint8_t> retainAvailable;              // 0x25
    QList<UserProperty> userProperties;                       // 0x26 (any number, order kept)
    std::optional<std::uint32_t> maximumPacketSize;           // 0x27
    std::optional<std::uint8_t> wildcardSubscriptionAvailable;      // 0x28
    std::optional<std::uint8_t> subscriptionIdentifierAvailable;    // 0x29
    std::optional<std::uint8_t> sharedSubscriptionAvailable;        // 0x2A
};
bool operator==(const Properties &a, const Properties &b);
inline bool operator!=(const Properties &a, const Properties &b) { return !(a == b); }


struct Will {
    QByteArray topic;
    QByteArray payload;
    std::uint8_t qos = 0;
    bool retain = false;
    Properties properties;   // will properties (5.0): delay, expiry, content type, ...
};

struct Connect {
    ProtocolVersion version = ProtocolVersion::V311;
    QByteArray protocolName = "MQTT";   // "MQTT", or "MQIsdp" for 3.1
    bool cleanStart = true;             // 3.1.1: Clean Session
    std::uint16_t keepAlive = 0;
    QByteArray clientId;
    std::optional<Will> will;
    std::optional<QByteArray> username;
    std::optional<QByteArray> password;  // binary
    Properties properties;
};

struct Connack {
    bool sessionPresent = false;
    std::uint8_t reasonCode = 0;   // 3.1.1: return code 0..5; 5.0: reason code
    Properties properties;
};

struct Publish {
    bool dup = false;
    std::uint8_t qos = 0;
    bool retain = false;
    QByteArray topic;                  // may be empty in 5.0 when a topic alias is used
    std::uint16_t packetId = 0;        // only when qos > 0
    Properties properties;
    QByteArray payload;                // implicitly shared; never deep-copied by the codec
};

// PUBACK, PUBREC, PUBREL, PUBCOMP share one shape (spec 3.4 - 3.7).
struct PubResponse {
    PacketType type = PacketType::Puback;
    std::uint16_t packetId = 0;
    std::uint8_t reasonCode = 0;
    Properties properties;
};

struct SubscriptionRequest {
    QByteArray filter;
    std::uint8_t maxQoS = 0;
    bool noLocal = false;             // 5.0
    bool retainAsPublished = false;   // 5.0
    std::uint8_t retainHandling = 0;  // 5.0: 0, 1 or 2
};

struct Subscribe {
    std::uint16_t packetId = 0;
    Properties properties;   // subscription identifier, user properties
    QList<SubscriptionRequest> subscriptions;
};

struct Suback {
    std::uint16_t packetId = 0;
    Properties properties;
    QList<std::uint8_t> reasonCodes;   // 3.1.1: granted QoS or 0x80
};

struct Unsubscribe {
    std::uint16_t packetId = 0;
    Properties properties;
    QList<QByteArray> filters;
};

struct Unsuback {
    std::uint16_t packetId = 0;
    Properties properties;
    QList<std::uint8_t> reasonCodes;   // 5.0 only; 3.1.1 UNSUBACK has no payload
};

struct Pingreq {};
struct Pingresp {};

struct Disconnect {
    std::uint8_t reasonCode = 0;   // 5.0; 3.1.1 DISCONNECT has no variable header
    Properties properties;
};

struct Auth {
    std::uint8_t reasonCode = 0;
    Properties properties;
};

using Packet = std::variant<Connect, Connack, Publish, PubResponse, Subscribe, Suback, Unsubscribe,
                            Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

PacketType packetType(const Packet &packet);

// Field-by-field equality (Packet.cpp), mainly for tests; std::variant's == uses these.
bool operator==(const Will &a, const Will &b);
bool operator==(const Connect &a, const Connect &b);
bool operator==(const Connack &a, const Connack &b);
bool operator==(const Publish &a, const Publish &b);
bool operator==(const PubResponse &a, const PubResponse &b);
bool operator==(const SubscriptionRequest &a, const SubscriptionRequest &b);
bool operator==(const Subscribe &a, const Subscribe &b);
bool operator==(const Suback &a, const Suback &b);
bool operator==(const Unsubscribe &a, const Unsubscribe &b);
bool operator==(const Unsuback &a, const Unsuback &b);
bool operator==(const Disconnect &a, const Disconnect &b);
bool operator==(const Auth &a, const Auth &b);
inline bool operator==(const Pingreq &, const Pingreq &) { return true; }
inline bool operator==(const Pingresp &, const Pingresp &) { return true; }

} // namespace ferry::mqtt
