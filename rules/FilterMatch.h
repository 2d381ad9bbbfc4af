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
// The result for a topic is remembered (by a hash of its bytes, in a fixed table of slots
// holding the topic itself and up to 4 matching ids): the next message on it costs one hash
// and one compare, no walk. For a topic no rule listens to, that is the broker's whole
// per-message cost of the rules. The table belongs to the index (a reload builds a new one;
// insert() forgets it) and is made on first use. Not thread-safe (the engine runs on one
// thread).
class FilterIndex {
public:
    FilterIndex();
    ~FilterIndex();
    void insert(QByteArrayView filter, int id);
    // Appends each matching id once (in ascending order) to *out.
    void match(QByteArrayView topic, QList<int> *out) const;
    bool isEmpty() const { return m_empty; }
    // Slots of the result table that hold a topic (for tests).
    int rememberedTopics() const;

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
    static constexpr int kSlots = 256;           // power of two
    static constexpr int kSlotIds = 4;           // results with more ids are not kept
    static constexpr qsizetype kTopicMax = 96;   // longer topics are walked every time
    struct alignas(64) Slot {
        quint64 hash;
        quint32 size; // ~0u: empty
        qint32 count;
        qint32 ids[kSlotIds];
        char bytes[kTopicMax]; // 128 B a slot: the first 32 bytes share the header's line
    };
    Node *newNode();
    void collect(const Node *node, QByteArrayView topic, qsizetype pos, bool root, bool dollar,
                 QList<int> *out) const;
    std::vector<std::unique_ptr<Node>> m_nodes; // m_nodes[0] is the root
    bool m_empty = true;
    mutable std::unique_ptr<Slot[]> m_slots;
};

} // namespace ferry::rules
