#pragma once
// Entries appended but not yet written: the hand-off between the owner thread and the writer.
//
// Why: most durable messages to an online persistent subscriber are sent, marked in flight and
// often acknowledged before the writer gets to them. Folding the mark into the pending INSERT,
// and dropping the INSERT when the entry is removed first, saves an UPDATE and, for the
// removed ones, every byte written to the disk (SD cards wear out).
//
// One word per target entry, changed with compare-and-swap only: the owner thread may fold a
// state or cancel while the entry is Pending; the writer claims it (Pending -> Claimed) when it
// writes the INSERT, after which the owner must issue a real UPDATE / DELETE. Claiming again
// (a batch that runs twice after a rollback) returns the same answer.
#include "storage/StorageTypes.h"

#include <atomic>
#include <cstdint>
#include <memory>

namespace ferry::storage {

class PendingEntries {
public:
    explicit PendingEntries(qsizetype count)
        : m_words(std::make_unique<std::atomic<std::uint32_t>[]>(std::size_t(count)))
    {
        for (qsizetype i = 0; i < count; ++i)
            m_words[std::size_t(i)].store(0, std::memory_order_relaxed);
    }

    // Owner thread. False when the writer has already claimed the entry.
    bool fold(qsizetype i, EntryState state, std::uint16_t packetId)
    {
        return update(i, [&](std::uint32_t) {
            return (std::uint32_t(state) << kStateShift) | packetId;
        });
    }
    bool cancel(qsizetype i)
    {
        return update(i, [](std::uint32_t w) { return w | (Cancelled << kPhaseShift); });
    }

    // Writer thread. False when the entry was cancelled (write nothing); else the state and
    // packet id to write with it.
    bool claim(qsizetype i, EntryState *state, std::uint16_t *packetId)
    {
        std::atomic<std::uint32_t> &word = m_words[std::size_t(i)];
        std::uint32_t w = word.load(std::memory_order_acquire);
        while (phase(w) == Pending &&
               !word.compare_exchange_weak(w, w | (Claimed << kPhaseShift),
                                           std::memory_order_acq_rel))
            ;
        if (phase(w) == Cancelled)
            return false;
        *state = EntryState((w >> kStateShift) & 3);
        *packetId = std::uint16_t(w & 0xFFFF);
        return true;
    }

private:
    static constexpr std::uint32_t Pending = 0, Claimed = 1, Cancelled = 2;
    static constexpr int kStateShift = 16, kPhaseShift = 20;
    static std::uint32_t phase(std::uint32_t w) { return (w >> kPhaseShift) & 3; }

    template <class F> bool update(qsizetype i, F &&next)
    {
        std::atomic<std::uint32_t> &word = m_words[std::size_t(i)];
        std::uint32_t w = word.load(std::memory_order_acquire);
        while (phase(w) == Pending) {
            if (word.compare_exchange_weak(w, next(w), std::memory_order_acq_rel))
                return true;
        }
        return false;
    }

    std::unique_ptr<std::atomic<std::uint32_t>[]> m_words;
};

} // namespace ferry::storage
