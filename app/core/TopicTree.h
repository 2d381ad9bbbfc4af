#pragma once
// TopicTree: the subscription index of the router. Topic filters are stored as a trie of
// levels; a PUBLISH walks it once with its topic name and visits every (filter, key) entry whose
// filter matches. This is the hot path of every publish, so:
// - match() allocates nothing for topics up to kInlineFrames levels deep (levels are views into
//   the topic, children are found by hashing a std::string_view into node-owned bytes);
// - '+' and '#' children live in dedicated slots, never in the name map;
// - match(), remove() and the destructor are iterative: a 1000-level topic or filter costs
//   heap, never stack depth.
//
// Contract: filters given to insert()/remove()/find() are valid, non-shared filters
// (isValidTopicFilter; "$share/g/" stripped by parseSharedSubscription); topics given to
// match() are valid topic names. Not thread-safe; a visitor must not modify the tree it is
// visiting. Key needs operator== and std::hash<Key> (a session pointer, an integer id).

#include "core/Topic.h"

#include <QtGlobal>

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ferry::core {

namespace detail {

// A map that stays a flat vector (linear scan, cache friendly) while small and adds a hash
// index once it grows past LinearLimit: most trie nodes have a handful of children and most
// filters a handful of subscribers, but "sensors/#" may have a thousand.
template <typename K, typename V, std::size_t LinearLimit = 8> class SmallMap {
public:
    using Item = std::pair<K, V>;

    V *find(const K &key)
    {
        const std::size_t i = indexOf(key);
        return i == npos ? nullptr : &items_[i].second;
    }
    const V *find(const K &key) const { return const_cast<SmallMap *>(this)->find(key); }

    // Precondition: key is absent.
    V &insert(const K &key, V value)
    {
        items_.emplace_back(key, std::move(value));
        if (index_) {
            index_->emplace(key, items_.size() - 1);
        } else if (items_.size() > LinearLimit) {
            index_ = std::make_unique<std::unordered_map<K, std::size_t>>();
            index_->reserve(items_.size() * 2);
            for (std::size_t i = 0; i < items_.size(); ++i)
                index_->emplace(items_[i].first, i);
        }
        return items_.back().second;
    }

    // The key may point into the value being erased (a child's own name): it is not used
    // after the value is destroyed.
    bool erase(const K &key)
    {
        const std::size_t i = indexOf(key);
        if (i == npos)
            return false;
        if (index_)
            index_->erase(key);
        const std::size_t last = items_.size() - 1;
        if (i != last) {
            items_[i] = std::move(items_[last]);
            if (index_)
                (*index_)[items_[i].first] = i;
        }
        items_.pop_back();
        if (index_ && items_.size() <= LinearLimit / 2)
            index_.reset(); // hysteresis: do not rebuild on every insert/erase at the limit
        return true;
    }

    void clear()
    {
        items_.clear();
        index_.reset();
    }
    bool empty() const { return items_.empty(); }
    std::size_t size() const { return items_.size(); }
    typename std::vector<Item>::iterator begin() { return items_.begin(); }
    typename std::vector<Item>::iterator end() { return items_.end(); }
    typename std::vector<Item>::const_iterator begin() const { return items_.begin(); }
    typename std::vector<Item>::const_iterator end() const { return items_.end(); }

private:
    static constexpr std::size_t npos = std::size_t(-1);

    std::size_t indexOf(const K &key) const
    {
        if (index_) {
            const auto it = index_->find(key);
            return it == index_->end() ? npos : it->second;
        }
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (items_[i].first == key)
                return i;
        }
        return npos;
    }

    std::vector<Item> items_;
    std::unique_ptr<std::unordered_map<K, std::size_t>> index_;
};

// A stack that lives in the caller's frame up to N elements and spills to the heap beyond.
template <typename T, std::size_t N> class SmallStack {
public:
    void push(const T &v)
    {
        if (size_ < N)
            inline_[size_] = v;
        else
            spill_.push_back(v);
        ++size_;
    }
    T pop()
    {
        --size_;
        if (size_ < N)
            return inline_[size_];
        T v = spill_.back();
        spill_.pop_back();
        return v;
    }
    bool empty() const { return size_ == 0; }

private:
    std::array<T, N> inline_; // deliberately not zeroed: only [0, size_) is ever read
    std::vector<T> spill_;
    std::size_t size_ = 0;
};

inline std::string_view toStringView(QByteArrayView v)
{
    return std::string_view(v.data(), std::size_t(v.size()));
}

} // namespace detail

template <typename Key, typename Value> class TopicTree {
public:
    // Frames kept on the C stack by match(): a topic deeper than this spills to the heap.
    static constexpr std::size_t kInlineFrames = 64;

    TopicTree() = default;
    ~TopicTree() { teardown(); }
    TopicTree(const TopicTree &) = delete;
    TopicTree &operator=(const TopicTree &) = delete;

    // Adds (filter, key) -> value. Returns true if the entry is new, false if it replaced the
    // value already stored for this key on this filter (a re-SUBSCRIBE replaces the options).
    bool insert(QByteArrayView filter, const Key &key, Value value)
    {
        Q_ASSERT(isValidTopicFilter(filter));
        Node *n = &root_;
        TopicLevelCursor levels(filter);
        while (!levels.atEnd())
            n = childOrCreate(n, levels.next());
        if (Value *existing = n->entries.find(key)) {
            *existing = std::move(value);
            return false;
        }
        n->entries.insert(key, std::move(value));
        ++size_;
        return true;
    }

    // Removes (filter, key); prunes nodes left without entries or children.
    bool remove(QByteArrayView filter, const Key &key)
    {
        Node *n = lookup(filter);
        if (!n || !n->entries.erase(key))
            return false;
        --size_;
        while (n != &root_ && n->isEmpty()) {
            Node *parent = n->parent;
            detach(parent, n); // destroys n
            n = parent;
        }
        return true;
    }

    Value *find(QByteArrayView filter, const Key &key)
    {
        Node *n = lookup(filter);
        return n ? n->entries.find(key) : nullptr;
    }
    const Value *find(QByteArrayView filter, const Key &key) const
    {
        return const_cast<TopicTree *>(this)->find(filter, key);
    }

    // Calls visit(const Key &, const Value &) once per (filter, key) entry whose filter matches
    // the topic. A key subscribed with several overlapping filters is visited once per filter:
    // the caller decides (MQTT 5 section 3.3.4: deliver once with the highest QoS, or once
    // per subscription). Order is unspecified.
    template <class F> void match(QByteArrayView topic, F &&visit) const
    {
        if (topic.isEmpty())
            return;
        // "The Server MUST NOT match Topic Filters starting with a wildcard character (# or +)
        // with Topic Names beginning with a $ character" [MQTT-4.7.2-1].
        const bool dollarTopic = topic.front() == '$';
        struct Frame {
            const Node *node;
            qsizetype pos; // start of the next topic level, or -1 once every level is consumed
        };
        detail::SmallStack<Frame, kInlineFrames> stack;
        stack.push({&root_, 0});
        while (!stack.empty()) {
            const Frame f = stack.pop();
            const Node *n = f.node;
            if (f.pos < 0) {
                visitEntries(*n, visit);
                // "sport/#" also matches "sport": '#' includes the parent level.
                if (n->hash)
                    visitEntries(*n->hash, visit);
                continue;
            }
            const qsizetype end = topic.indexOf('/', f.pos);
            const QByteArrayView level =
                end < 0 ? topic.sliced(f.pos) : topic.sliced(f.pos, end - f.pos);
            const qsizetype next = end < 0 ? -1 : end + 1;
            if (!(dollarTopic && n == &root_)) {
                if (n->hash)
                    visitEntries(*n->hash, visit);
                if (n->plus)
                    stack.push({n->plus.get(), next});
            }
            if (const auto *child = n->children.find(detail::toStringView(level)))
                stack.push({child->get(), next});
        }
    }

    // Calls visit(const QByteArray &filter, const Key &, const Value &) for every entry.
    // For snapshots and diagnostics, not the hot path: it rebuilds each filter string.
    template <class F> void forEach(F &&visit) const
    {
        std::vector<const Node *> stack{&root_};
        while (!stack.empty()) {
            const Node *n = stack.back();
            stack.pop_back();
            if (!n->entries.empty()) {
                const QByteArray filter = filterOf(n);
                for (const auto &e : n->entries)
                    visit(filter, e.first, e.second);
            }
            for (const auto &c : n->children)
                stack.push_back(c.second.get());
            if (n->plus)
                stack.push_back(n->plus.get());
            if (n->hash)
                stack.push_back(n->hash.get());
        }
    }

    // Number of (filter, key) entries.
    std::size_t size() const { return size_; }
    bool isEmpty() const { return size_ == 0; }
    void clear()
    {
        teardown();
        size_ = 0;
    }
    // Number of trie nodes below the root: lets tests see that removal prunes.
    std::size_t nodeCount() const
    {
        std::size_t count = 0;
        std::vector<const Node *> stack{&root_};
        while (!stack.empty()) {
            const Node *n = stack.back();
            stack.pop_back();
            for (const auto &c : n->children)
                stack.push_back(c.second.get());
            if (n->plus)
                stack.push_back(n->plus.get());
            if (n->hash)
                stack.push_back(n->hash.get());
            count += n != &root_;
        }
        return count;
    }

private:
    struct Node {
        std::string name; // this level's bytes; the parent's children map keys view into it
        Node *parent = nullptr;
        detail::SmallMap<std::string_view, std::unique_ptr<Node>> children;
        std::unique_ptr<Node> plus;
        std::unique_ptr<Node> hash;
        detail::SmallMap<Key, Value> entries;

        bool isEmpty() const { return entries.empty() && children.empty() && !plus && !hash; }
    };

    static bool isPlus(QByteArrayView level) { return level == QByteArrayView("+"); }
    static bool isHash(QByteArrayView level) { return level == QByteArrayView("#"); }

    static std::unique_ptr<Node> makeNode(Node *parent, QByteArrayView level)
    {
        auto n = std::make_unique<Node>();
        n->name.assign(level.data(), std::size_t(level.size()));
        n->parent = parent;
        return n;
    }

    static Node *childOrCreate(Node *n, QByteArrayView level)
    {
        if (isPlus(level)) {
            if (!n->plus)
                n->plus = makeNode(n, level);
            return n->plus.get();
        }
        if (isHash(level)) {
            if (!n->hash)
                n->hash = makeNode(n, level);
            return n->hash.get();
        }
        if (auto *child = n->children.find(detail::toStringView(level)))
            return child->get();
        auto child = makeNode(n, level);
        Node *raw = child.get();
        // The key views the child's own name: stable, since the node never moves.
        n->children.insert(std::string_view(raw->name), std::move(child));
        return raw;
    }

    Node *lookup(QByteArrayView filter)
    {
        if (filter.isEmpty())
            return nullptr;
        Node *n = &root_;
        TopicLevelCursor levels(filter);
        while (n && !levels.atEnd()) {
            const QByteArrayView level = levels.next();
            if (isPlus(level)) {
                n = n->plus.get();
            } else if (isHash(level)) {
                n = n->hash.get();
            } else {
                auto *child = n->children.find(detail::toStringView(level));
                n = child ? child->get() : nullptr;
            }
        }
        return n;
    }

    static void detach(Node *parent, Node *child)
    {
        if (parent->plus.get() == child)
            parent->plus.reset();
        else if (parent->hash.get() == child)
            parent->hash.reset();
        else
            parent->children.erase(std::string_view(child->name));
    }

    template <class F> static void visitEntries(const Node &n, F &visit)
    {
        for (const auto &e : n.entries)
            visit(e.first, e.second);
    }

    QByteArray filterOf(const Node *n) const
    {
        std::vector<const Node *> path;
        for (; n != &root_; n = n->parent)
            path.push_back(n);
        QByteArray filter;
        for (auto it = path.rbegin(); it != path.rend(); ++it) {
            if (it != path.rbegin())
                filter += '/';
            filter.append((*it)->name.data(), qsizetype((*it)->name.size()));
        }
        return filter;
    }

    // Frees the trie without recursion: each node is destroyed only after its children were
    // moved out, so unique_ptr destructors never nest.
    void teardown()
    {
        std::vector<std::unique_ptr<Node>> work;
        auto takeChildren = [&work](Node &n) {
            for (auto &c : n.children)
                work.push_back(std::move(c.second));
            n.children.clear();
            if (n.plus)
                work.push_back(std::move(n.plus));
            if (n.hash)
                work.push_back(std::move(n.hash));
        };
        takeChildren(root_);
        root_.entries.clear();
        while (!work.empty()) {
            std::unique_ptr<Node> n = std::move(work.back());
            work.pop_back();
            takeChildren(*n);
        }
    }

    Node root_;
    std::size_t size_ = 0;
};

} // namespace ferry::core
