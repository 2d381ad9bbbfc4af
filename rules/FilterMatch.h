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

#include <unordered_map>
#include <memory>

namespace ferry::rules {

using Levels = QVarLengthArray<QByteArrayView, 16>;

bool filterMatches(QByteArrayView filter, QByteArrayView topic);
bool isValidFilter(QByteArrayView filter);
// Whether some topic could match both filters (used to detect republish loops at load).
bool filtersOverlap(QByteArrayView a, QByteArrayView b);

// Maps filters to the ids of the rules that listen on them; match() walks the topic's levels
// once, so its cost does not grow with the number of rules that do not match.
class FilterIndex {
public:
    FilterIndex();
    ~FilterIndex();
    void insert(QByteArrayView filter, int id);
    // Appends each matching id once (in ascending order) to *out.
    void match(QByteArrayView topic, QList<int> *out) const;
    bool isEmpty() const { return m_empty; }

private:
    struct LevelHash {
        size_t operator()(const QByteArray &b) const noexcept { return qHash(QByteArrayView(b)); }
    };
    struct Node {
        // Exact levels by hash (a miss costs one hash, not a walk of sorted keys); the '+'
        // child apart, so that a topic level looks up one table and follows one pointer.
        std::unordered_map<QByteArray, std::unique_ptr<Node>, LevelHash> children;
        std::unique_ptr<Node> plus;
        QList<int> ids;     // filters ending here
        QList<int> hashIds; // filters ending with '#' below this node
    };
    void collect(const Node *node, QByteArrayView topic, qsizetype pos, bool root, bool dollar,
                 QList<int> *out) const;
    std::unique_ptr<Node> m_root;
    bool m_empty = true;
};

} // namespace ferry::rules
