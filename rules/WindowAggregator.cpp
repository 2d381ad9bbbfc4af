#include "rules/WindowAggregator.h"

#include "rules/Json.h"

namespace ferry::rules {

namespace {

qint64 floorTo(qint64 t, qint64 step)
{
    return (t >= 0 ? t : t - step + 1) / step * step;
}

bool isNumber(const QVariant &v)
{
    return v.typeId() == QMetaType::LongLong || v.typeId() == QMetaType::Double;
}
bool defined(const QVariant &v)
{
    return v.isValid() && !json::isNull(v);
}

} // namespace

WindowAggregator::WindowAggregator(const WindowSpec &window, QList<AggregateSlot> aggSlots)
    : m_window(window), m_slots(std::move(aggSlots))
{
}

void WindowAggregator::addTo(Groups &groups, const QByteArray &key, const QVariantList &args,
                             const QVariantList &lasts)
{
    Group &g = groups[key];
    if (g.accs.isEmpty())
        g.accs.resize(m_slots.size());
    ++g.messages;
    for (int i = 0; i < m_slots.size(); ++i) {
        Acc &a = g.accs[i];
        const QVariant v = args.value(i);
        if (m_slots[i].star) {
            ++a.count;
            continue;
        }
        if (!defined(v))
            continue;
        ++a.count;
        if (!a.first.isValid())
            a.first = v;
        a.last = v;
        if (isNumber(v)) {
            const double d = v.toDouble();
            if (v.typeId() == QMetaType::LongLong)
                a.isum += v.toLongLong();
            else
                a.allInt = false;
            a.sum += d;
            if (a.numbers == 0 || d < a.min)
                a.min = d;
            if (a.numbers == 0 || d > a.max)
                a.max = d;
            ++a.numbers;
        }
    }
    g.lasts = lasts;
}

WindowAggregator::Result WindowAggregator::finish(const Group &g, qint64 start, qint64 end) const
{
    Result r;
    r.windowStart = start;
    r.windowEnd = end;
    r.lasts = g.lasts;
    for (int i = 0; i < m_slots.size(); ++i) {
        const Acc &a = g.accs[i];
        const QByteArray &fn = m_slots[i].function;
        QVariant v;
        if (fn == "count") {
            v = QVariant::fromValue<qint64>(a.count);
        } else if (fn == "first") {
            v = a.first;
        } else if (fn == "last") {
            v = a.last;
        } else if (a.numbers > 0) {
            if (fn == "avg")
                v = a.sum / double(a.numbers);
            else if (fn == "sum")
                v = a.allInt ? QVariant::fromValue<qint64>(a.isum) : QVariant(a.sum);
            else {
                const double d = fn == "min" ? a.min : a.max;
                // keep integers integral: min/max of integer inputs are integers
                v = a.allInt ? QVariant::fromValue<qint64>(qint64(d)) : QVariant(d);
            }
        }
        r.aggregates.append(v);
    }
    return r;
}

void WindowAggregator::add(qint64 now, const QVariantList &groupValues,
                           const QVariantList &aggregateArgs, const QVariantList &lasts,
                           QList<Result> *closed)
{
    const QByteArray key = json::write(groupValues);
    switch (m_window.kind) {
    case WindowSpec::Kind::Tumbling:
        addTo(m_open[floorTo(now, m_window.sizeMs)], key, aggregateArgs, lasts);
        break;
    case WindowSpec::Kind::Hopping:
        for (qint64 s = floorTo(now, m_window.hopMs); s > now - m_window.sizeMs;
             s -= m_window.hopMs)
            addTo(m_open[s], key, aggregateArgs, lasts);
        break;
    case WindowSpec::Kind::Count: {
        addTo(m_countGroups, key, aggregateArgs, lasts);
        Group &g = m_countGroups[key];
        if (g.messages == 1)
            g.firstAt = now;
        if (g.messages >= m_window.count) {
            closed->append(finish(g, g.firstAt, now));
            m_countGroups.remove(key);
        }
        break;
    }
    case WindowSpec::Kind::None:
        break;
    }
}

void WindowAggregator::closeDue(qint64 now, QList<Result> *closed)
{
    while (!m_open.isEmpty()) {
        auto first = m_open.begin();
        const qint64 end = first.key() + m_window.sizeMs;
        if (end > now)
            break;
        for (const Group &g : first.value())
            closed->append(finish(g, first.key(), end));
        m_open.erase(first);
    }
}

void WindowAggregator::closeAll(QList<Result> *closed)
{
    closeDue(std::numeric_limits<qint64>::max() - m_window.sizeMs, closed);
    for (const Group &g : m_countGroups)
        closed->append(finish(g, g.firstAt, g.firstAt));
    m_countGroups.clear();
}

qint64 WindowAggregator::nextDeadline() const
{
    if (m_open.isEmpty())
        return -1;
    return m_open.firstKey() + m_window.sizeMs;
}

} // namespace ferry::rules
