#pragma once
// The trusted Lua helpers that generated rule code calls: operators with EMQX's semantics for
// undefined values and type mismatches, field access, and the built-ins that are simplest in
// Lua (math, bits, type tests, maps and arrays). Loaded once per runtime with a private
// environment; only the table it returns is exposed to rules.
//
// Value semantics of the dialect (EMQX's where EMQX defines them):
// - A missing field, a field of a non-JSON payload and JSON null are all `undefined`; an
//   undefined output column is left out of the row; a template renders it as "".
// - Comparisons: undefined against anything is false (=, !=, <, ... alike), except
//   undefined = undefined (true) and <=/>= of two undefined; a number against a numeric string
//   compares numerically; a number against a non-numeric string raises (EMQX does too);
//   a boolean against a string compares as text ('true'); maps/arrays compare deeply for =
//   and cannot be ordered; other mixed types are unequal.
// - Arithmetic: + - * on numbers (integers stay integers); / always gives a float; div and mod
//   need integers (truncating, sign of the dividend); + with a string operand concatenates
//   str() of both sides; anything else, undefined included, raises. Division by zero raises.
// - Logic: AND, OR, NOT and WHERE treat only `true` as true; their result is a boolean.
// - payload.a.b decodes the payload JSON once per message, converting only the members the
//   rule names; arrays are 1-based, negative indexes count from the end.
// - A raised error fails the rule for that message (counted in RuleMetrics::failed).

namespace ferry::rules {

extern const char *const kLuaPrelude;

} // namespace ferry::rules
