#pragma once
#include "core/SessionQueue.h"

#include <deque>
#include <functional>

namespace ferry::core {

class MemorySessionQueue final : public SessionQueue {
public:
    void push(Delivery delivery) override { m_entries.push_back(std::move(delivery)); }
    std::optional<Delivery> pop() override
    {
        if (m_entries.empty())
            return std::nullopt;
        Delivery d = std::move(m_entries.front());
        m_entries.pop_front();
        return d;
    }
    qsizetype size() const override { return qsizetype(m_entries.size()); }
    void clear() override { m_entries.clear(); }

protected:
    void removeIf(const std::function<bool(Delivery &)> &shouldRemove) override
    {
        for (auto it = m_entries.begin(); it != m_entries.end();)
            it = shouldRemove(*it) ? m_entries.erase(it) : it + 1;
    }

private:
    std::deque<Delivery> m_entries;
};

} // namespace ferry::core
