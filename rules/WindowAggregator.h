#pragma once
// Windowed aggregation state of one rule (eKuiper-style windows on the broker's clock).
//
// TUMBLING(size): windows [k*size, (k+1)*size) aligned to the epoch.
// HOPPING(size, hop): windows of `size` starting every `hop`; a message joins every window
// that contains its arrival time.
// COUNTWINDOW(n): per group, closes when the group has n messages (window_start and
// window_end are then the arrival time of its first and last message).
// In the SELECT list, window_start and window_end read the closing window's bounds.
// A time window closes when the clock reaches its end (the engine calls closeDue() from its
// timer, so windows close without further traffic) and yields one result per GROUP BY key in
// key order; a window without messages yields nothing. Aggregates skip undefined values:
// avg/sum over numbers (sum stays integer while all inputs are), min/max over numbers,
// count(*) counts messages and count(x) defined values, first/last the first/last defined.

#include "rules/Ast.h"
#include "rules/CompiledQuery.h"

#include <QMap>
#include <QVariantList>

namespace ferry::rules {

struct WindowAggregatorResult {
    qint64 windowStart = 0;
    qint64 windowEnd = 0;
    QVariantList aggregates; // one per AggregateSlot
    QVariantList lasts;      // last values of per-message subexpressions
};

class WindowAggregator {
public:
    using Result = WindowAggregatorResult;

    WindowAggregator(const WindowSpec &window, QList<AggregateSlot> aggSlots);

    void add(qint64 nowMs, const QVariantList &groupValues, const QVariantList &aggregateArgs,
             const QVariantList &lasts, QList<Result> *closed);
    void closeDue(qint64 nowMs, QList<Result> *closed);
    void closeAll(QList<Result> *closed);
    qint64 nextDeadline() const; // ms since epoch; -1 when nothing is open (count windows: -1)

private:
    struct Acc {
        double sum = 0;
        qint64 isum = 0;
        bool allInt = true;
        qint64 numbers = 0;
        qint64 count = 0;
        double min = 0, max = 0;
        QVariant first, last;
    };
    struct Group {
        QList<Acc> accs;
        QVariantList lasts;
        qint64 messages = 0;
        qint64 firstAt = 0; // count windows: arrival of the first message
    };
    using Groups = QMap<QByteArray, Group>;

    void addTo(Groups &groups, const QByteArray &key, const QVariantList &args,
               const QVariantList &lasts);
    Result finish(const Group &g, qint64 start, qint64 end) const;

    WindowSpec m_window;
    QList<AggregateSlot> m_slots;
    QMap<qint64, Groups> m_open; // time windows by start
    Groups m_countGroups;        // count windows
};

} // namespace ferry::rules
