#include "mqtt/Adapter.h"

#include "core/Topic.h"
#include "mqtt/codec/ReasonCode.h"
#include "mqtt/codec/Utf8.h"

#include <QDateTime>
#include <QLoggingCategory>
#include <QUuid>

#include <algorithm>

Q_DECLARE_LOGGING_CATEGORY(lcMqtt)

namespace ferry::mqtt {

namespace {
std::int64_t wallNowMs() { return QDateTime::currentMSecsSinceEpoch(); }
// MQTT 3.1 limits the client identifier to 23 characters (3.1 spec, CONNECT payload).
constexpr qsizetype kMaxClientIdV31 = 23;
} // namespace

Adapter::Adapter(core::Broker &broker, const AdapterSettings &settings, ClientEvents *events)
    : m_broker(broker), m_settings(settings), m_events(events)
{
}

Adapter::~Adapter()
{
    // A connection object destroyed without the close notice (daemon shutdown): the session
    // must not keep a dangling output.
    if (m_session)
        leaveSession(false, "shutdown");
    if (m_self)
        m_self->adapter = nullptr;   // completions still pending find no adapter
}

QByteArray Adapter::assignClientId() const
{
    return "ferry-" + QUuid::createUuid().toByteArray(QUuid::WithoutBraces);
}

void Adapter::refuseConnect(std::uint8_t reasonV5, std::uint8_t returnCode311, const char *why)
{
    Connack connack;
    connack.reasonCode = m_protocol->isV5() ? reasonV5 : returnCode311;
    qCInfo(lcMqtt, "connect_refused client_id=%s peer=%s reason_code=0x%02x what=%s",
           m_protocol->clientId().constData(), m_protocol->peer().constData(), connack.reasonCode, why);
    m_protocol->sendConnack(connack, 0);
}

void Adapter::onConnect(Connect &connect)
{
    const bool v5 = connect.version == ProtocolVersion::V5;
    const Properties &props = connect.properties;

    if (v5 && props.authenticationData && !props.authenticationMethod) {
        // Spec 3.1.2.11.10: Authentication Data without a Method is a Protocol Error.
        refuseConnect(rc::ProtocolError, rc311::IdentifierRejected, "authentication data without method");
        return;
    }
    if (v5 && props.authenticationMethod) {
        // Enhanced authentication (spec 4.12) is not offered.
        refuseConnect(rc::BadAuthenticationMethod, rc311::NotAuthorized, "enhanced authentication not supported");
        return;
    }
    if (!m_settings.allowAnonymous) {
        // Password files arrive with the authentication issue; until then a listener that
        // refuses anonymous clients has nobody to accept.
        refuseConnect(rc::NotAuthorized, rc311::NotAuthorized, "anonymous access disabled");
        return;
    }
    if (m_settings.maxConnections != 0 && m_broker.stats().clientsConnected >= m_settings.maxConnections) {
        refuseConnect(rc::ServerBusy, rc311::ServerUnavailable, "max_connections reached");
        return;
    }

    bool assigned = false;
    if (connect.clientId.isEmpty()) {
        // 3.1.1 spec 3.1.3-8: a zero-byte ClientId with CleanSession 0 is rejected (0x02).
        if (!v5 && !connect.cleanStart) {
            refuseConnect(rc::ClientIdentifierNotValid, rc311::IdentifierRejected, "empty client id with clean session 0");
            return;
        }
        connect.clientId = assignClientId();
        assigned = true;
    } else if (connect.version == ProtocolVersion::V31 && connect.clientId.size() > kMaxClientIdV31) {
        refuseConnect(rc::ClientIdentifierNotValid, rc311::IdentifierRejected, "client id longer than 23 (MQTT 3.1)");
        return;
    }
    m_protocol->setClientId(connect.clientId);

    if (connect.will) {
        const Will &w = *connect.will;
        if (!core::isValidTopicName(w.topic) || !core::withinLevelLimit(w.topic, m_protocol->settings().maxTopicLevels)) {
            refuseConnect(rc::TopicNameInvalid, rc311::IdentifierRejected, "invalid will topic");
            return;
        }
        if (w.topic.startsWith("$SYS/") || w.topic == "$SYS") {
            refuseConnect(rc::NotAuthorized, rc311::NotAuthorized, "will topic in $SYS");
            return;
        }
        if (w.properties.responseTopic && !core::isValidTopicName(*w.properties.responseTopic)) {
            // Spec 3.1.3-?: the will's Response Topic becomes a Topic Name: no wildcards.
            refuseConnect(rc::ProtocolError, rc311::IdentifierRejected, "will response topic invalid");
            return;
        }
        if (w.properties.payloadFormatIndicator.value_or(0) == 1 && !isValidMqttUtf8(w.payload.constData(), w.payload.size())) {
            refuseConnect(rc::PayloadFormatInvalid, rc311::IdentifierRejected, "will payload is not UTF-8");
            return;
        }
        core::Message will(w.topic, w.payload, w.qos, w.retain);
        core::MessageData &d = will.edit();
        d.payloadFormat = w.properties.payloadFormatIndicator;
        d.contentType = w.properties.contentType;
        d.responseTopic = w.properties.responseTopic;
        d.correlationData = w.properties.correlationData;
        d.userProperties = w.properties.userProperties;
        d.originClientId = connect.clientId;
        d.originUsername = connect.username.value_or(QByteArray());
        d.originPeerHost = m_protocol->peer();
        m_will = std::move(will);
        m_willDelay = w.properties.willDelayInterval.value_or(0);
        m_willExpiry = w.properties.messageExpiryInterval.value_or(0);
    }
    m_username = connect.username.value_or(QByteArray());

    std::uint32_t expiry = 0;
    if (v5) {
        expiry = props.sessionExpiryInterval.value_or(0);
        m_connectHadZeroExpiry = expiry == 0;
    } else {
        // 3.1.1 Clean Session 0: the session lasts until the client cleans it.
        expiry = connect.cleanStart ? 0 : core::Session::NeverExpires;
    }

    // Keep alive: a 5.0 client is told when we lower it (Server Keep Alive, 3.2.2.3.14).
    std::uint16_t keepAlive = connect.keepAlive;
    const std::uint16_t maxKeepAlive = m_protocol->settings().maxKeepAlive;
    Connack connack;
    if (v5 && (keepAlive > maxKeepAlive || (keepAlive == 0 && maxKeepAlive != 65535))) {
        keepAlive = maxKeepAlive;
        connack.properties.serverKeepAlive = keepAlive;
    }
    if (assigned && v5)
        connack.properties.assignedClientIdentifier = connect.clientId;

    const auto attach = m_broker.attachSession(connect.clientId, connect.cleanStart, expiry, this,
                                               m_protocol->clientReceiveMaximum(),
                                               std::uint8_t(connect.version));
    m_session = attach.session;
    connack.sessionPresent = attach.sessionPresent;
    connack.reasonCode = rc::Success;
    m_protocol->sendConnack(connack, keepAlive);

    qCInfo(lcMqtt, "client_connected client_id=%s peer=%s version=%d clean_start=%d keepalive=%u session_present=%d",
           connect.clientId.constData(), m_protocol->peer().constData(), int(connect.version),
           int(connect.cleanStart), keepAlive, int(attach.sessionPresent));
    if (m_events) {
        ClientEvents::ConnectionInfo info{m_protocol->peer()};
        info.protocolVersion = int(connect.version);
        if (m_events->wants(ClientEvents::Connected)) {
            info.sockname = m_protocol->localAddress();
            if (v5)
                info.properties = &connect.properties;
        }
        m_events->clientConnected(connect.clientId, m_username, info, connect.cleanStart, keepAlive,
                                  expiry, m_protocol->clientReceiveMaximum());
    }
    if (attach.sessionPresent)
        m_session->resumeDelivery();
}

core::Message Adapter::buildMessage(const Publish &publish, std::int64_t nowMs) const
{
    core::Message message(publish.topic, publish.payload, publish.qos, publish.retain);
    core::MessageData &d = message.edit();
    d.timestampMs = nowMs;
    const Properties &p = publish.properties;
    if (p.messageExpiryInterval)
        d.expiresAtMs = nowMs + std::int64_t(*p.messageExpiryInterval) * 1000;
    d.payloadFormat = p.payloadFormatIndicator;
    d.contentType = p.contentType;
    d.responseTopic = p.responseTopic;
    d.correlationData = p.correlationData;
    d.userProperties = p.userProperties;
    d.originClientId = m_protocol->clientId();
    d.originUsername = m_username;
    d.originPeerHost = m_protocol->peer();
    return message;
}

std::uint8_t Adapter::publishReasonCode(const core::RouteOutcome &outcome) const
{
    if (outcome.refused > 0)
        return rc::QuotaExceeded;   // some receiver's queue is full and its policy is refuse
    if (outcome.receivers == 0 && m_protocol->isV5())
        return rc::NoMatchingSubscribers;
    return rc::Success;
}

void Adapter::queueAck(PacketType type, std::uint16_t packetId, std::uint8_t reason, bool ready,
                       bool waitsForMessage)
{
    PubResponse response;
    response.type = type;
    response.packetId = packetId;
    response.reasonCode = m_protocol->isV5() ? reason : 0;
    m_acks.push_back({response, ready, waitsForMessage});
    flushAcks();
}

void Adapter::flushAcks()
{
    while (!m_acks.empty() && m_acks.front().ready) {
        const PubResponse response = m_acks.front().response;
        m_acks.pop_front();
        m_protocol->send(response);
    }
}

void Adapter::completeAck(std::uint16_t packetId, PacketType type, core::PersistStatus status)
{
    for (PendingAck &ack : m_acks) {
        if (ack.ready || ack.response.packetId != packetId || ack.response.type != type)
            continue;
        ack.ready = true;
        if (status != core::PersistStatus::Ok) {
            const std::uint8_t reason = status == core::PersistStatus::Full ? rc::QuotaExceeded
                                                                             : rc::ImplementationSpecificError;
            qCWarning(lcMqtt, "publish_not_stored client_id=%s packet_id=%u reason_code=0x%02x",
                      m_protocol->clientId().constData(), packetId, reason);
            if (type == PacketType::Pubrec && m_session) {
                bool written = false;
                m_session->removeInboundQos2(packetId, {}, &written);
            }
            if (!m_protocol->isV5()) {
                // MQTT 3.1.1 cannot say "not stored" in an acknowledgement: withhold it and
                // close, so the client keeps the message and sends it again later.
                m_acks.clear();
                m_protocol->disconnect(rc::QuotaExceeded);
                return;
            }
            ack.response.reasonCode = reason;
        }
        break;
    }
    flushAcks();
}

void Adapter::onPublish(Publish &publish)
{
    if (!m_session)
        return;
    auto &stats = m_broker.stats();
    ++stats.messagesReceived;
    ++stats.publishReceived;

    const PacketType ackType = publish.qos == 2 ? PacketType::Pubrec : PacketType::Puback;
    if (publish.qos == 2 && m_session->inboundQos2().contains(publish.packetId)) {
        // Spec 4.3.3: a resent PUBLISH (same id, before PUBREL) is acknowledged again and not
        // delivered a second time (CVE-2023-28366: never answering PUBREC must cost nothing).
        // If the first PUBREC still waits for its commit, that one answers both.
        const bool waiting = std::any_of(m_acks.begin(), m_acks.end(), [&](const PendingAck &a) {
            return a.response.packetId == publish.packetId && a.response.type == PacketType::Pubrec;
        });
        if (!waiting)
            queueAck(PacketType::Pubrec, publish.packetId, rc::Success, true);
        return;
    }
    if (publish.topic.startsWith("$SYS/") || publish.topic == "$SYS") {
        // $SYS belongs to the broker; clients cannot write into it.
        qCInfo(lcMqtt, "publish_refused client_id=%s topic=%s reason=$SYS is read-only",
               m_protocol->clientId().constData(), publish.topic.constData());
        if (publish.qos > 0)
            queueAck(ackType, publish.packetId, rc::NotAuthorized, true);
        return;
    }
    if (m_protocol->isV5() && publish.properties.payloadFormatIndicator.value_or(0) == 1
        && !isValidMqttUtf8(publish.payload.constData(), publish.payload.size())) {
        // Spec 3.3.2.3.2: a receiver MAY validate, and answers 0x99 Payload format invalid.
        if (publish.qos > 0)
            queueAck(ackType, publish.packetId, rc::PayloadFormatInvalid, true);
        else
            m_protocol->disconnect(rc::PayloadFormatInvalid, "payload is not UTF-8");
        return;
    }

    const std::int64_t now = wallNowMs();
    if (publish.qos == 0) {
        const core::RouteOutcome outcome = m_broker.publish(buildMessage(publish, now));
        if (outcome.receivers == 0 && outcome.refused == 0)
            reportDropped(publish, now, outcome);
        return;
    }
    const std::uint16_t packetId = publish.packetId;
    const WeakSelf self = weakSelf();
    // QoS 2: the id is recorded before the message is routed (a resend is a duplicate from
    // now on), and for a persistent session written ahead of the message, so PUBREC waits
    // for whichever commit is later. Completions run in write order, so when the message is
    // written too, its completion is the later one and the id's is ignored (waitsForMessage).
    bool idWritten = false;
    if (publish.qos == 2) {
        idWritten = m_session->addInboundQos2(packetId, [self, packetId](core::PersistStatus status) {
            if (Adapter *alive = self->adapter)
                alive->completeInboundId(packetId, status);
        });
    }
    const core::RouteOutcome outcome = m_broker.publish(
        buildMessage(publish, now), [self, packetId, ackType](core::PersistStatus status) {
            if (Adapter *alive = self->adapter)
                alive->completeAck(packetId, ackType, status);
        });
    if (outcome.receivers == 0 && outcome.refused == 0)
        reportDropped(publish, now, outcome);
    std::uint8_t reason = publishReasonCode(outcome);
    if (publish.qos == 2 && reason >= 0x80) {
        bool written = false;
        m_session->removeInboundQos2(packetId, {}, &written);
    }
    // The acknowledgement waits for the commit when a durable party needs the message
    // (DESIGN.md: acknowledged only after it is committed wherever it is needed).
    queueAck(ackType, packetId, reason, !outcome.durablePending && !idWritten,
             outcome.durablePending);
}

void Adapter::completeInboundId(std::uint16_t packetId, core::PersistStatus status)
{
    for (const PendingAck &ack : m_acks) {
        if (!ack.ready && ack.response.packetId == packetId
            && ack.response.type == PacketType::Pubrec) {
            if (!ack.waitsForMessage)
                completeAck(packetId, PacketType::Pubrec, status);
            return;
        }
    }
}

void Adapter::reportDropped(const Publish &publish, std::int64_t nowMs, const core::RouteOutcome &outcome)
{
    // Built again only when a rule reads $events/message_dropped: the broker took the first.
    if (!m_events || !m_events->wants(ClientEvents::Dropped))
        return;
    core::Message message = buildMessage(publish, nowMs);
    message.edit().id = outcome.messageId;
    m_events->messageDropped(message, "no_subscribers");
}

void Adapter::finishDelivery(bool (core::Session::*ack)(std::uint16_t, core::Delivery *),
                             std::uint16_t packetId)
{
    // The delivery is handed back only when a rule reads $events/message_acked.
    if (!m_events || !m_events->wants(ClientEvents::Acked)) {
        (m_session->*ack)(packetId, nullptr);
        return;
    }
    core::Delivery acked;
    if ((m_session->*ack)(packetId, &acked))
        m_events->messageAcked(m_protocol->clientId(), m_username, acked);
}

void Adapter::onPubResponse(const PubResponse &response)
{
    if (!m_session)
        return;
    switch (response.type) {
    case PacketType::Puback:
        finishDelivery(&core::Session::onPuback, response.packetId);
        break;
    case PacketType::Pubrec:
        if (!m_session->onPubrec(response.packetId, response.reasonCode >= 0x80)) {
            // Spec 4.3.3: answer an unknown PUBREC with PUBREL 0x92 so the client can finish.
            PubResponse rel;
            rel.type = PacketType::Pubrel;
            rel.packetId = response.packetId;
            rel.reasonCode = m_protocol->isV5() ? rc::PacketIdentifierNotFound : 0;
            m_protocol->send(rel);
        }
        break;
    case PacketType::Pubrel: {
        // The PUBCOMP frees the id on the client's side, so it waits until the id is gone from
        // storage too: else a restart could take the client's next message under that id for
        // a duplicate and drop it.
        const std::uint16_t packetId = response.packetId;
        const WeakSelf self = weakSelf();
        bool written = false;
        const bool known = m_session->removeInboundQos2(
            packetId,
            [self, packetId](core::PersistStatus) {
                if (Adapter *alive = self->adapter)
                    alive->completeAck(packetId, PacketType::Pubcomp, core::PersistStatus::Ok);
            },
            &written);
        queueAck(PacketType::Pubcomp, packetId, known ? rc::Success : rc::PacketIdentifierNotFound,
                 !written);
        break;
    }
    case PacketType::Pubcomp:
        finishDelivery(&core::Session::onPubcomp, response.packetId);
        break;
    default:
        break;
    }
}

void Adapter::onSubscribe(Subscribe &subscribe)
{
    if (!m_session)
        return;
    const bool v5 = m_protocol->isV5();
    const std::uint32_t identifier =
        subscribe.properties.subscriptionIdentifiers.isEmpty() ? 0 : subscribe.properties.subscriptionIdentifiers.first();
    Suback suback;
    suback.packetId = subscribe.packetId;
    struct Made {
        QByteArray filter;
        core::SubscriptionOptions options;
        bool isNew;
    };
    QVarLengthArray<Made, 4> made;
    for (const SubscriptionRequest &request : subscribe.subscriptions) {
        core::SharedSubscription shared;
        const core::ShareParse share = core::parseSharedSubscription(request.filter, &shared);
        const bool valid = share == core::ShareParse::Valid
                           || (share == core::ShareParse::NotShared && core::isValidTopicFilter(request.filter));
        if (!valid || !core::withinLevelLimit(request.filter, m_protocol->settings().maxTopicLevels)) {
            suback.reasonCodes.append(v5 ? rc::TopicFilterInvalid : 0x80);
            continue;
        }
        if (share == core::ShareParse::Valid && request.noLocal) {
            // Spec 3.8.3-4: No Local on a Shared Subscription is a Protocol Error.
            m_protocol->disconnect(rc::ProtocolError, "no local on a shared subscription");
            return;
        }
        core::SubscriptionOptions options;
        options.maxQos = request.maxQoS;
        options.noLocal = request.noLocal;
        options.retainAsPublished = request.retainAsPublished;
        options.retainHandling = request.retainHandling;
        options.identifier = identifier;
        const bool isNew = m_broker.subscribe(m_session, request.filter, options);
        made.append({request.filter, options, isNew});
        suback.reasonCodes.append(request.maxQoS);   // QoS 2 is supported: granted as asked
        if (m_events)
            m_events->sessionSubscribed(m_protocol->clientId(), m_username, m_protocol->peer(),
                                        request.filter, request.maxQoS);
    }
    m_protocol->send(suback);
    // Retained messages after SUBACK, as Mosquitto and EMQX order them.
    for (const Made &m : made)
        m_broker.deliverRetained(m_session, m.filter, m.options, m.isNew);
}

void Adapter::onUnsubscribe(Unsubscribe &unsubscribe)
{
    if (!m_session)
        return;
    Unsuback unsuback;
    unsuback.packetId = unsubscribe.packetId;
    for (const QByteArray &filter : unsubscribe.filters) {
        const bool removed = m_broker.unsubscribe(m_session, filter);
        unsuback.reasonCodes.append(removed ? rc::Success : rc::NoSubscriptionExisted);
        if (removed && m_events)
            m_events->sessionUnsubscribed(m_protocol->clientId(), m_username, m_protocol->peer(), filter);
    }
    m_protocol->send(unsuback);
}

void Adapter::onDisconnect(const Disconnect &disconnect)
{
    if (!m_session)
        return;
    if (const auto &expiry = disconnect.properties.sessionExpiryInterval) {
        // Spec 3.14.2-2: setting a non-zero expiry on DISCONNECT after CONNECT said 0 is a
        // Protocol Error.
        if (m_connectHadZeroExpiry && *expiry != 0) {
            m_protocol->disconnect(rc::ProtocolError, "session expiry set on DISCONNECT after 0");
            return;
        }
        m_session->setExpiryInterval(*expiry);
    }
    if (m_events && m_events->wants(ClientEvents::Disconnected) && disconnect.properties != Properties{})
        m_disconnectProperties = std::make_unique<Properties>(disconnect.properties);
}

void Adapter::onClosed(bool graceful, const char *reason)
{
    if (m_session)
        leaveSession(!graceful, reason);
}

void Adapter::leaveSession(bool publishWill, const char *reason)
{
    core::Session *session = m_session;
    m_session = nullptr;
    std::optional<core::Message> will;
    if (publishWill && m_will) {
        will = std::move(m_will);
        if (m_willExpiry != 0)
            will->edit().expiresAtMs = wallNowMs() + std::int64_t(m_willExpiry) * 1000 + std::int64_t(m_willDelay) * 1000;
    }
    m_will.reset();
    const QByteArray clientId = session->clientId();
    qCInfo(lcMqtt, "client_disconnected client_id=%s peer=%s reason=%s will=%d", clientId.constData(),
           m_protocol ? m_protocol->peer().constData() : "", reason, int(will.has_value()));
    m_broker.detachSession(session, std::move(will), m_willDelay);
    if (m_events) {
        static const QByteArray none;
        ClientEvents::ConnectionInfo info{m_protocol ? m_protocol->peer() : none};
        if (m_protocol) {
            info.protocolVersion = int(m_protocol->version());
            if (m_events->wants(ClientEvents::Disconnected))
                info.sockname = m_protocol->localAddress();
        }
        info.properties = m_disconnectProperties.get();
        m_events->clientDisconnected(clientId, m_username, info, reason);
        m_disconnectProperties.reset();
    }
}

bool Adapter::sendPublish(const core::Delivery &delivery, std::uint16_t packetId, bool dup)
{
    if (!m_protocol->sendPublish(delivery, packetId, dup, wallNowMs())) {
        ++m_broker.stats().messagesDropped;
        return false;
    }
    auto &stats = m_broker.stats();
    ++stats.messagesSent;
    ++stats.publishSent;
    if (!dup && m_events && m_events->wants(ClientEvents::Delivered))
        m_events->messageDelivered(m_protocol->clientId(), m_username, delivery);
    return true;
}

void Adapter::sendPubrel(std::uint16_t packetId)
{
    PubResponse rel;
    rel.type = PacketType::Pubrel;
    rel.packetId = packetId;
    m_protocol->send(rel);
}

void Adapter::sessionTakenOver()
{
    qCInfo(lcMqtt, "session_taken_over client_id=%s peer=%s", m_protocol->clientId().constData(),
           m_protocol->peer().constData());
    m_protocol->disconnect(rc::SessionTakenOver);
    if (m_session)
        leaveSession(true, "takenover");
}

} // namespace ferry::mqtt
