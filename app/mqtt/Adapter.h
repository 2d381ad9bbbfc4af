#pragma once
// Turns MQTT packets into broker calls, and broker deliveries into MQTT packets.
//
// One per connection. It is the PacketHandler of its ServerProtocol and the SessionOutput of
// the session it attaches to. All MQTT semantics above the packet stream live here: client
// id rules, clean start and session expiry, wills, QoS 1/2 exchanges, subscriptions and their
// reason codes.
#include "core/Broker.h"
#include "mqtt/PacketHandler.h"
#include "mqtt/ServerProtocol.h"

#include <QList>
#include <QSharedData>

#include <functional>
#include <memory>

namespace ferry::mqtt {

struct AdapterSettings {
    bool allowAnonymous = true;
    std::uint32_t maxConnections = 0;   // 0 = unlimited
};

// Client lifecycle and message notifications for rules ($events/...) and the dashboard.
//
// The message events (delivered, acked, dropped) would cost a call per message: the adapter
// asks wants() first, an inline read of a mask the implementation keeps current (the rule
// engine sets it on each load from whether any rule's FROM names the event), so with no rule
// reading an event, nothing is built or called.
class ClientEvents {
public:
    enum MessageEvent : unsigned {
        Delivered = 1u, Acked = 2u, Dropped = 4u,
        // Not per message, but the same mask tells the adapter whether to gather what only
        // these events use (the local address, the DISCONNECT properties).
        Connected = 8u, Disconnected = 16u
    };

    // What the client events carry beyond the identity. The strings and properties are
    // gathered only when the event is wanted (else empty / null).
    struct ConnectionInfo {
        explicit ConnectionInfo(const QByteArray &peerAddress) : peer(peerAddress) {}
        const QByteArray &peer;
        QByteArray sockname;              // local "address:port" (EMQX's sockname)
        int protocolVersion = 4;          // 3, 4 or 5
        const Properties *properties = nullptr;   // CONNECT's or DISCONNECT's (5.0), or null
    };

    virtual ~ClientEvents() = default;
    virtual void clientConnected(const QByteArray &clientId, const QByteArray &username,
                                 const ConnectionInfo &info, bool cleanStart, std::uint16_t keepAlive,
                                 std::uint32_t expiryInterval, std::uint16_t receiveMaximum) = 0;
    // info.properties: the DISCONNECT's (5.0), when the client sent one with properties.
    virtual void clientDisconnected(const QByteArray &clientId, const QByteArray &username,
                                    const ConnectionInfo &info, const char *reason) = 0;
    virtual void sessionSubscribed(const QByteArray &clientId, const QByteArray &username,
                                   const QByteArray &peer, const QByteArray &filter, int qos) = 0;
    virtual void sessionUnsubscribed(const QByteArray &clientId, const QByteArray &username,
                                     const QByteArray &peer, const QByteArray &filter) = 0;

    bool wants(MessageEvent e) const { return (m_wanted & e) != 0; }
    // A PUBLISH (not a resend) went to the receiver's connection. Called from inside the
    // session's delivery code: an implementation must not route messages from here.
    virtual void messageDelivered(const QByteArray &clientId, const QByteArray &username,
                                  const core::Delivery &delivery) = 0;
    // The receiver acknowledged a QoS 1 (PUBACK) or QoS 2 (PUBCOMP) delivery.
    virtual void messageAcked(const QByteArray &clientId, const QByteArray &username,
                              const core::Delivery &delivery) = 0;
    // A published message reached no session; reason is EMQX's ("no_subscribers").
    virtual void messageDropped(const core::Message &message, const char *reason) = 0;

protected:
    void setWanted(unsigned mask) { m_wanted = mask; }

private:
    unsigned m_wanted = 0;
};

class Adapter final : public PacketHandler, public core::SessionOutput {
public:
    Adapter(core::Broker &broker, const AdapterSettings &settings, ClientEvents *events);
    ~Adapter() override;
    void setProtocol(ServerProtocol *protocol) { m_protocol = protocol; }
    core::Broker &broker() const { return m_broker; }

    // PacketHandler
    void onConnect(Connect &connect) override;
    void onPublish(Publish &publish) override;
    void onPubResponse(const PubResponse &response) override;
    void onSubscribe(Subscribe &subscribe) override;
    void onUnsubscribe(Unsubscribe &unsubscribe) override;
    void onDisconnect(const Disconnect &disconnect) override;
    void onClosed(bool graceful, const char *reason) override;

    // core::SessionOutput
    bool sendPublish(const core::Delivery &delivery, std::uint16_t packetId, bool dup) override;
    void sendPubrel(std::uint16_t packetId) override;
    void sessionTakenOver() override;

private:
    void refuseConnect(std::uint8_t reasonV5, std::uint8_t returnCode311, const char *why);
    core::Message buildMessage(const Publish &publish, std::int64_t nowMs) const;
    std::uint8_t publishReasonCode(const core::RouteOutcome &outcome) const;
    void reportDropped(const Publish &publish, std::int64_t nowMs, const core::RouteOutcome &outcome);
    void leaveSession(bool publishWill, const char *reason);
    QByteArray assignClientId() const;
    // QoS 1/2 acknowledgements go out in the order the PUBLISH packets came (spec 4.6), also
    // when some wait for a storage commit and later ones do not.
    // waitsForMessage: a PUBREC whose message is being written too; the commit of its packet
    // id (written first) does not release it, the message's does.
    void queueAck(PacketType type, std::uint16_t packetId, std::uint8_t reason, bool ready,
                  bool waitsForMessage = false);
    void completeInboundId(std::uint16_t packetId, core::PersistStatus status);
    void completeAck(std::uint16_t packetId, PacketType type, core::PersistStatus status);
    void flushAcks();
    // PUBACK / PUBCOMP for an outgoing delivery: Session::onPuback or onPubcomp.
    void finishDelivery(bool (core::Session::*ack)(std::uint16_t, core::Delivery *),
                        std::uint16_t packetId);

    core::Broker &m_broker;
    AdapterSettings m_settings;
    ClientEvents *m_events;
    ServerProtocol *m_protocol = nullptr;
    core::Session *m_session = nullptr;
    QByteArray m_username;
    std::optional<core::Message> m_will;
    std::uint32_t m_willDelay = 0;
    std::uint32_t m_willExpiry = 0;
    bool m_connectHadZeroExpiry = false;
    // Kept from DISCONNECT to the close for $events/client_disconnected (disconn_props); only
    // when that event is wanted and the DISCONNECT had properties.
    std::unique_ptr<Properties> m_disconnectProperties;
    struct PendingAck {
        PubResponse response;
        bool ready;
        bool waitsForMessage;
    };
    // A QList: empty, it allocates nothing (a std::deque allocates ~0.5 KB when constructed,
    // for every idle connection).
    QList<PendingAck> m_acks;
    // Storage completions may arrive after this connection is gone: they hold a reference to
    // this block, whose pointer the destructor clears (a weak pointer in 8 B instead of a
    // std::shared_ptr's 16). Made by the first completion that needs it: an idle connection
    // allocates none. The count is atomic: a completion may be destroyed on the writer thread.
    struct SelfRef : QSharedData {
        explicit SelfRef(Adapter *a) : adapter(a) {}
        Adapter *adapter;   // null once the adapter is gone; read and cleared on its thread
    };
    using WeakSelf = QExplicitlySharedDataPointer<SelfRef>;
    WeakSelf weakSelf()
    {
        if (!m_self)
            m_self = WeakSelf(new SelfRef(this));
        return m_self;
    }
    WeakSelf m_self;
};

} // namespace ferry::mqtt
