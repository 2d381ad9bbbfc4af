#pragma once
// The queue a session keeps for messages it cannot send yet (offline, or its in-flight
// window is full). This is the seam storage plugs into: MemorySessionQueue serves clean and
// in-memory sessions, a storage-backed queue serves persistent sessions.
//
// Contract: called on the broker's thread only; never blocks; push() returns at once.
#include "core/Delivery.h"

#include <functional>
#include <optional>

namespace ferry::core {

class SessionQueue {
public:
    virtual ~SessionQueue() = default;
    virtual void push(Delivery delivery) = 0;
    // Removes and returns the oldest entry, or nothing when empty.
    virtual std::optional<Delivery> pop() = 0;
    virtual qsizetype size() const = 0;
    // Removes every entry that came through the given shared group, handing each to `take`.
    template <class F> void takeShared(const QByteArray &group, F &&take);
    virtual void clear() = 0;

protected:
    // Visits entries in order; the visitor returns true to remove one.
    virtual void removeIf(const std::function<bool(Delivery &)> &shouldRemove) = 0;
};

template <class F> void SessionQueue::takeShared(const QByteArray &group, F &&take)
{
    removeIf([&](Delivery &d) {
        if (d.shareGroup != group)
            return false;
        take(std::move(d));
        return true;
    });
}

} // namespace ferry::core
