#pragma once
// RetainedStore: the last retained message of each topic, in memory (storage/ persists it).
//
// Topics are kept in a trie of their levels so that a new subscription's filter, wildcards and
// all, is answered by walking only the matching branches instead of testing every stored topic.
// All walks are iterative: a topic with thousands of levels costs heap, not stack depth.
//
// Contract: topics are valid topic names and filters valid non-shared filters (see Topic.h).
// Not thread-safe. A visitor must not modify the store it is visiting.

#include "core/Message.h"

#include <QByteArrayView>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace ferry::core {

class RetainedStore {
public:
    RetainedStore();
    ~RetainedStore();
    RetainedStore(const RetainedStore &) = delete;
    RetainedStore &operator=(const RetainedStore &) = delete;

    // Stores m as the retained message of m.topic(), replacing any previous one. An empty
    // payload removes it instead: "If the Payload contains zero bytes it is processed normally
    // by the Server but any retained message with the same topic name MUST be removed"
    // [MQTT-3.3.1-6] and "A zero length retained message MUST NOT be stored as a retained
    // message on the Server" [MQTT-3.3.1-7] (3.1.1: MQTT-3.3.1-10/11).
    // Returns whether the store changed (false: an empty payload for a topic with nothing
    // retained).
    bool set(const Message &m);

    // The retained message of exactly this topic, unless it has expired at nowMs
    // (nowMs = 0: do not check expiry).
    std::optional<Message> get(QByteArrayView topic, std::int64_t nowMs = 0) const;

    // Visits every retained message whose topic matches the filter and that has not expired
    // at nowMs (nowMs = 0: do not check expiry), honouring [MQTT-4.7.2-1] ("#" and "+/..."
    // never reveal "$SYS/..." topics). Order is unspecified.
    void match(QByteArrayView filter, const std::function<void(const Message &)> &visit,
               std::int64_t nowMs = 0) const;

    // Visits every stored message, expired or not (snapshots, diagnostics).
    void forEach(const std::function<void(const Message &)> &visit) const;

    // Drops every message expired at nowMs; returns how many were dropped.
    qsizetype removeExpired(std::int64_t nowMs);

    qsizetype count() const { return count_; }
    void clear();

private:
    struct Node;
    Node *lookup(QByteArrayView topic) const;
    void prune(Node *n);

    std::unique_ptr<Node> root_;
    qsizetype count_ = 0;
};

} // namespace ferry::core
