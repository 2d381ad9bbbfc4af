#pragma once
// Per-rule counters, as published under $SYS/rules/<name>/... and shown on the dashboard.

#include <QString>

namespace ferry::rules {

struct RuleMetrics {
    QString name;
    quint64 matched = 0;  // a FROM filter matched the message or event
    quint64 passed = 0;   // WHERE held (for windows: the message was added to a window)
    quint64 noResult = 0; // WHERE did not hold, or FOREACH produced no row
    quint64 failed = 0;   // the rule raised, exceeded its budget, or a value was invalid
    QString lastError;
    quint64 outputs = 0;       // rows handed to the actions
    quint64 actionsFired = 0;  // action executions that succeeded (webhook: 2xx received)
    quint64 actionsFailed = 0; // action executions that failed (with lastActionError)
    QString lastActionError;
    quint64 timeNs = 0; // time spent executing the rule (not its asynchronous actions)
};

} // namespace ferry::rules
