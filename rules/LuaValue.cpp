#include "rules/LuaValue.h"

#include "rules/Json.h"

#include <lua.hpp>
#include <simdjson.h>

#include <algorithm>
#include <cstring>

namespace ferry::rules::luavalue {

namespace {

char nullTag;
char arrayMetatableKey;
constexpr int kMaxDepth = 64;
// Objects up to this many fields are decoded by looking up the shape's keys in them.
constexpr size_t kShapeScanMax = 32;

void pushElement(lua_State *L, simdjson::dom::element e, int shapeIdx, int depth)
{
    using simdjson::dom::element_type;
    luaL_checkstack(L, 6, "json nesting");
    if (depth > kMaxDepth) {
        lua_pushlightuserdata(L, &nullTag);
        return;
    }
    switch (e.type()) {
    case element_type::OBJECT: {
        const simdjson::dom::object object(e);
        if (shapeIdx != 0 && object.size() <= kShapeScanMax) {
            // The shape's [1] is its key count (Codegen): size the table once.
            lua_rawgeti(L, shapeIdx, 1);
            const int keys = int(lua_tointeger(L, -1));
            lua_pop(L, 1);
            lua_createtable(L, 0, std::min(keys, int(object.size())));
        } else {
            lua_createtable(L, 0, int(std::min<size_t>(object.size(), 1024)));
        }
        const int t = lua_gettop(L);
        if (shapeIdx != 0 && object.size() <= kShapeScanMax) {
            // Small object: walk the shape's keys (strings already in Lua, so nothing is
            // interned) and find each in the object; a key given twice takes its last value,
            // as the walk over every field below does.
            lua_pushnil(L);
            while (lua_next(L, shapeIdx) != 0) { // key, shape[key]
                if (lua_type(L, -2) != LUA_TSTRING || lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    continue;
                }
                size_t len = 0;
                const char *key = lua_tolstring(L, -2, &len);
                simdjson::dom::element found;
                bool have = false;
                for (auto field : object) {
                    if (field.key.size() == len && std::memcmp(field.key.data(), key, len) == 0) {
                        found = field.value;
                        have = true;
                    }
                }
                if (!have) {
                    lua_pop(L, 1);
                    continue;
                }
                const int sub = lua_gettop(L);
                lua_pushvalue(L, -2); // key
                pushElement(L, found, lua_istable(L, sub) ? sub : 0, depth + 1);
                lua_rawset(L, t);
                lua_pop(L, 1); // shape[key]; the key stays for lua_next
            }
            return;
        }
        for (auto field : object) {
            lua_pushlstring(L, field.key.data(), field.key.size());
            if (shapeIdx == 0) {
                pushElement(L, field.value, 0, depth + 1);
                lua_rawset(L, t);
                continue;
            }
            // shape[key]: nil = skip, a table = nested shape, anything else = convert fully.
            // The key pushed above is looked up once and then reused for the rawset.
            lua_pushvalue(L, -1);
            const int kind = lua_rawget(L, shapeIdx);
            if (kind == LUA_TNIL) {
                lua_pop(L, 2);
                continue;
            }
            const int sub = lua_gettop(L);
            pushElement(L, field.value, kind == LUA_TTABLE ? sub : 0, depth + 1);
            lua_replace(L, sub); // key, value
            lua_rawset(L, t);
        }
        return;
    }
    case element_type::ARRAY: {
        // Arrays are converted whole: an index may be computed at run time.
        lua_createtable(L, int(std::min<size_t>(simdjson::dom::array(e).size(), 1024)), 0);
        const int t = lua_gettop(L);
        lua_Integer i = 0;
        for (auto item : simdjson::dom::array(e)) {
            pushElement(L, item, 0, depth + 1);
            lua_rawseti(L, t, ++i);
        }
        pushArrayMetatable(L);
        lua_setmetatable(L, t);
        return;
    }
    case element_type::STRING: {
        std::string_view s = e.get_string().value_unsafe();
        lua_pushlstring(L, s.data(), s.size());
        return;
    }
    case element_type::INT64:
        lua_pushinteger(L, e.get_int64().value_unsafe());
        return;
    case element_type::UINT64:
        lua_pushnumber(L, double(e.get_uint64().value_unsafe()));
        return;
    case element_type::DOUBLE:
        lua_pushnumber(L, e.get_double().value_unsafe());
        return;
    case element_type::BOOL:
        lua_pushboolean(L, e.get_bool().value_unsafe());
        return;
    case element_type::NULL_VALUE:
        lua_pushlightuserdata(L, &nullTag);
        return;
    }
    lua_pushnil(L);
}

bool isArrayTable(lua_State *L, int idx)
{
    if (lua_getmetatable(L, idx)) {
        pushArrayMetatable(L);
        const bool isArr = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        return isArr;
    }
    // A plain table is an array when its keys are exactly 1..n (n > 0).
    const lua_Unsigned n = lua_rawlen(L, idx);
    if (n == 0)
        return false;
    lua_Unsigned count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        ++count;
    }
    return count == n;
}

} // namespace

void *nullSentinel()
{
    return &nullTag;
}

void pushArrayMetatable(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &arrayMetatableKey) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &arrayMetatableKey);
}

QVariant toVariant(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        return bool(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return QVariant::fromValue<qint64>(lua_tointeger(L, idx));
        return double(lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t len = 0;
        const char *s = lua_tolstring(L, idx, &len);
        return QByteArray(s, int(len));
    }
    case LUA_TLIGHTUSERDATA:
        return lua_touserdata(L, idx) == &nullTag ? json::nullValue() : QVariant();
    case LUA_TTABLE: {
        if (depth > kMaxDepth || !lua_checkstack(L, 4))
            return json::nullValue();
        if (isArrayTable(L, idx)) {
            QVariantList list;
            const lua_Unsigned n = lua_rawlen(L, idx);
            for (lua_Unsigned i = 1; i <= n; ++i) {
                lua_rawgeti(L, idx, lua_Integer(i));
                QVariant v = toVariant(L, -1, depth + 1);
                lua_pop(L, 1);
                list.append(v.isValid() ? v : json::nullValue());
            }
            return list;
        }
        QVariantMap map;
        lua_pushnil(L);
        while (lua_next(L, idx) != 0) {
            QString key;
            if (lua_type(L, -2) == LUA_TSTRING) {
                size_t len = 0;
                const char *k = lua_tolstring(L, -2, &len);
                key = QString::fromUtf8(k, qsizetype(len));
            } else if (lua_isinteger(L, -2)) {
                key = QString::number(lua_tointeger(L, -2));
            }
            QVariant v = toVariant(L, -1, depth + 1);
            if (!key.isNull())
                map.insert(key, v);
            lua_pop(L, 1);
        }
        return map;
    }
    default:
        return QVariant();
    }
}

void pushVariant(lua_State *L, const QVariant &v, int depth)
{
    luaL_checkstack(L, 4, "value nesting");
    switch (v.typeId()) {
    case QMetaType::UnknownType:
        lua_pushnil(L);
        return;
    case QMetaType::Nullptr:
        lua_pushlightuserdata(L, &nullTag);
        return;
    case QMetaType::Bool:
        lua_pushboolean(L, v.toBool());
        return;
    case QMetaType::Int:
    case QMetaType::UInt:
    case QMetaType::LongLong:
    case QMetaType::ULongLong:
        lua_pushinteger(L, v.toLongLong());
        return;
    case QMetaType::Double:
    case QMetaType::Float:
        lua_pushnumber(L, v.toDouble());
        return;
    case QMetaType::QByteArray: {
        const QByteArray b = v.toByteArray();
        lua_pushlstring(L, b.constData(), size_t(b.size()));
        return;
    }
    case QMetaType::QString: {
        const QByteArray b = v.toString().toUtf8();
        lua_pushlstring(L, b.constData(), size_t(b.size()));
        return;
    }
    case QMetaType::QVariantList: {
        const QVariantList list = v.toList();
        lua_createtable(L, int(list.size()), 0);
        lua_Integer i = 0;
        for (const QVariant &e : list) {
            if (depth < kMaxDepth && e.isValid())
                pushVariant(L, e, depth + 1);
            else
                lua_pushlightuserdata(L, &nullTag);
            lua_rawseti(L, -2, ++i);
        }
        pushArrayMetatable(L);
        lua_setmetatable(L, -2);
        return;
    }
    case QMetaType::QVariantMap: {
        const QVariantMap map = v.toMap();
        lua_createtable(L, 0, int(map.size()));
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            if (!it.value().isValid() || depth >= kMaxDepth)
                continue;
            const QByteArray k = it.key().toUtf8();
            lua_pushlstring(L, k.constData(), size_t(k.size()));
            pushVariant(L, it.value(), depth + 1);
            lua_rawset(L, -3);
        }
        return;
    }
    default:
        lua_pushnil(L);
    }
}

int jsonDecode(lua_State *L)
{
    size_t len = 0;
    const char *text = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : nullptr;
    pushJson(L, text, len, lua_istable(L, 2) ? 2 : 0);
    return 1;
}

void pushJson(lua_State *L, const char *text, size_t len, int shapeIdx)
{
    if (!text) {
        lua_pushnil(L);
        return;
    }
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(text, len).get(root) != simdjson::SUCCESS) {
        lua_pushnil(L);
        return;
    }
    pushElement(L, root, shapeIdx, 0);
    if (lua_islightuserdata(L, -1)) { // top-level null is undefined
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

} // namespace ferry::rules::luavalue
