#include "storage/DeliveryCodec.h"

#include "storage/StorageLog.h"

#include <QDataStream>
#include <QIODevice>

namespace ferry::storage::DeliveryCodec {

namespace {
constexpr quint8 kVersion = 1;
}

EntryMeta meta(const core::Delivery &d)
{
    EntryMeta m;
    m.qos = d.qos;
    m.retain = d.retain;
    if (d.subscriptionIds.isEmpty() && d.shareGroup.isEmpty())
        return m;
    QDataStream s(&m.tag, QIODevice::WriteOnly);
    s.setVersion(QDataStream::Qt_6_4);
    s << kVersion << quint32(d.subscriptionIds.size());
    for (std::uint32_t id : d.subscriptionIds)
        s << quint32(id);
    s << d.shareGroup;
    return m;
}

core::Delivery delivery(const StoredEntry &e)
{
    core::Delivery d;
    d.message = e.message;
    d.qos = e.meta.qos;
    d.retain = e.meta.retain;
    if (e.meta.tag.isEmpty())
        return d;
    QDataStream s(e.meta.tag);
    s.setVersion(QDataStream::Qt_6_4);
    quint8 version = 0;
    quint32 count = 0;
    s >> version >> count;
    // Each id takes 4 bytes: bound the loop by the input, not by the count it claims.
    const bool plausible = s.status() == QDataStream::Ok && version == kVersion &&
                           count <= quint32(e.meta.tag.size() / 4);
    QList<std::uint32_t> ids;
    for (quint32 i = 0; plausible && i < count; ++i) {
        quint32 id = 0;
        s >> id;
        ids.append(id);
    }
    QByteArray group;
    s >> group;
    if (!plausible || s.status() != QDataStream::Ok) {
        qCWarning(lcStorage).nospace()
            << "event=bad_entry_tag seq=" << e.seq << " action=delivered_without_subscription_ids";
        return d;
    }
    d.subscriptionIds = ids;
    d.shareGroup = group;
    return d;
}

} // namespace ferry::storage::DeliveryCodec
