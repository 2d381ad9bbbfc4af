#pragma once
// One MQTT 5 shared subscription group: `$share/<name>/<filter>` (spec 4.8.2). Each message
// matching the filter goes to one member, chosen round robin, preferring members online.
#include "core/Subscription.h"

#include <QByteArray>

#include <vector>

namespace ferry::core {

class Session;

struct SharedGroup {
    struct Member {
        Session *session;
        SubscriptionOptions options;
    };
    QByteArray name;
    QByteArray filter;
    std::vector<Member> members;
    std::size_t next = 0;

    // The member for the next message: the next online one in turn, else the next one in
    // turn (an offline persistent member queues it), or nullptr when the group is empty.
    const Member *pick();
};

} // namespace ferry::core
