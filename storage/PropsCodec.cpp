#include "storage/PropsCodec.h"

#include <QDataStream>
#include <QIODevice>

namespace ferry::storage::PropsCodec {

namespace {
constexpr quint8 kVersion = 1;
enum Flag : quint8 {
    HasPayloadFormat = 1 << 0,
    HasContentType = 1 << 1,
    HasResponseTopic = 1 << 2,
    HasCorrelationData = 1 << 3,
};
} // namespace

QByteArray encode(const core::MessageData &m)
{
    const bool anything = m.payloadFormat || m.contentType || m.responseTopic ||
                          m.correlationData || !m.userProperties.isEmpty() ||
                          !m.originClientId.isEmpty() || !m.originUsername.isEmpty() ||
                          !m.originPeerHost.isEmpty();
    if (!anything)
        return QByteArray();
    QByteArray out;
    QDataStream s(&out, QIODevice::WriteOnly);
    s.setVersion(QDataStream::Qt_6_4);
    quint8 flags = 0;
    if (m.payloadFormat)
        flags |= HasPayloadFormat;
    if (m.contentType)
        flags |= HasContentType;
    if (m.responseTopic)
        flags |= HasResponseTopic;
    if (m.correlationData)
        flags |= HasCorrelationData;
    s << kVersion << flags;
    if (m.payloadFormat)
        s << quint8(*m.payloadFormat);
    if (m.contentType)
        s << *m.contentType;
    if (m.responseTopic)
        s << *m.responseTopic;
    if (m.correlationData)
        s << *m.correlationData;
    s << quint32(m.userProperties.size());
    for (const auto &p : m.userProperties)
        s << p.first << p.second;
    s << m.originClientId << m.originUsername << m.originPeerHost;
    return out;
}

bool decode(const QByteArray &blob, core::MessageData &m)
{
    if (blob.isEmpty())
        return true;
    QDataStream s(blob);
    s.setVersion(QDataStream::Qt_6_4);
    quint8 version = 0, flags = 0;
    s >> version >> flags;
    if (s.status() != QDataStream::Ok || version != kVersion)
        return false;
    core::MessageData d;
    if (flags & HasPayloadFormat) {
        quint8 v = 0;
        s >> v;
        d.payloadFormat = v;
    }
    QByteArray b;
    if (flags & HasContentType) {
        s >> b;
        d.contentType = b;
    }
    if (flags & HasResponseTopic) {
        s >> b;
        d.responseTopic = b;
    }
    if (flags & HasCorrelationData) {
        s >> b;
        d.correlationData = b;
    }
    quint32 count = 0;
    s >> count;
    // Each property takes at least 8 bytes of length prefixes: bound the loop by the input.
    if (s.status() != QDataStream::Ok || count > quint32(blob.size() / 8))
        return false;
    for (quint32 i = 0; i < count; ++i) {
        QByteArray k, v;
        s >> k >> v;
        d.userProperties.append({k, v});
    }
    s >> d.originClientId >> d.originUsername >> d.originPeerHost;
    if (s.status() != QDataStream::Ok)
        return false;
    m.payloadFormat = d.payloadFormat;
    m.contentType = d.contentType;
    m.responseTopic = d.responseTopic;
    m.correlationData = d.correlationData;
    m.userProperties = d.userProperties;
    m.originClientId = d.originClientId;
    m.originUsername = d.originUsername;
    m.originPeerHost = d.originPeerHost;
    return true;
}

} // namespace ferry::storage::PropsCodec
