#include "Packet.h"

#include <tuple>

namespace ferry::mqtt {

namespace {
// Ties every field of Properties in declaration order (keep in step with Packet.h).
auto tie(const Properties &p)
{
    return std::tie(p.payloadFormatIndicator, p.messageExpiryInterval, p.contentType,
                    p.responseTopic, p.correlationData, p.subscriptionIdentifiers,
                    p.sessionExpiryInterval, p.assignedClientIdentifier, p.serverKeepAlive,
                    p.authenticationMethod, p.authenticationData, p.requestProblemInformation,
                    p.willDelayInterval, p.requestResponseInformation, p.responseInformation,
                    p.serverReference, p.reasonString, p.receiveMaximum, p.topicAliasMaximum,
                    p.topicAlias, p.maximumQoS, p.retainAvailable, p.userProperties,
                    p.maximumPacketSize, p.wildcardSubscriptionAvailable,
                    p.subscriptionIdentifierAvailable, p.sharedSubscriptionAvailable);
}
} // namespace

bool operator==(const Properties &a, const Properties &b)
{
    return tie(a) == tie(b);
}

bool operator==(const Will &a, const Will &b)
{
    return a.topic == b.topic && a.payload == b.payload && a.qos == b.qos && a.retain == b.retain &&
           a.properties == b.properties;
}

bool operator==(const Connect &a, const Connect &b)
{
    return a.version == b.version && a.protocolName == b.protocolName &&
           a.cleanStart == b.cleanStart && a.keepAlive == b.keepAlive && a.clientId == b.clientId &&
           a.will == b.will && a.username == b.username && a.password == b.password &&
           a.properties == b.properties;
}

bool operator==(const Connack &a, const Connack &b)
{
    return a.sessionPresent == b.sessionPresent && a.reasonCode == b.reasonCode &&
           a.properties == b.properties;
}

bool operator==(const Publish &a, const Publish &b)
{
    return a.dup == b.dup && a.qos == b.qos && a.retain == b.retain && a.topic == b.topic &&
           a.packetId == b.packetId && a.properties == b.properties && a.payload == b.payload;
}

bool operator==(const PubResponse &a, const PubResponse &b)
{
    return a.type == b.type && a.packetId == b.packetId && a.reasonCode == b.reasonCode &&
           a.properties == b.properties;
}

bool operator==(const SubscriptionRequest &a, const SubscriptionRequest &b)
{
    return a.filter == b.filter && a.maxQoS == b.maxQoS && a.noLocal == b.noLocal &&
           a.retainAsPublished == b.retainAsPublished && a.retainHandling == b.retainHandling;
}

bool operator==(const Subscribe &a, const Subscribe &b)
{
    return a.packetId == b.packetId && a.properties == b.properties &&
           a.subscriptions == b.subscriptions;
}

bool operator==(const Suback &a, const Suback &b)
{
    return a.packetId == b.packetId && a.properties == b.properties &&
           a.reasonCodes == b.reasonCodes;
}

bool operator==(const Unsubscribe &a, const Unsubscribe &b)
{
    return a.packetId == b.packetId && a.properties == b.properties && a.filters == b.filters;
}

bool operator==(const Unsuback &a, const Unsuback &b)
{
    return a.packetId == b.packetId && a.properties == b.properties &&
           a.reasonCodes == b.reasonCodes;
}

bool operator==(const Disconnect &a, const Disconnect &b)
{
    return a.reasonCode == b.reasonCode && a.properties == b.properties;
}

bool operator==(const Auth &a, const Auth &b)
{
    return a.reasonCode == b.reasonCode && a.properties == b.properties;
}

PacketType packetType(const Packet &packet)
{
    switch (packet.index()) {
    case 0:
        return PacketType::Connect;
    case 1:
        return PacketType::Connack;
    case 2:
        return PacketType::Publish;
    case 3:
        return std::get<PubResponse>(packet).type;
    case 4:
        return PacketType::Subscribe;
    case 5:
        return PacketType::Suback;
    case 6:
        return PacketType::Unsubscribe;
    case 7:
        return PacketType::Unsuback;
    case 8:
        return PacketType::Pingreq;
    case 9:
        return PacketType::Pingresp;
    case 10:
        return PacketType::Disconnect;
    default:
        return PacketType::Auth;
    }
}

} // namespace ferry::mqtt
