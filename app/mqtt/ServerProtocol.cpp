#include "mqtt/ServerProtocol.h"

#include "core/Topic.h"
#include "mqtt/codec/Encoder.h"
#include "mqtt/codec/ReasonCode.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcMqtt, "ferry.mqtt")

namespace ferry::mqtt {

namespace {
// MQTT 3.1.1 CONNACK "unacceptable protocol version", sent for a level we do not speak
// (spec 3.1.2-2): 0x20 CONNACK, remaining length 2, no session, return code 1.
const char kConnackBadVersion311[] = {0x20, 0x02, 0x00, 0x01};

PacketType firstByteType(char byte) { return PacketType(std::uint8_t(byte) >> 4); }

template <class T, class = void> struct HasProperties : std::false_type {};
template <class T>
struct HasProperties<T, std::void_t<decltype(std::declval<T &>().properties)>> : std::true_type {};
} // namespace

ServerProtocol::ServerProtocol(ProtocolSink &sink, PacketHandler &handler,
                               const ProtocolSettings &settings, QByteArray peer)
    : ServerProtocol(sink, handler, SharedProtocolSettings(settings), std::move(peer))
{
}

ServerProtocol::ServerProtocol(ProtocolSink &sink, PacketHandler &handler,
                               SharedProtocolSettings settings, QByteArray peer)
    : m_sink(sink), m_handler(handler), m_settings(std::move(settings)), m_peer(std::move(peer)),
      m_decoder(m_settings.get().maxPacketSize)
{
}

void ServerProtocol::start()
{
    m_sink.armTimer(ProtocolTimer::Connect, int(settings().connectTimeoutMs));
}

void ServerProtocol::receive(const char *data, qsizetype size, std::int64_t monotonicNowMs)
{
    if (m_state != State::AwaitConnect && m_state != State::Connected)
        return;   // closing: nothing more from this peer matters
    if (size <= 0)
        return;
    // The first packet must be CONNECT (spec 3.1.0-1). Checked on the very first byte, so a
    // stranger announcing a huge packet of another type costs nothing (CVE-2017-7651).
    if (m_state == State::AwaitConnect && m_decoder.bufferedBytes() == 0
        && firstByteType(data[0]) != PacketType::Connect) {
        qCWarning(lcMqtt, "protocol_error peer=%s reason=first packet is not CONNECT",
                  m_peer.constData());
        closeNow();
        return;
    }
    m_decoder.feed(data, size);
    Packet packet;
    DecodeError error;
    while (m_state == State::AwaitConnect || m_state == State::Connected) {
        switch (m_decoder.next(packet, error)) {
        case Decoder::Status::NeedMore:
            return;
        case Decoder::Status::Error:
            handleDecodeError(error);
            return;
        case Decoder::Status::Packet:
            // Spec 3.1.2-22 counts Control Packets, not bytes: a packet trickled in a byte at
            // a time does not keep the connection alive until it is complete.
            m_lastPacketMs = monotonicNowMs;
            handlePacket(packet);
            break;
        }
    }
}

void ServerProtocol::timerFired(ProtocolTimer timer, std::int64_t monotonicNowMs)
{
    if (m_state != State::AwaitConnect && m_state != State::Connected)
        return;
    if (timer == ProtocolTimer::Connect) {
        if (m_state == State::AwaitConnect) {
            qCInfo(lcMqtt, "connect_timeout peer=%s", m_peer.constData());
            closeNow();
        }
        return;
    }
    // Spec 3.1.2-22: no packet within one and a half times the Keep Alive -> close, as if
    // the network failed (the will is sent).
    const std::int64_t idle = monotonicNowMs - m_lastPacketMs;
    if (idle >= m_keepAliveLimitMs) {
        qCInfo(lcMqtt, "keepalive_timeout client_id=%s peer=%s", m_clientId.constData(),
               m_peer.constData());
        disconnect(rc::KeepAliveTimeout);
        return;
    }
    m_sink.armTimer(ProtocolTimer::KeepAlive, int(m_keepAliveLimitMs - idle));
}

void ServerProtocol::transportClosed()
{
    m_state = State::Closed;
    m_sink.cancelTimer(ProtocolTimer::Connect);
    m_sink.cancelTimer(ProtocolTimer::KeepAlive);
    if (m_closedNotified)
        return;
    m_closedNotified = true;
    m_handler.onClosed(m_gracefulDisconnect, closeReason());
}

const char *ServerProtocol::closeReason() const
{
    if (m_clientDisconnected)
        return "normal";
    switch (m_serverReason) {
    case 0:
        return "tcp_closed";
    case rc::KeepAliveTimeout:
        return "keepalive_timeout";
    case rc::SessionTakenOver:
        return "takenover";
    case rc::PacketTooLarge:
        return "frame_too_large";
    case rc::ServerShuttingDown:
        return "shutdown";
    default:
        return "protocol_error";
    }
}

void ServerProtocol::handleDecodeError(const DecodeError &error)
{
    qCWarning(lcMqtt, "malformed_packet client_id=%s peer=%s reason_code=0x%02x offset=%lld what=%s",
              m_clientId.constData(), m_peer.constData(), error.reasonCode,
              static_cast<long long>(error.offset), error.message.constData());
    if (m_state == State::AwaitConnect) {
        // An error inside CONNECT: answer in the client's own dialect where we know it.
        if (error.reasonCode == rc::UnsupportedProtocolVersion && error.connectProtocolLevel != 5) {
            m_sink.sendBytes(QByteArray::fromRawData(kConnackBadVersion311, 4));
        } else if (error.connectProtocolLevel == 5) {
            m_version = ProtocolVersion::V5;
            Connack connack;
            connack.reasonCode = error.reasonCode;
            sendRaw(encode(connack, m_version));
        }
        closeNow();
        return;
    }
    disconnect(error.reasonCode);
}

void ServerProtocol::protocolError(std::uint8_t reasonCode, const char *what)
{
    disconnect(reasonCode, QByteArray(what));
}

void ServerProtocol::handlePacket(Packet &packet)
{
    const PacketType type = packetType(packet);
    if (m_state == State::AwaitConnect && type != PacketType::Connect) {
        closeNow();
        return;
    }
    switch (type) {
    case PacketType::Connect:
        if (m_state != State::AwaitConnect) {
            // Spec 3.1.0-2: a second CONNECT is a Protocol Error.
            protocolError(rc::ProtocolError, "second CONNECT");
            return;
        }
        handleConnect(std::get<Connect>(packet));
        return;
    case PacketType::Publish:
        handlePublish(std::get<Publish>(packet));
        return;
    case PacketType::Puback:
    case PacketType::Pubrec:
    case PacketType::Pubrel:
    case PacketType::Pubcomp:
        m_handler.onPubResponse(std::get<PubResponse>(packet));
        return;
    case PacketType::Subscribe:
        m_handler.onSubscribe(std::get<Subscribe>(packet));
        return;
    case PacketType::Unsubscribe:
        m_handler.onUnsubscribe(std::get<Unsubscribe>(packet));
        return;
    case PacketType::Pingreq:
        send(Pingresp{});
        return;
    case PacketType::Disconnect: {
        const Disconnect &d = std::get<Disconnect>(packet);
        m_handler.onDisconnect(d);
        // The adapter may have refused it (spec 3.14.2.2.2: then it is not a valid DISCONNECT
        // and the will stands). Only Normal disconnection (0x00, and every 3.1.1 DISCONNECT)
        // discards the will (3.14.4-3, 3.1.2-8); 0x04 and the error codes leave it to be sent.
        // (Mosquitto 2.0 discards it for every code but 0x04; the specification does not.)
        if (m_state == State::Connected) {
            m_gracefulDisconnect = d.reasonCode == rc::Success;
            m_clientDisconnected = true;
            m_state = State::Closing;
            m_sink.closeTransport();
        }
        return;
    }
    case PacketType::Auth:
        // Enhanced authentication is not offered: CONNECT carrying an Authentication Method
        // is refused with 0x8C, so any AUTH afterwards is a Protocol Error (spec 4.12-...).
        protocolError(rc::ProtocolError, "AUTH without an authentication method");
        return;
    case PacketType::Connack:
    case PacketType::Suback:
    case PacketType::Unsuback:
    case PacketType::Pingresp:
        // Only a server sends these (CVE-2021-28166: a client sending CONNACK to Mosquitto).
        protocolError(rc::ProtocolError, "packet only a server may send");
        return;
    }
}

void ServerProtocol::handleConnect(Connect &connect)
{
    m_sink.cancelTimer(ProtocolTimer::Connect);
    m_version = connect.version == ProtocolVersion::V5 ? ProtocolVersion::V5 : ProtocolVersion::V311;
    m_decoder.setVersion(m_version);
    if (m_version == ProtocolVersion::V5) {
        const Properties &p = connect.properties;
        m_clientReceiveMaximum = p.receiveMaximum.value_or(65535);
        m_clientMaxPacketSize = p.maximumPacketSize.value_or(0);
        m_clientTopicAliasMaximum = p.topicAliasMaximum.value_or(0);
        m_requestProblemInformation = p.requestProblemInformation.value_or(1) != 0;
    }
    m_clientId = connect.clientId;
    m_handler.onConnect(connect);
}

void ServerProtocol::sendConnack(Connack &connack, std::uint16_t effectiveKeepAlive)
{
    if (m_version == ProtocolVersion::V5) {
        Properties &p = connack.properties;
        if (connack.reasonCode == rc::Success) {
            // Advertise what differs from the defaults a client assumes (spec 3.2.2.3).
            if (settings().receiveMaximum != 65535)
                p.receiveMaximum = settings().receiveMaximum;
            if (settings().maxPacketSize < Decoder::ProtocolMaxPacketSize)
                p.maximumPacketSize = settings().maxPacketSize;
            if (settings().maxTopicAlias != 0)
                p.topicAliasMaximum = settings().maxTopicAlias;
        }
        if (!m_requestProblemInformation) {
            // CONNACK may carry a reason string even then (spec 3.1.2-29 names only others),
            // so nothing is stripped here.
        }
    }
    sendRaw(encode(connack, m_version));
    if (connack.reasonCode != rc::Success) {
        m_state = State::Closing;
        m_sink.closeTransport();
        return;
    }
    m_state = State::Connected;
    if (effectiveKeepAlive != 0) {
        m_keepAliveLimitMs = std::int64_t(effectiveKeepAlive) * 1500;
        m_sink.armTimer(ProtocolTimer::KeepAlive, int(m_keepAliveLimitMs));
    }
}

void ServerProtocol::handlePublish(Publish &publish)
{
    if (m_version == ProtocolVersion::V5) {
        Properties &p = publish.properties;
        if (!p.subscriptionIdentifiers.isEmpty()) {
            // Spec 3.3.4-6: a PUBLISH from a Client MUST NOT contain a Subscription Identifier.
            protocolError(rc::ProtocolError, "subscription identifier in PUBLISH from client");
            return;
        }
        if (p.responseTopic && !core::isValidTopicName(*p.responseTopic)) {
            // Spec 3.3.2-14: the Response Topic MUST NOT contain wildcard characters.
            protocolError(rc::ProtocolError, "response topic is not a valid topic name");
            return;
        }
        if (p.topicAlias) {
            const std::uint16_t alias = *p.topicAlias;
            // Spec 3.3.2-8/9: 0 or above our Topic Alias Maximum is a Topic Alias invalid.
            if (alias == 0 || alias > settings().maxTopicAlias) {
                protocolError(rc::TopicAliasInvalid, "topic alias out of range");
                return;
            }
            if (publish.topic.isEmpty()) {
                auto it = m_inboundAliases.constFind(alias);
                if (it == m_inboundAliases.constEnd()) {
                    protocolError(rc::ProtocolError, "unknown topic alias");
                    return;
                }
                publish.topic = *it;
            } else {
                m_inboundAliases.insert(alias, publish.topic);
            }
            p.topicAlias.reset();
        }
    }
    if (!core::withinLevelLimit(publish.topic, settings().maxTopicLevels)) {
        protocolError(rc::TopicNameInvalid, "topic has too many levels");
        return;
    }
    if (publish.qos > 0 && !m_inboundOpen.contains(publish.packetId)) {
        // Spec 3.3.4-9 (4.9): more unacknowledged QoS 1/2 PUBLISH than our Receive Maximum.
        // MQTT 3.1.1 has no Receive Maximum: such a client was never told a limit, and the
        // packet id space bounds what it can have open (Mosquitto does not limit it either).
        if (m_version == ProtocolVersion::V5 && m_inboundOpen.size() >= settings().receiveMaximum) {
            protocolError(rc::ReceiveMaximumExceeded, "receive maximum exceeded");
            return;
        }
        m_inboundOpen.insert(publish.packetId);
    }
    m_handler.onPublish(publish);
}

bool ServerProtocol::sendPublish(const core::Delivery &delivery, std::uint16_t packetId, bool dup,
                                 std::int64_t wallNowMs)
{
    if (m_state != State::Connected)
        return false;
    if (delivery.qos == 0 && m_sink.pendingOutputBytes() > settings().maxQos0Backlog)
        return false;   // a reader that does not read: shed QoS 0 rather than grow memory

    const core::MessageData &m = delivery.message.data();
    const bool v5 = m_version == ProtocolVersion::V5;
    // Cacheable: the bytes depend only on (version, qos, retain) - no per-receiver fields.
    const bool cacheable = !dup && delivery.subscriptionIds.isEmpty() && m.expiresAtMs == 0
                           && m_clientTopicAliasMaximum == 0;
    const std::uint32_t key = std::uint32_t(m_version) | (std::uint32_t(delivery.qos) << 8)
                              | (std::uint32_t(delivery.retain) << 10);
    QByteArray bytes;
    qsizetype idOffset = -1;
    std::uint16_t newAlias = 0;   // recorded only once the PUBLISH is really sent
    if (cacheable) {
        for (const auto &form : m.wireCache) {
            if (form.key == key) {
                bytes = form.bytes;
                break;
            }
        }
    }
    if (bytes.isEmpty()) {
        Publish p;
        p.qos = delivery.qos;
        p.retain = delivery.retain;
        p.dup = dup;
        p.topic = m.topic;
        p.payload = m.payload;
        p.packetId = delivery.qos > 0 ? 1 : 0;   // patched below
        if (v5) {
            Properties &props = p.properties;
            props.payloadFormatIndicator = m.payloadFormat;
            if (auto left = delivery.message.remainingExpirySeconds(wallNowMs))
                props.messageExpiryInterval = *left;
            props.contentType = m.contentType;
            props.responseTopic = m.responseTopic;
            props.correlationData = m.correlationData;
            props.userProperties = m.userProperties;
            props.subscriptionIdentifiers = delivery.subscriptionIds;
            if (m_clientTopicAliasMaximum != 0) {
                auto it = m_outboundAliases.constFind(m.topic);
                if (it != m_outboundAliases.constEnd()) {
                    props.topicAlias = *it;
                    p.topic.clear();
                } else if (m_outboundAliases.size() < m_clientTopicAliasMaximum) {
                    newAlias = std::uint16_t(m_outboundAliases.size() + 1);
                    props.topicAlias = newAlias;
                }
            }
        }
        EncodedPublish encoded = encodePublish(p, m_version);
        bytes = std::move(encoded.bytes);
        idOffset = encoded.packetIdOffset;
        if (cacheable && m.wireCache.size() < 4)
            m.wireCache.append({key, bytes});
    } else if (delivery.qos > 0) {
        // Same layout as when it was encoded: fixed header, remaining length, topic, id.
        idOffset = -2;
    }
    if (m_clientMaxPacketSize != 0 && std::uint64_t(bytes.size()) > m_clientMaxPacketSize) {
        qCInfo(lcMqtt, "publish_too_large_for_client client_id=%s size=%lld max=%u",
               m_clientId.constData(), static_cast<long long>(bytes.size()), m_clientMaxPacketSize);
        return false;   // spec 3.3.2.3.4: an alias it would have set is unknown to the client
    }
    if (newAlias != 0)
        m_outboundAliases.insert(m.topic, newAlias);
    if (delivery.qos > 0) {
        if (idOffset == -2) {
            // Recompute where the packet id sits in a cached encoding.
            qsizetype pos = 1;
            while (std::uint8_t(bytes.at(pos)) & 0x80)
                ++pos;
            ++pos;
            const qsizetype topicLength = (std::uint8_t(bytes.at(pos)) << 8) | std::uint8_t(bytes.at(pos + 1));
            idOffset = pos + 2 + topicLength;
        }
        patchPacketId(bytes, idOffset, packetId);   // detaches from the cached copy
        if (dup)
            setDupFlag(bytes);
    }
    sendRaw(bytes);
    return true;
}

void ServerProtocol::noteAckSent(const PubResponse &response)
{
    switch (response.type) {
    case PacketType::Puback:
    case PacketType::Pubcomp:
        m_inboundOpen.remove(response.packetId);
        break;
    case PacketType::Pubrec:
        if (response.reasonCode >= 0x80)
            m_inboundOpen.remove(response.packetId);
        break;
    default:
        break;
    }
}

void ServerProtocol::send(const Packet &packet)
{
    if (m_state != State::Connected && m_state != State::AwaitConnect)
        return;
    if (const auto *response = std::get_if<PubResponse>(&packet))
        noteAckSent(*response);
    if (m_version == ProtocolVersion::V5) {
        const PacketType type = packetType(packet);
        const bool mayCarryProblemInfo = type == PacketType::Publish || type == PacketType::Connack
                                         || type == PacketType::Disconnect;
        // Spec 3.1.2-29: with Request Problem Information 0, no Reason String or User
        // Properties on anything but PUBLISH, CONNACK or DISCONNECT.
        QByteArray bytes = encode(packet, m_version);
        if ((!m_requestProblemInformation && !mayCarryProblemInfo)
            || (m_clientMaxPacketSize != 0 && std::uint64_t(bytes.size()) > m_clientMaxPacketSize)) {
            Packet stripped = packet;
            std::visit(
                [](auto &p) {
                    if constexpr (HasProperties<std::decay_t<decltype(p)>>::value) {
                        p.properties.reasonString.reset();
                        p.properties.userProperties.clear();
                    }
                },
                stripped);
            bytes = encode(stripped, m_version);
            if (m_clientMaxPacketSize != 0 && std::uint64_t(bytes.size()) > m_clientMaxPacketSize)
                return;   // spec 3.1.2-24: never send a packet larger than the client allows
        }
        sendRaw(bytes);
        return;
    }
    sendRaw(encode(packet, m_version));
}

void ServerProtocol::disconnect(std::uint8_t reasonCode, const QByteArray &reasonString)
{
    if (m_state == State::Closing || m_state == State::Closed)
        return;
    m_serverReason = reasonCode;
    if (reasonCode >= 0x80 && reasonCode != rc::SessionTakenOver && reasonCode != rc::ServerShuttingDown)
        qCWarning(lcMqtt, "server_disconnect client_id=%s peer=%s reason_code=0x%02x what=%s",
                  m_clientId.constData(), m_peer.constData(), reasonCode,
                  reasonString.isEmpty() ? "-" : reasonString.constData());
    if (m_state == State::Connected && m_version == ProtocolVersion::V5) {
        Disconnect d;
        d.reasonCode = reasonCode;
        if (!reasonString.isEmpty())
            d.properties.reasonString = reasonString;
        // Through send(): it drops the reason string when the client's Maximum Packet Size
        // would be exceeded (spec 3.14.2-3).
        send(d);
    }
    closeNow();
}

void ServerProtocol::closeNow()
{
    m_state = State::Closing;
    m_sink.cancelTimer(ProtocolTimer::Connect);
    m_sink.cancelTimer(ProtocolTimer::KeepAlive);
    m_sink.closeTransport();
}

void ServerProtocol::sendRaw(const QByteArray &bytes)
{
    if (!bytes.isEmpty())
        m_sink.sendBytes(bytes);
}

} // namespace ferry::mqtt
