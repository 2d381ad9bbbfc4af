#pragma once
// Translates the core's per-receiver Delivery to and from what a queue entry stores, so that
// the broker's storage-backed session queue is a few lines: append(queueId, d.message,
// DeliveryCodec::meta(d)) and, at start-up, DeliveryCodec::delivery(entry).
//
// EntryMeta::tag format (stored in queue_entries.tag, so it is an on-disk format): empty when
// the delivery has no subscription identifiers and no share group; else one version byte (1)
// and a QDataStream (Qt_6_4, big-endian) of QList<quint32> subscriptionIds, QByteArray
// shareGroup.
#include "core/Delivery.h"
#include "storage/StorageTypes.h"

namespace ferry::storage::DeliveryCodec {

EntryMeta meta(const core::Delivery &d);
// The delivery of a loaded entry (the caller records e.seq as its storage seq). A tag that cannot
// be decoded yields no subscription ids and no share group (logged), never a failure: the message
// itself is still delivered.
core::Delivery delivery(const StoredEntry &e);

} // namespace ferry::storage::DeliveryCodec
