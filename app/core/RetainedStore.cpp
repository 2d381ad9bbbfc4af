#include "core/RetainedStore.h"

#include "core/Topic.h"
#include "core/TopicTree.h" // detail::SmallMap, detail::toStringView

#include <string>
#include <string_view>
#include <vector>

namespace ferry::core {

struct RetainedStore::Node {
    std::string name; // this level's bytes; the parent's children map keys view into it
    Node *parent = nullptr;
    detail::SmallMap<std::string_view, std::unique_ptr<Node>> children;
    std::optional<Message> message;

    Node *child(QByteArrayView level) const
    {
        const auto *c = children.find(detail::toStringView(level));
        return c ? c->get() : nullptr;
    }
    // Frees the subtree without nested unique_ptr destructors.
    void clearChildren()
    {
        std::vector<std::unique_ptr<Node>> work;
        auto take = [&work](Node &n) {
            for (auto &c : n.children)
                work.push_back(std::move(c.second));
            n.children.clear();
        };
        take(*this);
        while (!work.empty()) {
            std::unique_ptr<Node> n = std::move(work.back());
            work.pop_back();
            take(*n);
        }
    }
};

RetainedStore::RetainedStore() : root_(std::make_unique<Node>()) {}

RetainedStore::~RetainedStore()
{
    root_->clearChildren();
}

void RetainedStore::clear()
{
    root_->clearChildren();
    count_ = 0;
}

RetainedStore::Node *RetainedStore::lookup(QByteArrayView topic) const
{
    if (topic.isEmpty())
        return nullptr;
    Node *n = root_.get();
    TopicLevelCursor levels(topic);
    while (n && !levels.atEnd())
        n = n->child(levels.next());
    return n;
}

void RetainedStore::prune(Node *n)
{
    while (n != root_.get() && !n->message && n->children.empty()) {
        Node *parent = n->parent;
        parent->children.erase(std::string_view(n->name)); // destroys n
        n = parent;
    }
}

bool RetainedStore::set(const Message &m)
{
    const QByteArray &topic = m.topic();
    Q_ASSERT(isValidTopicName(topic));
    if (topic.isEmpty())
        return false;
    if (m.payload().isEmpty()) {
        // [MQTT-3.3.1-6]/[MQTT-3.3.1-7]: an empty retained payload clears the topic.
        Node *n = lookup(topic);
        if (!n || !n->message)
            return false;
        n->message.reset();
        --count_;
        prune(n);
        return true;
    }
    Node *n = root_.get();
    TopicLevelCursor levels(topic);
    while (!levels.atEnd()) {
        const QByteArrayView level = levels.next();
        Node *c = n->child(level);
        if (!c) {
            auto fresh = std::make_unique<Node>();
            fresh->name.assign(level.data(), std::size_t(level.size()));
            fresh->parent = n;
            c = fresh.get();
            n->children.insert(std::string_view(c->name), std::move(fresh));
        }
        n = c;
    }
    if (!n->message)
        ++count_;
    n->message = m;
    return true;
}

std::optional<Message> RetainedStore::get(QByteArrayView topic, std::int64_t nowMs) const
{
    const Node *n = lookup(topic);
    if (!n || !n->message || n->message->isExpired(nowMs))
        return std::nullopt;
    return n->message;
}

void RetainedStore::match(QByteArrayView filter, const std::function<void(const Message &)> &visit,
                          std::int64_t nowMs) const
{
    if (filter.isEmpty())
        return;
    const Node *root = root_.get();
    auto deliver = [&](const Node *n) {
        if (n->message && !n->message->isExpired(nowMs))
            visit(*n->message);
    };
    // "The Server MUST NOT match Topic Filters starting with a wildcard character (# or +) with
    // Topic Names beginning with a $ character" [MQTT-4.7.2-1]: a wildcard at the first level
    // skips the root's '$' children.
    auto hiddenFromWildcard = [root](const Node *parent, const Node *child) {
        return parent == root && !child->name.empty() && child->name.front() == '$';
    };

    struct Frame {
        const Node *node;
        qsizetype pos; // start of the next filter level, or -1 once the filter is consumed
    };
    std::vector<Frame> stack{{root, 0}};
    std::vector<const Node *> subtree; // for '#': every node below, reused across branches
    while (!stack.empty()) {
        const Frame f = stack.back();
        stack.pop_back();
        if (f.pos < 0) {
            deliver(f.node);
            continue;
        }
        const qsizetype end = filter.indexOf('/', f.pos);
        const QByteArrayView level =
            end < 0 ? filter.sliced(f.pos) : filter.sliced(f.pos, end - f.pos);
        const qsizetype next = end < 0 ? -1 : end + 1;
        if (level == QByteArrayView("#")) {
            // '#' matches this node's own topic ("sport/#" matches "sport") and everything
            // below it. The root holds no message: no topic has zero levels.
            deliver(f.node);
            for (const auto &c : f.node->children) {
                if (!hiddenFromWildcard(f.node, c.second.get()))
                    subtree.push_back(c.second.get());
            }
            while (!subtree.empty()) {
                const Node *n = subtree.back();
                subtree.pop_back();
                deliver(n);
                for (const auto &c : n->children)
                    subtree.push_back(c.second.get());
            }
        } else if (level == QByteArrayView("+")) {
            for (const auto &c : f.node->children) {
                if (!hiddenFromWildcard(f.node, c.second.get()))
                    stack.push_back({c.second.get(), next});
            }
        } else if (const Node *c = f.node->child(level)) {
            stack.push_back({c, next});
        }
    }
}

void RetainedStore::forEach(const std::function<void(const Message &)> &visit) const
{
    std::vector<const Node *> stack{root_.get()};
    while (!stack.empty()) {
        const Node *n = stack.back();
        stack.pop_back();
        if (n->message)
            visit(*n->message);
        for (const auto &c : n->children)
            stack.push_back(c.second.get());
    }
}

qsizetype RetainedStore::removeExpired(std::int64_t nowMs)
{
    std::vector<Node *> expired;
    std::vector<Node *> stack{root_.get()};
    while (!stack.empty()) {
        Node *n = stack.back();
        stack.pop_back();
        if (n->message && n->message->isExpired(nowMs))
            expired.push_back(n);
        for (auto &c : n->children)
            stack.push_back(c.second.get());
    }
    // A node still holding its (expired) message is never pruned by an earlier prune() in
    // this loop, so every pointer in `expired` stays valid until it is processed.
    for (Node *n : expired) {
        n->message.reset();
        --count_;
        prune(n);
    }
    return qsizetype(expired.size());
}

} // namespace ferry::core
