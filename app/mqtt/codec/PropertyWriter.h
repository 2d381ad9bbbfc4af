#pragma once
// Encoding of an MQTT 5.0 property block (internal): Property Length, then each present
// property in identifier order. Works with SizeCounter and ByteWriter.

#include "Packet.h"
#include "WireWriter.h"

namespace ferry::mqtt {

template <typename W> void writePropertyList(W &w, const Properties &p)
{
    const auto byte = [&w](std::uint8_t id, const std::optional<std::uint8_t> &v) {
        if (v) {
            w.u8(id);
            w.u8(*v);
        }
    };
    const auto u16 = [&w](std::uint8_t id, const std::optional<std::uint16_t> &v) {
        if (v) {
            w.u8(id);
            w.u16(*v);
        }
    };
    const auto u32 = [&w](std::uint8_t id, const std::optional<std::uint32_t> &v) {
        if (v) {
            w.u8(id);
            w.u32(*v);
        }
    };
    const auto field = [&w](std::uint8_t id, const std::optional<QByteArray> &v) {
        if (v) {
            w.u8(id);
            w.field(*v);
        }
    };
    byte(0x01, p.payloadFormatIndicator);
    u32(0x02, p.messageExpiryInterval);
    field(0x03, p.contentType);
    field(0x08, p.responseTopic);
    field(0x09, p.correlationData);
    for (const std::uint32_t id : p.subscriptionIdentifiers) {
        w.u8(0x0B);
        w.varInt(id);
    }
    u32(0x11, p.sessionExpiryInterval);
    field(0x12, p.assignedClientIdentifier);
    u16(0x13, p.serverKeepAlive);
    field(0x15, p.authenticationMethod);
    field(0x16, p.authenticationData);
    byte(0x17, p.requestProblemInformation);
    u32(0x18, p.willDelayInterval);
    byte(0x19, p.requestResponseInformation);
    field(0x1A, p.responseInformation);
    field(0x1C, p.serverReference);
    field(0x1F, p.reasonString);
    u16(0x21, p.receiveMaximum);
    u16(0x22, p.topicAliasMaximum);
    u16(0x23, p.topicAlias);
    byte(0x24, p.maximumQoS);
    byte(0x25, p.retainAvailable);
    for (const UserProperty &up : p.userProperties) {
        w.u8(0x26);
        w.field(up.first);
        w.field(up.second);
    }
    u32(0x27, p.maximumPacketSize);
    byte(0x28, p.wildcardSubscriptionAvailable);
    byte(0x29, p.subscriptionIdentifierAvailable);
    byte(0x2A, p.sharedSubscriptionAvailable);
}

inline std::uint32_t propertyListSize(const Properties &p)
{
    SizeCounter c;
    writePropertyList(c, p);
    return std::uint32_t(c.size());
}

// Property Length followed by the properties (2.2.2.1).
template <typename W> void writeProperties(W &w, const Properties &p)
{
    w.varInt(propertyListSize(p));
    writePropertyList(w, p);
}

// True when no property is present (cheap: no measuring), for the 5.0 short forms.
inline bool hasNoProperties(const Properties &p)
{
    return !p.payloadFormatIndicator && !p.messageExpiryInterval && !p.contentType &&
           !p.responseTopic && !p.correlationData && p.subscriptionIdentifiers.isEmpty() &&
           !p.sessionExpiryInterval && !p.assignedClientIdentifier && !p.serverKeepAlive &&
           !p.authenticationMethod && !p.authenticationData && !p.requestProblemInformation &&
           !p.willDelayInterval && !p.requestResponseInformation && !p.responseInformation &&
           !p.serverReference && !p.reasonString && !p.receiveMaximum && !p.topicAliasMaximum &&
           !p.topicAlias && !p.maximumQoS && !p.retainAvailable && p.userProperties.isEmpty() &&
           !p.maximumPacketSize && !p.wildcardSubscriptionAvailable &&
           !p.subscriptionIdentifierAvailable && !p.sharedSubscriptionAvailable;
}

} // namespace ferry::mqtt
