#pragma once
// core::Persistence over a storage::Store: how the broker's sessions, deliveries, retained
// messages and wills map onto durable queues and tables.
//
// Mapping. A persistent MQTT session "c" owns the queue "mqtt:c" (QueueKind::MqttSession);
// each QoS 1/2 delivery to it is one entry whose EntryMeta carries what differs per receiver
// (QoS, RETAIN flag, subscription identifiers and share group, in `tag`). Subscription options
// are packed into the options word like the MQTT 5 options byte.
//
// Threads: the broker's only, like the Store.
#include "core/Persistence.h"
#include "storage/Store.h"

namespace ferry::storage {

class StorePersistence final : public core::Persistence {
public:
    explicit StorePersistence(Store &store);

    // Reads what the store holds for Broker::restore. Sessions whose expiry passed while the
    // broker was down, and sessions that should have ended with their connection, are deleted
    // instead of returned. Returns false (and *error) when the store cannot be read.
    bool load(std::int64_t nowMs, QList<core::RestoredSession> *sessions,
              QList<core::Message> *retained, QList<core::RestoredWill> *wills, QString *error);

    void saveSession(core::Session &session, std::int64_t disconnectedAtMs) override;
    void endSession(core::Session &session) override;
    void saveSubscription(core::Session &session, const QByteArray &filter,
                          const core::SubscriptionOptions &options) override;
    void deleteSubscription(core::Session &session, const QByteArray &filter) override;
    QList<std::uint64_t> append(const QList<core::DurableTarget> &targets,
                                const core::Message &message, core::PersistDone done) override;
    void markInflight(core::Session &session, std::uint64_t seq, std::uint16_t packetId,
                      core::PersistDone done) override;
    void markReleased(core::Session &session, std::uint64_t seq, std::uint16_t packetId,
                      core::PersistDone done) override;
    void addInboundQos2(core::Session &session, std::uint16_t packetId,
                        core::PersistDone done) override;
    void removeInboundQos2(core::Session &session, std::uint16_t packetId,
                           core::PersistDone done) override;
    void remove(core::Session &session, std::uint64_t seq) override;
    void setRetained(const core::Message &message, core::PersistDone done) override;
    void saveWill(const QByteArray &clientId, const core::Message &will,
                  std::int64_t publishAtMs) override;
    void deleteWill(const QByteArray &clientId) override;

    // Pure helpers, public for the unit test.
    static std::uint32_t encodeOptions(const core::SubscriptionOptions &options);
    static core::SubscriptionOptions decodeOptions(std::uint32_t word, std::uint32_t identifier);

private:
    std::uint64_t queueOf(core::Session &session);

    Store &m_store;
};

} // namespace ferry::storage
