#pragma once
// MQTT 5.0 reason codes (spec 2.4) and the 3.1.1 CONNACK return codes.
#include <cstdint>

namespace ferry::mqtt {

namespace rc {
constexpr std::uint8_t Success = 0x00;              // also Normal disconnection, Granted QoS 0
constexpr std::uint8_t GrantedQoS1 = 0x01;
constexpr std::uint8_t GrantedQoS2 = 0x02;
constexpr std::uint8_t DisconnectWithWill = 0x04;
constexpr std::uint8_t NoMatchingSubscribers = 0x10;
constexpr std::uint8_t NoSubscriptionExisted = 0x11;
constexpr std::uint8_t ContinueAuthentication = 0x18;
constexpr std::uint8_t ReAuthenticate = 0x19;
constexpr std::uint8_t UnspecifiedError = 0x80;
constexpr std::uint8_t MalformedPacket = 0x81;
constexpr std::uint8_t ProtocolError = 0x82;
constexpr std::uint8_t ImplementationSpecificError = 0x83;
constexpr std::uint8_t UnsupportedProtocolVersion = 0x84;
constexpr std::uint8_t ClientIdentifierNotValid = 0x85;
constexpr std::uint8_t BadUserNameOrPassword = 0x86;
constexpr std::uint8_t NotAuthorized = 0x87;
constexpr std::uint8_t ServerUnavailable = 0x88;
constexpr std::uint8_t ServerBusy = 0x89;
constexpr std::uint8_t Banned = 0x8A;
constexpr std::uint8_t ServerShuttingDown = 0x8B;
constexpr std::uint8_t BadAuthenticationMethod = 0x8C;
constexpr std::uint8_t KeepAliveTimeout = 0x8D;
constexpr std::uint8_t SessionTakenOver = 0x8E;
constexpr std::uint8_t TopicFilterInvalid = 0x8F;
constexpr std::uint8_t TopicNameInvalid = 0x90;
constexpr std::uint8_t PacketIdentifierInUse = 0x91;
constexpr std::uint8_t PacketIdentifierNotFound = 0x92;
constexpr std::uint8_t ReceiveMaximumExceeded = 0x93;
constexpr std::uint8_t TopicAliasInvalid = 0x94;
constexpr std::uint8_t PacketTooLarge = 0x95;
constexpr std::uint8_t MessageRateTooHigh = 0x96;
constexpr std::uint8_t QuotaExceeded = 0x97;
constexpr std::uint8_t AdministrativeAction = 0x98;
constexpr std::uint8_t PayloadFormatInvalid = 0x99;
constexpr std::uint8_t RetainNotSupported = 0x9A;
constexpr std::uint8_t QoSNotSupported = 0x9B;
constexpr std::uint8_t UseAnotherServer = 0x9C;
constexpr std::uint8_t ServerMoved = 0x9D;
constexpr std::uint8_t SharedSubscriptionsNotSupported = 0x9E;
constexpr std::uint8_t ConnectionRateExceeded = 0x9F;
constexpr std::uint8_t MaximumConnectTime = 0xA0;
constexpr std::uint8_t SubscriptionIdentifiersNotSupported = 0xA1;
constexpr std::uint8_t WildcardSubscriptionsNotSupported = 0xA2;
} // namespace rc

// MQTT 3.1.1 CONNACK return codes (spec 3.2.2.3).
namespace rc311 {
constexpr std::uint8_t Accepted = 0;
constexpr std::uint8_t UnacceptableProtocolVersion = 1;
constexpr std::uint8_t IdentifierRejected = 2;
constexpr std::uint8_t ServerUnavailable = 3;
constexpr std::uint8_t BadUserNameOrPassword = 4;
constexpr std::uint8_t NotAuthorized = 5;
} // namespace rc311

} // namespace ferry::mqtt
