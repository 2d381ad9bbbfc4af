#pragma once
// Topic names and topic filters: validation, shared-subscription parsing and the reference
// matcher (MQTT 5.0 sections 4.7 and 4.8.2; MQTT 3.1.1 section 4.7). Normative ids are MQTT
// 5.0's; 3.1.1 numbers the wildcard rules one higher (4.7.1-1/2/3 for 5.0's 4.7.0-1, 4.7.1-1/2).
//
// Contract: inputs are UTF-8 already validated by the codec (MQTT-1.5.4-1). These functions are
// pure, allocate nothing (except parseSharedSubscription's output) and never recurse, so a
// topic with thousands of levels costs time linear in its length and constant stack.

#include <QByteArray>
#include <QByteArrayView>

namespace ferry::core {

// "Topic Names or Topic Filters MUST NOT encode to more than 65,535 bytes" [MQTT-4.7.3-3].
inline constexpr qsizetype kMaxTopicBytes = 65535;

// Default cap on the number of levels of a topic or filter, enforced by the protocol adapters
// (Limits), not by the validators below. The spec sets no level limit; 128 is what Solace
// enforces and far above what devices use (AWS IoT allows 8). Nothing here depends on it for
// safety: the matchers are iterative. It bounds the memory one subscription can pin.
inline constexpr int kDefaultMaxTopicLevels = 128;

// Walks the '/'-separated levels of a topic or filter as views, without allocating.
// Empty levels are levels: "a//b" yields "a", "", "b"; "/" yields "", "".
// An empty input yields no level at all.
class TopicLevelCursor {
public:
    explicit TopicLevelCursor(QByteArrayView s) : s_(s), done_(s.isEmpty()) {}
    bool atEnd() const { return done_; }
    // Precondition: !atEnd().
    QByteArrayView next()
    {
        const qsizetype end = s_.indexOf('/', pos_);
        QByteArrayView level;
        if (end < 0) {
            level = s_.sliced(pos_);
            done_ = true;
        } else {
            level = s_.sliced(pos_, end - pos_);
            pos_ = end + 1;
        }
        return level;
    }

private:
    QByteArrayView s_;
    qsizetype pos_ = 0;
    bool done_;
};

// Number of levels: separators + 1; 0 for an empty string (which is no valid topic).
int topicLevelCount(QByteArrayView topicOrFilter);

// True when the topic or filter has at most maxLevels levels (stops counting early).
bool withinLevelLimit(QByteArrayView topicOrFilter, int maxLevels = kDefaultMaxTopicLevels);

// A Topic Name a client may PUBLISH to: non-empty [MQTT-4.7.3-1], no wildcard [MQTT-4.7.0-1],
// no U+0000 [MQTT-4.7.3-2], at most 65,535 bytes [MQTT-4.7.3-3].
bool isValidTopicName(QByteArrayView topic);

// A Topic Filter a client may SUBSCRIBE to: non-empty, no U+0000, at most 65,535 bytes, '#' alone
// in the last level [MQTT-4.7.1-1], '+' alone in its level [MQTT-4.7.1-2]. A "$share/..." filter
// is also syntactically a filter; whether it is a well-formed shared subscription is
// parseSharedSubscription's job.
bool isValidTopicFilter(QByteArrayView filter);

struct SharedSubscription {
    QByteArray group;  // the ShareName
    QByteArray filter; // the Topic Filter after "$share/{ShareName}/"
};

enum class ShareParse { NotShared, Valid, Invalid };

// Splits "$share/{ShareName}/{filter}" (MQTT 5.0 section 4.8.2).
// - NotShared: the filter does not start with "$share/"; *out is untouched.
// - Invalid: "A Shared Subscription's Topic Filter MUST start with $share/ and MUST contain a
//   ShareName that is at least one character long" [MQTT-4.8.2-1]; "The ShareName MUST NOT
//   contain the characters "/", "+" or "#", but MUST be followed by a "/" character. This "/"
//   character MUST be followed by a Topic Filter" [MQTT-4.8.2-2]. So "$share/ab" (no second
//   slash: NanoMQ CVE-2025-68699), "$share//x", "$share/g/" and "$share/g+/x" are Invalid.
// - Valid: *out (if not null) receives the group and the inner filter.
ShareParse parseSharedSubscription(QByteArrayView filter, SharedSubscription *out);

// The reference matcher: does a valid topic filter match a valid topic name?
// '+' matches exactly one level (possibly empty), '#' matches the remaining levels including
// none ("sport/#" matches "sport"), and "The Server MUST NOT match Topic Filters starting with a
// wildcard character (# or +) with Topic Names beginning with a $ character" [MQTT-4.7.2-1].
// Iterative; TopicTree and RetainedStore are tested against it.
bool topicMatchesFilter(QByteArrayView filter, QByteArrayView topic);

} // namespace ferry::core
