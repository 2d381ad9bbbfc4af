#pragma once
// The server side of one MQTT connection, without I/O (sans-I/O, like async_mqtt's
// rv_connection): bytes, timer firings and the close notice go in; bytes to send, timers to
// arm and packets for the adapter come out through ProtocolSink and PacketHandler.
//
// It enforces what the specification asks of the packet stream itself: CONNECT first and
// only once, keep alive, topic aliases in both directions, the Receive Maximum the server
// advertised, the client's Maximum Packet Size, packets only a server may send, and which
// errors close the connection with which reason code. What packets mean for sessions and
// messages is the adapter's business.
#include "core/Delivery.h"
#include "mqtt/PacketHandler.h"
#include "mqtt/ProtocolSettings.h"
#include "mqtt/ProtocolSink.h"
#include "mqtt/codec/Decoder.h"

#include <QHash>
#include <QSet>

namespace ferry::mqtt {

class ServerProtocol {
public:
    ServerProtocol(ProtocolSink &sink, PacketHandler &handler, const ProtocolSettings &settings,
                   QByteArray peer);
    // With settings shared by the listener's connections (what Connection uses).
    ServerProtocol(ProtocolSink &sink, PacketHandler &handler, SharedProtocolSettings settings,
                   QByteArray peer);

    // ---- input ------------------------------------------------------------------------
    void start();
    void receive(const char *data, qsizetype size, std::int64_t monotonicNowMs);
    void timerFired(ProtocolTimer timer, std::int64_t monotonicNowMs);
    // The transport is closed (by either side). Calls PacketHandler::onClosed once.
    void transportClosed();

    // ---- output, called by the adapter ------------------------------------------------------
    // Sends CONNACK. Adds the server's capabilities (5.0). A failure code closes the connection.
    void sendConnack(Connack &connack, std::uint16_t effectiveKeepAlive);
    // Encodes and sends a PUBLISH for a delivery (topic alias, expiry left, subscription
    // identifiers). Returns false, sending nothing, when it exceeds the client's Maximum Packet
    // Size (spec 3.1.2-25: discarded as if delivered) or when QoS 0 is shed for backlog.
    bool sendPublish(const core::Delivery &delivery, std::uint16_t packetId, bool dup,
                     std::int64_t wallNowMs);
    // Any other packet. Honours Request Problem Information and the client's size limit.
    void send(const Packet &packet);
    // Server-initiated close: DISCONNECT with the reason code (5.0, once connected), then close.
    void disconnect(std::uint8_t reasonCode, const QByteArray &reasonString = {});

    // ---- state ---------------------------------------------------------------------------
    enum class State { AwaitConnect, Connected, Closing, Closed };
    State state() const { return m_state; }
    ProtocolVersion version() const { return m_version; }
    bool isV5() const { return m_version == ProtocolVersion::V5; }
    const QByteArray &peer() const { return m_peer; }
    QByteArray localAddress() const { return m_sink.localAddress(); }   // computed, not kept
    void setClientId(const QByteArray &clientId) { m_clientId = clientId; }
    const QByteArray &clientId() const { return m_clientId; }
    std::uint16_t clientReceiveMaximum() const { return m_clientReceiveMaximum; }
    const ProtocolSettings &settings() const { return m_settings.get(); }

private:
    const char *closeReason() const;
    void handlePacket(Packet &packet);
    void handleConnect(Connect &connect);
    void handlePublish(Publish &publish);
    void handleDecodeError(const DecodeError &error);
    void protocolError(std::uint8_t reasonCode, const char *what);
    void closeNow();
    void sendRaw(const QByteArray &bytes);
    void noteAckSent(const PubResponse &response);

    ProtocolSink &m_sink;
    PacketHandler &m_handler;
    SharedProtocolSettings m_settings;
    QByteArray m_peer;
    QByteArray m_clientId;
    Decoder m_decoder;
    State m_state = State::AwaitConnect;
    ProtocolVersion m_version = ProtocolVersion::V311;
    bool m_closedNotified = false;
    bool m_gracefulDisconnect = false;
    bool m_clientDisconnected = false;   // the client sent DISCONNECT
    std::uint8_t m_serverReason = 0;     // the reason code we closed with, 0 if we did not

    // Keep alive: the time of the last packet, checked when the timer fires (re-arming a timer
    // per packet would cost more than the packet).
    std::int64_t m_lastPacketMs = 0;
    std::int64_t m_keepAliveLimitMs = 0;

    // What the client asked for in CONNECT (5.0).
    std::uint16_t m_clientReceiveMaximum = 65535;
    std::uint32_t m_clientMaxPacketSize = 0;   // 0 = no limit
    std::uint16_t m_clientTopicAliasMaximum = 0;
    bool m_requestProblemInformation = true;

    QHash<std::uint16_t, QByteArray> m_inboundAliases;
    QHash<QByteArray, std::uint16_t> m_outboundAliases;
    // QoS 1/2 PUBLISH ids received and not yet completed on this connection (spec 4.9).
    QSet<std::uint16_t> m_inboundOpen;
};

} // namespace ferry::mqtt
