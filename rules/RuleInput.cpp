#include "rules/RuleInput.h"

#include "rules/LuaValue.h"

#include <lua.hpp>

namespace ferry::rules {

namespace {

const char *const kMessageFields[] = {"id",
                                      "topic",
                                      "payload",
                                      "clientid",
                                      "username",
                                      "peerhost",
                                      "qos",
                                      "retain",
                                      "flags",
                                      "timestamp",
                                      "publish_received_at",
                                      "pub_props",
                                      "event"};

QVariant text(const QByteArray &b)
{
    return b.isNull() ? QVariant() : QVariant(b);
}

QVariant normalize(const QVariant &v)
{
    // Event maps come from broker code: bring their types to the rule value model.
    switch (v.typeId()) {
    case QMetaType::QString:
        return v.toString().toUtf8();
    case QMetaType::Int:
    case QMetaType::UInt:
    case QMetaType::ULongLong:
        return QVariant::fromValue<qint64>(v.toLongLong());
    case QMetaType::QVariantMap: {
        QVariantMap m = v.toMap();
        for (auto it = m.begin(); it != m.end(); ++it)
            it.value() = normalize(it.value());
        return m;
    }
    case QMetaType::QVariantList: {
        QVariantList l = v.toList();
        for (QVariant &e : l)
            e = normalize(e);
        return l;
    }
    default:
        return v;
    }
}

} // namespace

RuleInput RuleInput::fromMessage(const core::Message &m)
{
    RuleInput in;
    in.m_topic = m.topic();
    in.m_message = m;
    in.m_ruleHops = m.data().ruleHops;
    return in;
}

RuleInput RuleInput::fromEvent(const QByteArray &eventTopic, const QVariantMap &fields,
                               qint64 nowMs, int ruleHops)
{
    RuleInput in;
    in.m_topic = eventTopic;
    in.m_isEvent = true;
    in.m_ruleHops = ruleHops;
    for (auto it = fields.cbegin(); it != fields.cend(); ++it)
        in.m_fields.insert(it.key(), normalize(it.value()));
    if (!in.m_fields.contains("event")) {
        // "$events/client_connected" -> "client.connected", as EMQX names its events.
        QByteArray name = eventTopic.mid(eventTopic.indexOf('/') + 1);
        const int us = name.indexOf('_');
        if (us > 0)
            name[us] = '.';
        in.m_fields.insert("event", name);
    }
    if (!in.m_fields.contains("timestamp"))
        in.m_fields.insert("timestamp", QVariant::fromValue<qint64>(nowMs));
    return in;
}

QVariant RuleInput::value(const QByteArray &field) const
{
    if (m_isEvent)
        return m_fields.value(QString::fromUtf8(field));
    return messageValue(m_message, field);
}

void RuleInput::push(lua_State *L, const QByteArray &field) const
{
    if (!m_isEvent) {
        // The fields every typical rule reads; the rest take the general path.
        const core::MessageData &d = m_message.data();
        const QByteArray *bytes = nullptr;
        if (field == "payload")
            bytes = &d.payload; // a null payload reads as "", as in messageValue()
        else if (field == "clientid" && !d.originClientId.isNull())
            bytes = &d.originClientId;
        else if (field == "topic")
            bytes = &d.topic;
        if (bytes) {
            lua_pushlstring(L, bytes->constData(), size_t(bytes->size()));
            return;
        }
    }
    luavalue::pushVariant(L, value(field));
}

QByteArray RuleInput::payloadText() const
{
    if (!m_isEvent) {
        const QByteArray &p = m_message.data().payload;
        return p.isNull() ? QByteArray("") : p;
    }
    const QVariant v = m_fields.value(QStringLiteral("payload"));
    return v.typeId() == QMetaType::QByteArray ? v.toByteArray() : QByteArray();
}

QVariant RuleInput::messageValue(const core::Message &m, const QByteArray &field)
{
    const core::MessageData &d = m.data();
    if (field == "payload")
        return d.payload.isNull() ? QByteArray("") : d.payload;
    if (field == "topic")
        return d.topic;
    if (field == "clientid")
        return text(d.originClientId);
    if (field == "username")
        return d.originUsername.isEmpty() ? QVariant() : QVariant(d.originUsername);
    if (field == "peerhost") {
        // EMQX's peerhost is the address without the port: "10.0.0.1", "::1".
        const QByteArray &p = d.originPeerHost;
        if (p.startsWith('[')) {
            const qsizetype close = p.indexOf(']');
            return close > 0 ? QVariant(p.mid(1, close - 1)) : text(p);
        }
        const qsizetype colon = p.lastIndexOf(':');
        return colon > 0 && p.indexOf(':') == colon ? QVariant(p.left(colon)) : text(p);
    }
    if (field == "qos")
        return QVariant::fromValue<qint64>(d.qos);
    if (field == "retain")
        return d.retain;
    if (field == "flags")
        return QVariantMap{{"retain", d.retain}, {"dup", false}};
    if (field == "timestamp" || field == "publish_received_at")
        return QVariant::fromValue<qint64>(d.timestampMs);
    if (field == "id")
        return QByteArray::number(quint64(d.id), 16).rightJustified(16, '0').toUpper();
    if (field == "event")
        return QByteArray("message.publish");
    if (field == "pub_props") {
        QVariantMap props;
        if (!d.userProperties.isEmpty()) {
            QVariantMap up;
            for (const auto &p : d.userProperties)
                up.insert(QString::fromUtf8(p.first), p.second);
            props.insert("User-Property", up);
        }
        if (d.contentType)
            props.insert("Content-Type", *d.contentType);
        if (d.responseTopic)
            props.insert("Response-Topic", *d.responseTopic);
        if (d.correlationData)
            props.insert("Correlation-Data", *d.correlationData);
        if (d.payloadFormat)
            props.insert("Payload-Format-Indicator", QVariant::fromValue<qint64>(*d.payloadFormat));
        return props;
    }
    return QVariant();
}

QVariantMap RuleInput::all() const
{
    if (m_isEvent)
        return m_fields;
    QVariantMap out;
    for (const char *f : kMessageFields) {
        const QVariant v = value(f);
        if (v.isValid())
            out.insert(QString::fromLatin1(f), v);
    }
    return out;
}

} // namespace ferry::rules
