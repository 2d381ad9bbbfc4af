#pragma once
// One sandboxed Lua 5.4 state that runs compiled rules.
//
// The sandbox, after Redis's scripting (src/script_lua.c, src/eval.c):
// - rule chunks are loaded as text only (mode "t": no bytecode) with an environment that holds
//   only the operator helpers and the SQL built-ins; the environment is read-only and has no
//   io, os, require, load, dofile, debug, string, pcall or setmetatable;
// - strings have no metatable, so ("x"):rep(n) is not reachable;
// - a count hook gives every call an instruction budget; once exceeded the hook raises again
//   at every tick, so nothing can swallow it;
// - a custom lua_Alloc caps the state's memory; a failed allocation is a Lua memory error.
// A call that exceeds a limit or raises returns false with the message; the state stays usable.
// Not thread-safe: one runtime belongs to one thread (the broker's event loop).

#include "rules/Builtins.h"

#include <QByteArray>
#include <QList>
#include <QString>

struct lua_State;
struct lua_Debug;

namespace ferry::rules {

class LuaRuntime {
public:
    LuaRuntime();
    ~LuaRuntime();
    LuaRuntime(const LuaRuntime &) = delete;
    LuaRuntime &operator=(const LuaRuntime &) = delete;

    lua_State *state() const { return L; }
    bool isValid() const { return L != nullptr; }

    // Loads source in the sandbox and runs it once; the values it returns (functions) are
    // kept in the registry and their references appended to *refs.
    bool load(const QByteArray &source, const QByteArray &chunkName, QList<int> *refs,
              QString *error);
    void unref(int ref);

    // Calls the function `ref` with `nargs` arguments that the caller pushed after
    // pushFunction(ref). On success the results are on the stack above `base` (the top before
    // pushFunction); on failure *error is set. The caller restores the stack with settop(base).
    int pushFunction(int ref); // returns base
    bool call(int nargs, QString *error);
    void settop(int base);

    void setInstructionBudget(qint64 instructions) { m_budgetTicks = instructions / kTick + 1; }
    void setMemoryLimit(size_t bytes) { m_memLimit = bytes; }
    size_t memoryUsed() const { return m_memUsed; }
    void setClock(std::function<qint64()> nowMs) { m_ctx.nowMs = std::move(nowMs); }
    // The payload JDECP(shape) decodes during the next calls (a null QByteArray: undefined).
    // Lent by the engine for one execution; clearPayload() after it.
    void setPayload(const QByteArray &payload) { m_payload = payload; }
    void clearPayload() { m_payload = QByteArray(); }

    static constexpr int kTick = 1000; // instructions between hook calls

private:
    static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize);
    static void hook(lua_State *L, lua_Debug *ar);
    static int callNative(lua_State *L);
    static int jsonEncode(lua_State *L);
    static int jsonDecodePayload(lua_State *L);
    static int topicMatch(lua_State *L);
    static LuaRuntime *self(lua_State *L);
    bool buildEnvironment();

    lua_State *L = nullptr;
    int m_envRef = -2;
    size_t m_memUsed = 0;
    size_t m_memLimit = 64u << 20;
    bool m_limitActive = false; // the cap applies during call() only
    qint64 m_budgetTicks = 1000;
    qint64 m_ticks = 0;
    BuiltinContext m_ctx;
    QVariantList m_args; // scratch for native calls: kept off the C stack because a
    QVariant m_result;   // Lua error longjmps over C++ frames without running destructors
    QByteArray m_payload; // for JDECP
    char m_errorBuf[512] = {};
};

} // namespace ferry::rules
