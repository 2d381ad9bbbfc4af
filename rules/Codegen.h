#pragma once
// Compiles a parsed statement to Lua 5.4 source, once per rule.
//
// Generated code is straight-line Lua over locals: every SQL operator becomes a call to a
// prelude helper with EMQX's semantics (ADD, EQ, GET, ...), CASE and short-circuit operands
// become if-statements over temporaries, and payload.a.b reads from a JSON table that JDEC
// decodes once per message, converting only the members the rule names. Unknown functions,
// wrong argument counts and misplaced aggregates are reported here with their SQL offset.

#include "rules/CompiledQuery.h"
#include "rules/SqlError.h"

namespace ferry::rules {

class Codegen {
public:
    static bool compile(const Statement &st, CompiledQuery *out, SqlError *error);
};

} // namespace ferry::rules
