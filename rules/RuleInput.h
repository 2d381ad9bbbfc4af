#pragma once
// What a rule reads: a published message or a client event, exposed as EMQX's field names.
//
// Message fields: id, topic, payload, clientid, username, peerhost, qos, retain,
// flags.retain, timestamp (ms), publish_received_at, pub_props ('User-Property' map and the
// MQTT 5 properties), event ('message.publish'). Event fields are whatever the broker passes
// in the map (EMQX's names: clientid, username, peerhost, reason, topic, qos, ...) plus event
// ('client.connected' for "$events/client_connected") and timestamp when absent.
// Fields are computed only when a rule asks for them.

#include "core/Message.h"

#include <QVariantMap>

struct lua_State;

namespace ferry::rules {

class RuleInput {
public:
    static RuleInput fromMessage(const core::Message &m);
    static RuleInput fromEvent(const QByteArray &eventTopic, const QVariantMap &fields,
                               qint64 nowMs, int ruleHops = 0);
    // One message field by EMQX's name (as a rule reads it from a publish), for the broker's
    // $events/message_* events that carry the message's fields. Invalid = undefined.
    static QVariant messageValue(const core::Message &m, const QByteArray &field);

    const QByteArray &topic() const { return m_topic; } // the topic matched against FROM
    bool isEvent() const { return m_isEvent; }
    // Rule republishes that led to this input (core::MessageData::ruleHops): the engine's
    // bound on republish loops, also those that run through later events.
    int ruleHops() const { return m_ruleHops; }
    QVariant value(const QByteArray &field) const; // invalid QVariant = undefined
    // Pushes value(field) onto the Lua stack as luavalue::pushVariant would (nil when
    // undefined). A message's text fields go straight from its bytes: no QVariant per call.
    void push(lua_State *L, const QByteArray &field) const;
    // value("payload") when it is a string (a message's payload, "" for none), else a null
    // QByteArray: what JDEC reads (CompiledQuery::payloadDirect).
    QByteArray payloadText() const;
    QVariantMap all() const;                       // SELECT *

private:
    QByteArray m_topic;
    bool m_isEvent = false;
    int m_ruleHops = 0;
    core::Message m_message;
    QVariantMap m_fields;
};

} // namespace ferry::rules
