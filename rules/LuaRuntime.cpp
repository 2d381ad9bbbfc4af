#include "rules/LuaRuntime.h"

#include "rules/FilterMatch.h"
#include "rules/Json.h"
#include "rules/LuaPrelude.h"
#include "rules/LuaValue.h"

#include <QDateTime>

#include <lua.hpp>

#include <cstdlib>
#include <cstring>

namespace ferry::rules {

LuaRuntime::LuaRuntime()
{
    m_ctx.nowMs = [] { return QDateTime::currentMSecsSinceEpoch(); };
    L = lua_newstate(&LuaRuntime::alloc, this);
    if (!L)
        return;
    *static_cast<LuaRuntime **>(lua_getextraspace(L)) = this;
    if (!buildEnvironment()) {
        lua_close(L);
        L = nullptr;
        return;
    }
    lua_sethook(L, &LuaRuntime::hook, LUA_MASKCOUNT, kTick);
}

LuaRuntime::~LuaRuntime()
{
    if (L)
        lua_close(L);
}

LuaRuntime *LuaRuntime::self(lua_State *L)
{
    return *static_cast<LuaRuntime **>(lua_getextraspace(L));
}

void *LuaRuntime::alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    auto *rt = static_cast<LuaRuntime *>(ud);
    const size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        rt->m_memUsed -= old;
        std::free(ptr);
        return nullptr;
    }
    if (nsize > old && rt->m_limitActive && rt->m_memUsed - old + nsize > rt->m_memLimit)
        return nullptr; // Lua turns this into a memory error
    void *p = std::realloc(ptr, nsize);
    if (p)
        rt->m_memUsed = rt->m_memUsed - old + nsize;
    return p;
}

void LuaRuntime::hook(lua_State *L, lua_Debug *)
{
    LuaRuntime *rt = self(L);
    if (++rt->m_ticks > rt->m_budgetTicks) {
        lua_pushliteral(L, "instruction budget exceeded");
        lua_error(L);
    }
}

int LuaRuntime::callNative(lua_State *L)
{
    LuaRuntime *rt = self(L);
    const NativeFn fn = reinterpret_cast<NativeFn>(lua_touserdata(L, lua_upvalueindex(1)));
    const int n = lua_gettop(L);
    bool failed = false;
    {
        rt->m_args.clear();
        for (int i = 1; i <= n; ++i)
            rt->m_args.append(luavalue::toVariant(L, i));
        rt->m_ctx.error.clear();
        rt->m_result = fn(rt->m_args, rt->m_ctx);
        if (!rt->m_ctx.error.isEmpty()) {
            failed = true;
            const QByteArray msg = rt->m_ctx.error.toUtf8();
            qstrncpy(rt->m_errorBuf, msg.constData(), sizeof rt->m_errorBuf);
        }
        rt->m_args.clear();
    }
    if (failed) {
        lua_pushstring(L, rt->m_errorBuf); // no "chunk:line:" prefix: the message is the user's
        return lua_error(L);
    }
    luavalue::pushVariant(L, rt->m_result);
    rt->m_result.clear();
    return 1;
}

int LuaRuntime::jsonEncode(lua_State *L)
{
    LuaRuntime *rt = self(L);
    rt->m_result = json::write(luavalue::toVariant(L, 1));
    luavalue::pushVariant(L, rt->m_result);
    rt->m_result.clear();
    return 1;
}

// JDECP(shape): JDEC of the payload lent by setPayload(), read from its own bytes.
int LuaRuntime::jsonDecodePayload(lua_State *L)
{
    const QByteArray &p = self(L)->m_payload;
    luavalue::pushJson(L, p.isNull() ? nullptr : p.constData(), size_t(p.size()),
                       lua_istable(L, 1) ? 1 : 0);
    return 1;
}

// TMATCH(topic, filter): the =~ operator. Undefined on either side is false.
int LuaRuntime::topicMatch(lua_State *L)
{
    size_t tl = 0, fl = 0;
    const char *t = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &tl) : nullptr;
    const char *f = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &fl) : nullptr;
    lua_pushboolean(
        L, t && f &&
               filterMatches(QByteArrayView(f, qsizetype(fl)), QByteArrayView(t, qsizetype(tl))));
    return 1;
}

bool LuaRuntime::buildEnvironment()
{
    // Trusted libraries for the prelude only; rules never see the global table.
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    lua_settop(L, 0);

    if (luaL_loadbufferx(L, kLuaPrelude, std::strlen(kLuaPrelude), "=prelude", "t") != LUA_OK) {
        qWarning("ferry.rules: prelude does not compile: %s", lua_tostring(L, -1));
        return false;
    }
    lua_pushlightuserdata(L, luavalue::nullSentinel());
    luavalue::pushArrayMetatable(L);
    lua_pushcfunction(L, &LuaRuntime::jsonEncode);
    lua_pushcfunction(L, &luavalue::jsonDecode);
    if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
        qWarning("ferry.rules: prelude failed: %s", lua_tostring(L, -1));
        return false;
    }
    const int helpers = lua_gettop(L);

    // The rule environment: a fresh table with the helpers, the natives and nothing else.
    lua_newtable(L);
    const int env = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, helpers) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, env);
    }
    int count = 0;
    const BuiltinInfo *table = builtinTable(&count);
    for (int i = 0; i < count; ++i) {
        if (!table[i].native)
            continue;
        lua_pushlightuserdata(L, reinterpret_cast<void *>(table[i].native));
        lua_pushcclosure(L, &LuaRuntime::callNative, 1);
        lua_setfield(L, env, table[i].name);
    }
    lua_pushcfunction(L, &LuaRuntime::jsonEncode);
    lua_setfield(L, env, "json_encode");
    lua_pushcfunction(L, &luavalue::jsonDecode);
    lua_setfield(L, env, "JDEC");
    lua_pushcfunction(L, &LuaRuntime::jsonDecodePayload);
    lua_setfield(L, env, "JDECP");
    lua_pushcfunction(L, &LuaRuntime::topicMatch);
    lua_setfield(L, env, "TMATCH");
    // Read-only: rules see an empty proxy whose reads fall through to the real table and
    // whose writes fail; the metatable itself is hidden.
    lua_newtable(L);
    const int proxy = lua_gettop(L);
    lua_newtable(L);
    lua_pushvalue(L, env);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, [](lua_State *L) -> int {
        lua_pushliteral(L, "the rule environment is read-only");
        return lua_error(L);
    });
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, proxy);
    lua_pushvalue(L, proxy);
    m_envRef = luaL_ref(L, LUA_REGISTRYINDEX);

    // No string methods: the prelude captured what it needs as upvalues.
    lua_pushliteral(L, "");
    lua_pushnil(L);
    lua_setmetatable(L, -2);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCGEN, 0, 0); // generational GC: rules make short-lived garbage
    return true;
}

bool LuaRuntime::load(const QByteArray &source, const QByteArray &chunkName, QList<int> *refs,
                      QString *error)
{
    const int base = lua_gettop(L);
    const QByteArray name = "=" + chunkName;
    if (luaL_loadbufferx(L, source.constData(), size_t(source.size()), name.constData(), "t") !=
        LUA_OK) {
        *error = QString::fromUtf8(lua_tostring(L, -1));
        lua_settop(L, base);
        return false;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, m_envRef);
    lua_setupvalue(L, -2, 1); // _ENV
    if (!call(0, error)) {
        lua_settop(L, base);
        return false;
    }
    const int top = lua_gettop(L);
    for (int i = base + 1; i <= top; ++i) {
        lua_pushvalue(L, i);
        refs->append(luaL_ref(L, LUA_REGISTRYINDEX));
    }
    lua_settop(L, base);
    return true;
}

void LuaRuntime::unref(int ref)
{
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
}

int LuaRuntime::pushFunction(int ref)
{
    const int base = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    return base;
}

bool LuaRuntime::call(int nargs, QString *error)
{
    m_ticks = 0;
    // The cap applies inside the protected call only: outside it a failed allocation would
    // be an unprotected error (a panic), and the arguments were pushed out there.
    m_limitActive = true;
    const int rc = lua_pcall(L, nargs, LUA_MULTRET, 0);
    m_limitActive = false;
    if (rc == LUA_OK)
        return true;
    if (lua_type(L, -1) == LUA_TSTRING)
        *error = QString::fromUtf8(lua_tostring(L, -1));
    else
        *error = QStringLiteral("rule raised a non-string error");
    lua_pop(L, 1);
    return false;
}

void LuaRuntime::settop(int base)
{
    lua_settop(L, base);
}

} // namespace ferry::rules
