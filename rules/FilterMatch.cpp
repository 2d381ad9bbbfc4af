#include "rules/FilterMatch.h"

#include <algorithm>
#include <cstring>

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

namespace {

// A fast hash of a whole topic for the result table (8 bytes at a time; not for untrusted
// tables keyed by attackers' choice: a collision only costs a walk, the bytes are compared).
quint64 topicHash(QByteArrayView t)
{
    const char *p = t.data();
    qsizetype n = t.size();
    quint64 h = 0x9e3779b97f4a7c15ull ^ quint64(n);
    while (n >= 8) {
        quint64 w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    quint64 w = 0;
    if (n > 0 && t.size() >= 8) {
        std::memcpy(&w, p + n - 8, 8); // the last 8 bytes, overlapping the ones already mixed
    } else {
        for (qsizetype i = 0; i < n; ++i)
            w |= quint64(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    h = (h ^ w) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

} // namespace

FilterIndex::FilterIndex()
{
    newNode(); // the root
}
FilterIndex::~FilterIndex() = default;

FilterIndex::Node *FilterIndex::newNode()
{
    m_nodes.push_back(std::make_unique<Node>());
    return m_nodes.back().get();
}

void FilterIndex::insert(QByteArrayView filter, int id)
{
    m_slots.reset(); // remembered results may change
    Node *node = m_nodes.front().get();
    const auto f = levels(filter);
    for (int i = 0; i < f.size(); ++i) {
        if (f[i] == "#" && i == f.size() - 1) {
            node->hashIds.append(id);
            m_empty = false;
            return;
        }
        if (f[i] == "+") {
            if (!node->plus)
                node->plus = newNode();
            node = node->plus;
            continue;
        }
        Node *&child = node->children[f[i].toByteArray()];
        if (!child)
            child = newNode();
        node = child;
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
    if (!node->children.isEmpty()) {
        // fromRawData: look up without copying the level.
        const auto exact =
            node->children.constFind(QByteArray::fromRawData(topic.data() + pos, end - pos));
        if (exact != node->children.cend())
            collect(exact.value(), topic, end + 1, false, dollar, out);
    }
    if (node->plus && !dollarRoot)
        collect(node->plus, topic, end + 1, false, dollar, out);
}

void FilterIndex::match(QByteArrayView topic, QList<int> *out) const
{
    if (m_empty)
        return;
    Slot *slot = nullptr;
    if (topic.size() <= kTopicMax) {
        if (!m_slots) {
            m_slots.reset(new Slot[kSlots]);
            for (int i = 0; i < kSlots; ++i)
                m_slots[i].size = ~0u;
        }
        const quint64 hash = topicHash(topic);
        slot = &m_slots[hash & (kSlots - 1)];
        if (slot->hash == hash && slot->size == quint32(topic.size()) &&
            std::memcmp(slot->bytes, topic.data(), size_t(topic.size())) == 0) {
            // The same topic as last time, and the index has not changed since.
            for (int i = 0; i < slot->count; ++i)
                out->append(slot->ids[i]);
            return;
        }
        slot->hash = hash;
        slot->size = ~0u; // filled below once the result is known and small enough
    }
    const qsizetype before = out->size();
    collect(m_nodes.front().get(), topic, 0, true, topic.startsWith('$'), out);
    const qsizetype found = out->size() - before;
    if (found > 1) {
        std::sort(out->begin() + before, out->end());
        out->erase(std::unique(out->begin() + before, out->end()), out->end());
    }
    const qsizetype kept = out->size() - before;
    if (slot && kept <= kSlotIds) {
        for (qsizetype i = 0; i < kept; ++i)
            slot->ids[i] = out->at(before + i);
        slot->count = int(kept);
        std::memcpy(slot->bytes, topic.data(), size_t(topic.size()));
        slot->size = quint32(topic.size());
    }
}

int FilterIndex::rememberedTopics() const
{
    int n = 0;
    if (m_slots)
        for (int i = 0; i < kSlots; ++i)
            n += m_slots[i].size != ~0u ? 1 : 0;
    return n;
}

} // namespace ferry::rules
