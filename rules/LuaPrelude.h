#pragma once
// The trusted Lua helpers that generated rule code calls: operators with EMQX's semantics for
// undefined values and type mismatches, field access, and the built-ins that are simplest in
// Lua (math, bits, type tests, maps and arrays). Loaded once per runtime with a private
// environment; only the table it returns is exposed to rules.

namespace ferry::rules {

extern const char *const kLuaPrelude;

} // namespace ferry::rules
