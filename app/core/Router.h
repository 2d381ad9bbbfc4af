#pragma once
// Matches a message's topic against every subscription and hands one Delivery to each
// matching session (spec 3.3.4: overlapping subscriptions give one copy at the highest QoS
// with all subscription identifiers), and one to a member of each matching shared group.
#include "core/Delivery.h"
#include "core/SharedGroup.h"
#include "core/Subscription.h"
#include "core/TopicTree.h"

#include <QHash>

#include <memory>
#include <vector>

namespace ferry::core {

class Session;

struct RouteOutcome {
    int receivers = 0;   // sessions handed the message
    int refused = 0;     // sessions whose queue refused it (overflow policy "refuse")
    bool durablePending = false;   // the completion given to Broker::publish will run later
    std::uint64_t messageId = 0;   // the id Broker::publish gave the message
};

// One delivery the router decided on; the Broker stores (if durable) and enqueues it.
struct Routed {
    Session *session;
    Delivery delivery;
    Session *from = nullptr;   // set for a shared delivery handed over from a leaving member
};

class Router {
public:
    Router();
    ~Router();

    // `filter` is the full text, "$share/g/f" included. Returns true when it is new for
    // this session (false: options replaced, spec 3.8.4-3).
    bool subscribe(Session *session, const QByteArray &filter, const SubscriptionOptions &options);
    // A shared member leaving hands its unacknowledged deliveries to the others: they are
    // appended to `orphans` with their new receiver (spec 4.8.2).
    bool unsubscribe(Session *session, const QByteArray &filter, std::vector<Routed> &orphans);
    // Removes every subscription of the session (its session ended).
    void removeSession(Session *session, std::vector<Routed> &orphans);
    // A member of shared groups went offline: its unacknowledged shared deliveries go to the
    // other members (spec 4.8.2).
    void redistributeShared(Session *session, std::vector<Routed> &orphans);

    // Appends one Routed per receiving session (overlapping subscriptions merged) and one per
    // matching shared group to `out`.
    void route(const Message &message, std::vector<Routed> &out);
    qsizetype subscriptionCount() const { return m_subscriptionCount; }

private:
    struct Target {
        Session *session = nullptr;      // set for a plain subscription
        SharedGroup *group = nullptr;    // set for a shared subscription
        SubscriptionOptions options;
    };
    struct Match {
        Session *session;
        const SubscriptionOptions *options;
    };
    void handOver(SharedGroup &group, Session *leaving, std::vector<Routed> &orphans);

    TopicTree<quintptr, Target> m_tree;
    QHash<QByteArray, std::shared_ptr<SharedGroup>> m_groups;   // key: "group\0filter"
    qsizetype m_subscriptionCount = 0;
    std::vector<Match> m_scratch;          // reused per route(): no allocation per message
    std::vector<SharedGroup *> m_groupScratch;
};

} // namespace ferry::core
