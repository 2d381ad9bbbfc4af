#pragma once
#include "core/SessionQueue.h"

#include <QList>

#include <functional>

namespace ferry::core {

// A QList, not a std::deque: an empty QList allocates nothing, where libstdc++'s deque allocates
// its map and a 512-byte node when constructed, ~0.6 KB for every idle session. QList's
// removeFirst() is O(1) and an append with room at the front slides the entries back, so a
// FIFO stays amortised O(1).
class MemorySessionQueue final : public SessionQueue {
public:
    void push(Delivery delivery) override { m_entries.push_back(std::move(delivery)); }
    std::optional<Delivery> pop() override
    {
        if (m_entries.empty())
            return std::nullopt;
        Delivery d = std::move(m_entries.front());
        m_entries.removeFirst();
        if (m_entries.isEmpty() && m_entries.capacity() > kKeptCapacity)
            m_entries = QList<Delivery>(); // a drained backlog does not pin its peak storage
        return d;
    }
    qsizetype size() const override { return qsizetype(m_entries.size()); }
    void clear() override { m_entries = QList<Delivery>(); }

protected:
    void removeIf(const std::function<bool(Delivery &)> &shouldRemove) override
    {
        for (auto it = m_entries.begin(); it != m_entries.end();)
            it = shouldRemove(*it) ? m_entries.erase(it) : it + 1;
    }

private:
    static constexpr qsizetype kKeptCapacity = 64;
    QList<Delivery> m_entries;
};

} // namespace ferry::core
