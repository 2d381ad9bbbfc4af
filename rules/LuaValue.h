#pragma once
// Moving rule values between Lua and C++.
//
// In Lua, undefined is nil; a JSON null inside an array or map is the light userdata NULL
// (nil cannot be stored in a table); arrays carry the metatable ARR so that an empty array and
// an empty map stay distinct. Strings are byte strings both sides (QByteArray in C++).

#include <QVariant>

struct lua_State;

namespace ferry::rules::luavalue {

void *nullSentinel();
void pushArrayMetatable(lua_State *L); // pushes the shared ARR metatable (created on first use)

// Reads the value at stack index idx. Never raises a Lua error.
QVariant toVariant(lua_State *L, int idx, int depth = 0);
// Pushes value. May raise a Lua memory error (then only this call's temporaries are leaked).
void pushVariant(lua_State *L, const QVariant &value, int depth = 0);
// lua_CFunction JDEC(text [, shape]): decodes JSON text to Lua, converting only the members
// named in shape (a table of key -> true | sub-shape); no shape converts everything. Returns
// nil when the text is not JSON.
int jsonDecode(lua_State *L);
// What JDEC does for text (null: undefined) and the shape at stack index shapeIdx (0: none):
// pushes the decoded value, or nil.
void pushJson(lua_State *L, const char *text, size_t len, int shapeIdx);

} // namespace ferry::rules::luavalue
