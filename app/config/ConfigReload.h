#pragma once

// What a reload (SIGHUP) can apply. Every key's row in the schema says whether a change takes
// effect live or only after a restart; listeners always need a restart (a socket is bound once).

#include "config/Config.h"

namespace ferry::config {

// Returns the dotted names of keys that differ between `running` and `next` and apply live
// (e.g. "limits.max_inflight", "log.level"). Differences that need a restart are appended to
// `*needsRestart` when it is given: "storage.path", "listener mqtt@127.0.0.1:1883 (added)".
// Both lists are in schema order.
QStringList reloadableDifferences(const Config &running, const Config &next,
                                  QStringList *needsRestart);

} // namespace ferry::config
