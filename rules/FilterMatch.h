#pragma once
// MQTT topic filter matching for the rule engine: the =~ operator and the FROM index.
// Private to rules/ so that the engine builds on its own; the semantics are MQTT 5.0 4.7:
// '+' matches one level, '#' (last) matches the parent and any number of levels, and a filter
// starting with a wildcard does not match a topic starting with '$' (4.7.2-1).

#include <QByteArray>
#include <QByteArrayView>
#include <QHash>
#include <QList>
#include <QVarLengthArray>

#include <memory>
#include <vector>

namespace ferry::rules {

using Levels = QVarLengthArray<QByteArrayView, 16>;

bool filterMatches(QByteArrayView filter, QByteArrayView topic);
bool isValidFilter(QByteArrayView filter);
// Whether some topic could match both filters (used to detect republish loops at load).
bool filtersOverlap(QByteArrayView a, QByteArrayView b);

// Maps filters to the ids of the rules that listen on them; match() walks the topic's levels
// once, so its cost does not grow with the number of rules that do not match.
//
// A topic that matched nothing is remembered (by a hash of its bytes, in a fixed table of
// one-cache-line slots holding the topic itself): the next message on it costs one hash and
// one compare, no walk. This is the broker's per-message cost of rules that do not listen to
// a topic. The table belongs to the index (a reload builds a new one) and is made on the
// first miss. Not thread-safe (the engine runs on one thread).
class FilterIndex {
public:
    FilterIndex();
    ~FilterIndex();
    void insert(QByteArrayView filter, int id);
    // Appends each matching id once (in ascending order) to *out.
    void match(QByteArrayView topic, QList<int> *out) const;
    bool isEmpty() const { return m_empty; }
    // Slots of the no-match table that hold a topic (for tests).
    int rememberedMisses() const;

private:
    struct Node {
        // Exact levels by hash (QHash: the hash of a level is computed once per lookup; the
        // nodes are owned by m_nodes); the '+' child apart, so that a topic level looks up one
        // table and follows one pointer.
        QHash<QByteArray, Node *> children;
        Node *plus = nullptr;
        QList<int> ids;     // filters ending here
        QList<int> hashIds; // filters ending with '#' below this node
    };
    static constexpr int kMissSlots = 256;          // power of two
    static constexpr qsizetype kMissTopicMax = 52; // longer topics are walked every time
    struct alignas(64) MissSlot {
        quint64 hash;
        quint32 size; // ~0u: empty
        char bytes[kMissTopicMax];
    };
    Node *newNode();
    void collect(const Node *node, QByteArrayView topic, qsizetype pos, bool root, bool dollar,
                 QList<int> *out) const;
    std::vector<std::unique_ptr<Node>> m_nodes; // m_nodes[0] is the root
    bool m_empty = true;
    mutable std::unique_ptr<MissSlot[]> m_misses;
};

} // namespace ferry::rules
