#include "core/Topic.h"

namespace ferry::core {

namespace {

bool withinSizeAndNoNul(QByteArrayView s)
{
    return !s.isEmpty() && s.size() <= kMaxTopicBytes && !s.contains('\0');
}

} // namespace

int topicLevelCount(QByteArrayView topicOrFilter)
{
    if (topicOrFilter.isEmpty())
        return 0;
    return int(topicOrFilter.count('/')) + 1;
}

bool withinLevelLimit(QByteArrayView topicOrFilter, int maxLevels)
{
    int levels = topicOrFilter.isEmpty() ? 0 : 1;
    for (char c : topicOrFilter) {
        if (c == '/' && ++levels > maxLevels)
            return false;
    }
    return levels <= maxLevels;
}

bool isValidTopicName(QByteArrayView topic)
{
    // "The wildcard characters can be used in Topic Filters, but MUST NOT be used within a
    // Topic Name" [MQTT-4.7.0-1].
    return withinSizeAndNoNul(topic) && !topic.contains('+') && !topic.contains('#');
}

bool isValidTopicFilter(QByteArrayView filter)
{
    if (!withinSizeAndNoNul(filter))
        return false;
    TopicLevelCursor levels(filter);
    while (!levels.atEnd()) {
        const QByteArrayView level = levels.next();
        if (level.contains('#')) {
            // "The multi-level wildcard character MUST be specified either on its own or
            // following a topic level separator. In either case it MUST be the last character
            // specified in the Topic Filter" [MQTT-4.7.1-1].
            if (level.size() != 1 || !levels.atEnd())
                return false;
        } else if (level.contains('+') && level.size() != 1) {
            // "Where it is used, it MUST occupy an entire level of the filter" [MQTT-4.7.1-2].
            return false;
        }
    }
    return true;
}

ShareParse parseSharedSubscription(QByteArrayView filter, SharedSubscription *out)
{
    constexpr QByteArrayView prefix("$share/");
    if (!filter.startsWith(prefix))
        return ShareParse::NotShared;
    const QByteArrayView rest = filter.sliced(prefix.size());
    const qsizetype slash = rest.indexOf('/');
    if (slash < 0)
        return ShareParse::Invalid; // "$share/ab": the ShareName MUST be followed by a "/"
    const QByteArrayView group = rest.first(slash);
    if (group.isEmpty() || group.contains('+') || group.contains('#'))
        return ShareParse::Invalid; // [MQTT-4.8.2-1], [MQTT-4.8.2-2]
    const QByteArrayView inner = rest.sliced(slash + 1);
    // isValidTopicFilter rejects the empty filter of "$share/g/" and bounds the size.
    if (filter.size() > kMaxTopicBytes || !isValidTopicFilter(inner))
        return ShareParse::Invalid; // "This "/" character MUST be followed by a Topic Filter"
    if (out) {
        out->group = group.toByteArray();
        out->filter = inner.toByteArray();
    }
    return ShareParse::Valid;
}

bool topicMatchesFilter(QByteArrayView filter, QByteArrayView topic)
{
    if (filter.isEmpty() || topic.isEmpty())
        return false;
    // [MQTT-4.7.2-1]: "$SYS/x" is matched by "$SYS/#" but never by "#" or "+/x".
    if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#'))
        return false;
    TopicLevelCursor f(filter);
    TopicLevelCursor t(topic);
    while (!f.atEnd()) {
        const QByteArrayView fl = f.next();
        if (fl == QByteArrayView("#"))
            return true; // the rest of the topic, including no level at all
        if (t.atEnd())
            return false;
        const QByteArrayView tl = t.next();
        if (fl != QByteArrayView("+") && fl != tl)
            return false;
    }
    return t.atEnd();
}

} // namespace ferry::core
