#pragma once
// MQTT packet encoder: a Packet value and a dialect in, wire bytes out. Pure and stateless.
//
// Each packet is measured first and written into one allocation of exactly its size; the
// PUBLISH payload is copied once, into that allocation. With V311 (or V31) the 3.1.1 forms are
// written: no properties, no reason codes in PUBACK..PUBCOMP, UNSUBACK and DISCONNECT without
// payload. With V5 the short forms are used where the spec allows them (3.4.2.1, 3.14.2.1).
// Values are written as given: the caller maps reason codes to the dialect (a 3.1.1 CONNACK
// return code, 3.1.1 SUBACK codes 0/1/2/0x80); in 3.1.1 a PUBACK..PUBCOMP reason code and all
// properties are dropped because that dialect has no field for them.
// The caller passes values the wire can carry: strings up to 65,535 bytes, a packet up to
// 268,435,455 bytes of Remaining Length, AUTH only in V5; otherwise encode() returns an empty
// QByteArray (and asserts in debug builds).

#include "Packet.h"

#include <QByteArray>

#include <cstdint>

namespace ferry::mqtt {

struct EncodedPublish {
    QByteArray bytes;
    qsizetype packetIdOffset = -1; // where the two packet-id bytes are; -1 for QoS 0
};

QByteArray encode(const Packet &packet, ProtocolVersion version);

// Total size encode() would return (0 when it would fail), without building the bytes.
qsizetype encodedSize(const Packet &packet, ProtocolVersion version);

// A PUBLISH encoded once and then reused per subscriber: patchPacketId() writes each
// subscriber's packet id in place, setDupFlag() marks a retransmission (MQTT-3.3.1-1).
EncodedPublish encodePublish(const Publish &publish, ProtocolVersion version);
void patchPacketId(QByteArray &bytes, qsizetype offset, std::uint16_t packetId);
void setDupFlag(QByteArray &bytes);

} // namespace ferry::mqtt
