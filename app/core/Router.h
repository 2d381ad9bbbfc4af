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
};

class Router {
public:
    Router();
    ~Router();

    // `filter` is the full text, "$share/g/f" included. Returns true when it is new for
    // this session (false: options replaced, spec 3.8.4-3).
    bool subscribe(Session *session, const QByteArray &filter, const SubscriptionOptions &options);
    bool unsubscribe(Session *session, const QByteArray &filter);
    // Removes every subscription of the session (its session ended).
    void removeSession(Session *session);
    // A member of shared groups went offline: moves its unacknowledged shared deliveries
    // to the other members (spec 4.8.2).
    void redistributeShared(Session *session);

    RouteOutcome route(const Message &message);
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
    void deliverTo(Session *session, Delivery &&delivery, RouteOutcome &outcome);

    TopicTree<quintptr, Target> m_tree;
    QHash<QByteArray, std::shared_ptr<SharedGroup>> m_groups;   // key: "group\0filter"
    qsizetype m_subscriptionCount = 0;
    std::vector<Match> m_scratch;          // reused per route(): no allocation per message
    std::vector<SharedGroup *> m_groupScratch;
};

} // namespace ferry::core
