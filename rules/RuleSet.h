#pragma once
// A loaded, compiled set of rules with its own Lua state and FROM index. Replaced whole on
// reload, so a half-loaded set is never visible.

#include "rules/Action.h"
#include "rules/CompiledQuery.h"
#include "rules/FilterMatch.h"
#include "rules/LuaRuntime.h"
#include "rules/RuleFile.h"
#include "rules/WindowAggregator.h"

#include <memory>
#include <vector>

namespace ferry::rules {

struct CompiledRule {
    RuleSpec spec;
    CompiledQuery query;
    int fnRef = -1;     // select/foreach function, or collect for windows
    int finishRef = -1; // windows only
    std::vector<std::unique_ptr<Action>> actions;
    std::unique_ptr<WindowAggregator> window;
    std::shared_ptr<RuleMetrics> metrics;
    // query.columns as row keys, converted once at load; a null QString for a dotted
    // (nested) alias, which is inserted by path.
    QStringList columnKeys;
};

struct RuleSet {
    LuaRuntime runtime;
    std::vector<std::unique_ptr<CompiledRule>> rules;
    FilterIndex index; // FROM filter -> index into rules
};

} // namespace ferry::rules
