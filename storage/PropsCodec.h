#pragma once
// Encodes the optional parts of a core::Message (MQTT 5 / AMQP properties and origin) into
// the `messages.props` BLOB, and back. The columns hold what every message has (topic,
// payload, qos, retain, times); this BLOB holds what most messages lack, so a plain MQTT 3.1.1
// message stores an empty BLOB.
//
// Format: one version byte (1), then a QDataStream (Qt_6_4) of presence flags and fields.
// decode() rejects anything else and reports it; it never crashes on garbage.
#include "core/Message.h"

namespace ferry::storage::PropsCodec {

QByteArray encode(const core::MessageData &m);
// Fills the property fields of `m`; returns false (leaving them unset) on malformed input.
bool decode(const QByteArray &blob, core::MessageData &m);

} // namespace ferry::storage::PropsCodec
