#pragma once
// The registry of SQL functions: name, arity, and whether C++ (Qt) or the Lua prelude
// implements it. Codegen checks calls against it at load, so an unknown function or a wrong
// argument count is a compile error with a position, never a run-time surprise.

#include <QByteArray>
#include <QVariant>

#include <functional>

struct lua_State;

namespace ferry::rules {

struct BuiltinContext {
    std::function<qint64()> nowMs; // the engine's clock (wall-clock ms since the epoch)
    QString error;                 // set by a function to raise a rule error
};

using NativeFn = QVariant (*)(const QVariantList &args, BuiltinContext &ctx);

struct BuiltinInfo {
    const char *name;
    int minArgs;
    int maxArgs;     // -1: any number
    NativeFn native; // null: implemented in the Lua prelude under the same name
};

const BuiltinInfo *findBuiltin(const QByteArray &name);
const BuiltinInfo *builtinTable(int *count);

// Window aggregates: avg, min, max, sum, count, first, last.
bool isAggregate(const QByteArray &name);

// Largest string or collection a built-in may produce: C++ work happens outside the Lua
// allocator's cap, so the built-ins enforce their own.
constexpr qsizetype kMaxBuiltinResult = 1 << 20;

} // namespace ferry::rules
