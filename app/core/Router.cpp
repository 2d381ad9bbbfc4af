#include "core/Router.h"

#include "core/Session.h"
#include "core/Topic.h"

#include <algorithm>

namespace ferry::core {

namespace {
QByteArray groupKey(const SharedSubscription &shared)
{
    QByteArray key;
    key.reserve(shared.group.size() + 1 + shared.filter.size());
    key.append(shared.group).append('\0').append(shared.filter);
    return key;
}
} // namespace

Router::Router() = default;
Router::~Router() = default;

bool Router::subscribe(Session *session, const QByteArray &filter, const SubscriptionOptions &options)
{
    SharedSubscription shared;
    if (parseSharedSubscription(filter, &shared) == ShareParse::Valid) {
        auto &group = m_groups[groupKey(shared)];
        if (!group) {
            group = std::make_shared<SharedGroup>();
            group->name = shared.group;
            group->filter = shared.filter;
            m_tree.insert(shared.filter, quintptr(group.get()), Target{nullptr, group.get(), {}});
        }
        for (auto &member : group->members) {
            if (member.session == session) {
                member.options = options;
                return false;
            }
        }
        group->members.push_back({session, options});
        ++m_subscriptionCount;
        return true;
    }
    const bool isNew = m_tree.insert(filter, quintptr(session), Target{session, nullptr, options});
    if (isNew)
        ++m_subscriptionCount;
    return isNew;
}

void Router::handOver(SharedGroup &group, Session *leaving, std::vector<Routed> &orphans)
{
    std::vector<Delivery> taken = leaving->takeSharedDeliveries(group.name);
    for (Delivery &d : taken) {
        const SharedGroup::Member *m = group.pick();
        if (!m || m->session == leaving) {
            // Nobody else can take it: it stays with the leaving member's session.
            orphans.push_back({leaving, std::move(d), leaving});
            continue;
        }
        d.qos = std::min(d.message.qos(), m->options.maxQos);
        d.subscriptionIds.clear();
        if (m->options.identifier != 0)
            d.subscriptionIds.append(m->options.identifier);
        orphans.push_back({m->session, std::move(d), leaving});
    }
}

bool Router::unsubscribe(Session *session, const QByteArray &filter, std::vector<Routed> &orphans)
{
    SharedSubscription shared;
    if (parseSharedSubscription(filter, &shared) == ShareParse::Valid) {
        auto it = m_groups.find(groupKey(shared));
        if (it == m_groups.end())
            return false;
        SharedGroup &group = **it;
        auto member = std::find_if(group.members.begin(), group.members.end(),
                                   [session](const SharedGroup::Member &m) { return m.session == session; });
        if (member == group.members.end())
            return false;
        group.members.erase(member);
        --m_subscriptionCount;
        if (group.members.empty()) {
            // Nobody left to take them: the leaving session's copies stay with it.
            m_tree.remove(group.filter, quintptr(&group));
            m_groups.erase(it);
            return true;
        }
        handOver(group, session, orphans);
        return true;
    }
    const bool removed = m_tree.remove(filter, quintptr(session));
    if (removed)
        --m_subscriptionCount;
    return removed;
}

void Router::removeSession(Session *session, std::vector<Routed> &orphans)
{
    const QList<QByteArray> filters = session->subscriptions().keys();
    for (const QByteArray &filter : filters)
        unsubscribe(session, filter, orphans);
}

void Router::redistributeShared(Session *session, std::vector<Routed> &orphans)
{
    for (auto &group : m_groups) {
        const bool isMember = std::any_of(group->members.begin(), group->members.end(),
                                          [session](const SharedGroup::Member &m) { return m.session == session; });
        if (isMember)
            handOver(*group, session, orphans);
    }
}

void Router::route(const Message &message, std::vector<Routed> &out)
{
    m_scratch.clear();
    m_groupScratch.clear();
    m_tree.match(message.topic(), [this](const quintptr &, const Target &target) {
        if (target.session)
            m_scratch.push_back({target.session, &target.options});
        else
            m_groupScratch.push_back(target.group);
    });

    if (m_scratch.size() > 1)
        std::sort(m_scratch.begin(), m_scratch.end(),
                  [](const Match &a, const Match &b) { return a.session < b.session; });

    const QByteArray &origin = message.data().originClientId;
    for (std::size_t i = 0; i < m_scratch.size();) {
        Session *session = m_scratch[i].session;
        Delivery delivery;
        bool any = false;
        std::uint8_t maxQos = 0;
        bool retain = false;
        for (; i < m_scratch.size() && m_scratch[i].session == session; ++i) {
            const SubscriptionOptions &o = *m_scratch[i].options;
            // Spec 3.8.3.1: No Local - not forwarded to a connection with the same client id.
            if (o.noLocal && !origin.isEmpty() && origin == session->clientId())
                continue;
            any = true;
            maxQos = std::max(maxQos, o.maxQos);
            retain = retain || (o.retainAsPublished && message.retain());
            if (o.identifier != 0)
                delivery.subscriptionIds.append(o.identifier);
        }
        if (!any)
            continue;
        delivery.message = message;
        delivery.qos = std::min(message.qos(), maxQos);
        // Spec 3.3.1.3: RETAIN is 0 when forwarding on an established subscription, unless
        // the subscription asked for Retain As Published.
        delivery.retain = retain;
        out.push_back({session, std::move(delivery)});
    }

    for (SharedGroup *group : m_groupScratch) {
        const SharedGroup::Member *member = group->pick();
        if (!member)
            continue;
        Delivery delivery;
        delivery.message = message;
        delivery.qos = std::min(message.qos(), member->options.maxQos);
        delivery.retain = member->options.retainAsPublished && message.retain();
        if (member->options.identifier != 0)
            delivery.subscriptionIds.append(member->options.identifier);
        delivery.shareGroup = group->name;
        out.push_back({member->session, std::move(delivery)});
    }
}

} // namespace ferry::core
