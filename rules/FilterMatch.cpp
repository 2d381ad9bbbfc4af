#include "rules/FilterMatch.h"

#include <algorithm>

namespace ferry::rules {

namespace {

Levels levels(QByteArrayView s)
{
    Levels out;
    qsizetype start = 0;
    for (qsizetype i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == '/') {
            out.append(s.sliced(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

bool overlapFrom(const Levels &a, int i, const Levels &b, int j)
{
    while (i < a.size() && j < b.size()) {
        if (a[i] == "#" || b[j] == "#")
            return true;
        if (a[i] != "+" && b[j] != "+" && a[i] != b[j])
            return false;
        ++i;
        ++j;
    }
    if (i == a.size() && j == b.size())
        return true;
    // "a/#" also matches "a": one side may end where the other has only '#' left.
    if (i == a.size())
        return j == b.size() - 1 && b[j] == "#";
    return i == a.size() - 1 && a[i] == "#";
}

} // namespace

bool filterMatches(QByteArrayView filter, QByteArrayView topic)
{
    if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#')))
        return false;
    const auto f = levels(filter);
    const auto t = levels(topic);
    int i = 0;
    for (; i < f.size(); ++i) {
        if (f[i] == "#")
            return true;
        if (i >= t.size())
            return false;
        if (f[i] != "+" && f[i] != t[i])
            return false;
    }
    return i == t.size();
}

bool isValidFilter(QByteArrayView filter)
{
    if (filter.isEmpty())
        return false;
    const auto f = levels(filter);
    for (int i = 0; i < f.size(); ++i) {
        if (f[i].contains('#') && (f[i] != "#" || i != f.size() - 1))
            return false;
        if (f[i].contains('+') && f[i] != "+")
            return false;
    }
    return true;
}

bool filtersOverlap(QByteArrayView a, QByteArrayView b)
{
    // 4.7.2-1: a filter starting with a wildcard never matches a '$' topic.
    const bool aDollar = a.startsWith('$'), bDollar = b.startsWith('$');
    if ((aDollar && (b.startsWith('+') || b.startsWith('#'))) ||
        (bDollar && (a.startsWith('+') || a.startsWith('#'))))
        return false;
    return overlapFrom(levels(a), 0, levels(b), 0);
}

FilterIndex::FilterIndex() : m_root(std::make_unique<Node>()) {}
FilterIndex::~FilterIndex() = default;

void FilterIndex::insert(QByteArrayView filter, int id)
{
    Node *node = m_root.get();
    const auto f = levels(filter);
    for (int i = 0; i < f.size(); ++i) {
        if (f[i] == "#" && i == f.size() - 1) {
            node->hashIds.append(id);
            m_empty = false;
            return;
        }
        auto &child = f[i] == "+" ? node->plus : node->children[f[i].toByteArray()];
        if (!child)
            child = std::make_unique<Node>();
        node = child.get();
    }
    node->ids.append(id);
    m_empty = false;
}

// pos: where the current level starts in topic, or topic.size() + 1 once every level is used.
void FilterIndex::collect(const Node *node, QByteArrayView topic, qsizetype pos, bool root,
                          bool dollar, QList<int> *out) const
{
    // '#' matches the parent level too ("a/#" matches "a"), but not at the root of a '$' topic.
    const bool dollarRoot = dollar && root;
    if (!dollarRoot && !node->hashIds.isEmpty())
        out->append(node->hashIds);
    if (pos > topic.size()) {
        if (!node->ids.isEmpty())
            out->append(node->ids);
        return;
    }
    qsizetype end = topic.indexOf('/', pos);
    if (end < 0)
        end = topic.size();
    if (!node->children.empty()) {
        // fromRawData: look up without copying the level.
        const auto exact =
            node->children.find(QByteArray::fromRawData(topic.data() + pos, end - pos));
        if (exact != node->children.end())
            collect(exact->second.get(), topic, end + 1, false, dollar, out);
    }
    if (node->plus && !dollarRoot)
        collect(node->plus.get(), topic, end + 1, false, dollar, out);
}

void FilterIndex::match(QByteArrayView topic, QList<int> *out) const
{
    if (m_empty)
        return;
    const qsizetype before = out->size();
    collect(m_root.get(), topic, 0, true, topic.startsWith('$'), out);
    if (out->size() - before > 1) {
        std::sort(out->begin() + before, out->end());
        out->erase(std::unique(out->begin() + before, out->end()), out->end());
    }
}

} // namespace ferry::rules
