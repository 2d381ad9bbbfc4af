#include "rules/LuaPrelude.h"

namespace ferry::rules {

// Semantics (the contract is stated in LuaPrelude.h):
// - undefined (nil) propagates through field access; a JSON null inside a container (NULL)
//   reads as undefined.
// - comparisons: undefined against a value is false (both undefined: = is true); a number
//   against a numeric string compares as numbers; a boolean against a string compares as text;
//   a non-numeric string against a number is an error, as in EMQX.
// - arithmetic on undefined or a non-number is an error; + with a string concatenates.
const char *const kLuaPrelude = R"LUA(
local NULL, ARR, JENC, JDEC = ...
local type, tostring, tonumber, error, select = type, tostring, tonumber, error, select
local rawlen, rawget, next, pairs, setmetatable, getmetatable = rawlen, rawget, next, pairs, setmetatable, getmetatable
local mtype, floor, ceil, huge, fmod = math.type, math.floor, math.ceil, math.huge, math.fmod
local sfmt, sfind, gmatch = string.format, string.find, string.gmatch
local tsort, mtointeger, mabs, msqrt, mexp, mlog = table.sort, math.tointeger, math.abs, math.sqrt, math.exp, math.log
local F = {}

local function tn(v)
  if v == nil or v == NULL then return 'undefined' end
  local t = type(v)
  if t == 'table' then return getmetatable(v) == ARR and 'array' or 'map' end
  return t
end
F.NULL = NULL

local function isarr(v) return type(v) == 'table' and getmetatable(v) == ARR end
local function arr(t) return setmetatable(t, ARR) end
F.ARR = arr

local function fmtnum(n)
  if mtype(n) == 'integer' then return tostring(n) end
  if n ~= n or n == huge or n == -huge then return tostring(n) end
  local s = sfmt('%.15g', n)
  if tonumber(s) ~= n then s = sfmt('%.17g', n) end
  if not sfind(s, '[%.eEn]') then s = s .. '.0' end
  return s
end

local function str(v)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'number' then return fmtnum(v) end
  if t == 'boolean' then return v and 'true' or 'false' end
  if v == nil or v == NULL then return 'undefined' end
  if t == 'table' then return JENC(v) end
  error('cannot convert ' .. tn(v) .. ' to string', 0)
end
F.str = str

-- Indexing with v[k] is rawget here: the only metatable a rule's tables carry is ARR, which
-- has no __index (and rules cannot set metatables). One C call (type) instead of two.
function F.GET(v, k)
  local t = type(v)
  if t == 'table' then
    local r = v[k]
    if r == NULL then return nil end
    return r
  elseif t == 'string' then -- a JSON string is decoded on access, as in EMQX
    local d = JDEC(v)
    if type(d) == 'table' then
      local r = d[k]
      if r == NULL then return nil end
      return r
    end
  end
  return nil
end

function F.IDX(v, i)
  if type(v) == 'string' then v = JDEC(v) end
  if type(v) ~= 'table' then return nil end
  if mtype(i) ~= 'integer' then
    if type(i) == 'string' then return F.GET(v, i) end
    return nil
  end
  local n = rawlen(v)
  if i < 0 then i = n + i + 1 end
  local r = rawget(v, i)
  if r == NULL then return nil end
  return r
end

local function arith(op, a, b)
  error(sfmt('type error: %s %s %s', tn(a), op, tn(b)), 0)
end

function F.ADD(a, b)
  local ta, tb = type(a), type(b)
  if ta == 'number' and tb == 'number' then return a + b end
  if (ta == 'string' and b ~= nil and b ~= NULL) or (tb == 'string' and a ~= nil and a ~= NULL) then
    return str(a) .. str(b)
  end
  arith('+', a, b)
end
function F.SUB(a, b)
  if type(a) == 'number' and type(b) == 'number' then return a - b end
  arith('-', a, b)
end
function F.MUL(a, b)
  if type(a) == 'number' and type(b) == 'number' then return a * b end
  arith('*', a, b)
end
function F.FDIV(a, b)
  if type(a) == 'number' and type(b) == 'number' then
    if b == 0 then error('division by zero', 0) end
    return a / b
  end
  arith('/', a, b)
end
function F.IDIV(a, b)
  if mtype(a) == 'integer' and mtype(b) == 'integer' then
    if b == 0 then error('division by zero', 0) end
    local q = a // b
    if q < 0 and q * b ~= a then q = q + 1 end -- truncate toward zero like Erlang div
    return q
  end
  arith('div', a, b)
end
function F.MOD(a, b)
  if mtype(a) == 'integer' and mtype(b) == 'integer' then
    if b == 0 then error('division by zero', 0) end
    return fmod(a, b) -- sign of the dividend, like Erlang rem
  end
  arith('mod', a, b)
end
function F.NEG(a)
  if type(a) == 'number' then return -a end
  error('type error: -' .. tn(a), 0)
end

local function deq(a, b)
  if a == b then return true end
  if type(a) ~= 'table' or type(b) ~= 'table' then
    if type(a) == 'number' and type(b) == 'number' then return a == b end
    return false
  end
  if isarr(a) ~= isarr(b) then return false end
  for k, v in next, a do if not deq(v, rawget(b, k)) then return false end end
  for k in next, b do if rawget(a, k) == nil then return false end end
  return true
end

-- Returns comparable a, b, or nil, nil when the types cannot be ordered.
local function coerce(a, b)
  local ta, tb = type(a), type(b)
  if ta == tb then return a, b end
  if ta == 'number' and tb == 'string' then
    local n = tonumber(b)
    if n == nil then error("cannot compare number with non-numeric string '" .. b .. "'", 0) end
    return a, n
  end
  if ta == 'string' and tb == 'number' then
    local n = tonumber(a)
    if n == nil then error("cannot compare non-numeric string '" .. a .. "' with number", 0) end
    return n, b
  end
  if ta == 'boolean' and tb == 'string' then return str(a), b end
  if ta == 'string' and tb == 'boolean' then return a, str(b) end
  return nil, nil
end

local function undef(v) return v == nil or v == NULL end

function F.EQ(a, b)
  local ua, ub = undef(a), undef(b)
  if ua or ub then return ua and ub end
  local x, y = coerce(a, b)
  if x == nil then return false end
  return deq(x, y)
end
function F.NE(a, b)
  local ua, ub = undef(a), undef(b)
  if ua or ub then return false end
  local x, y = coerce(a, b)
  if x == nil then return true end
  return not deq(x, y)
end
local function ord(op, a, b)
  local ua, ub = undef(a), undef(b)
  if ua or ub then return nil end
  local x, y = coerce(a, b)
  if x == nil or type(x) == 'table' or type(x) == 'boolean' then
    error(sfmt('type error: cannot order %s %s %s', tn(a), op, tn(b)), 0)
  end
  return x, y
end
-- Two numbers (the common WHERE payload.x > 30) skip ord's checks: same result. math.type
-- is nil for anything but a number, so one C call per operand.
function F.LT(a, b)
  if mtype(a) and mtype(b) then return a < b end
  local x, y = ord('<', a, b); if x == nil then return false end return x < y
end
function F.LE(a, b)
  if mtype(a) and mtype(b) then return a <= b end
  if undef(a) and undef(b) then return true end
  local x, y = ord('<=', a, b); if x == nil then return false end return x <= y
end
function F.GT(a, b)
  if mtype(a) and mtype(b) then return a > b end
  local x, y = ord('>', a, b); if x == nil then return false end return x > y
end
function F.GE(a, b)
  if mtype(a) and mtype(b) then return a >= b end
  if undef(a) and undef(b) then return true end
  local x, y = ord('>=', a, b); if x == nil then return false end return x >= y
end

-- math
local function n1(name, v)
  if type(v) ~= 'number' then
    local n = type(v) == 'string' and tonumber(v)
    if not n then error(name .. ': expected a number, got ' .. tn(v), 0) end
    return n
  end
  return v
end
local function i1(name, v)
  v = n1(name, v)
  if mtype(v) ~= 'integer' then
    local i = math.tointeger(v)
    if not i then error(name .. ': expected an integer, got ' .. fmtnum(v), 0) end
    return i
  end
  return v
end
F.n1, F.i1 = n1, i1
function F.abs(x) return math.abs(n1('abs', x)) end
function F.ceil(x) return ceil(n1('ceil', x)) end
function F.floor(x) return floor(n1('floor', x)) end
function F.round(x, d)
  x = n1('round', x)
  if d == nil then
    if x >= 0 then return floor(x + 0.5) end
    return ceil(x - 0.5)
  end
  local m = 10.0 ^ i1('round', d)
  if x >= 0 then return floor(x * m + 0.5) / m end
  return ceil(x * m - 0.5) / m
end
local function pos(name, x) x = n1(name, x); if x < 0 then error(name .. ': negative argument', 0) end return x end
local function posz(name, x) x = n1(name, x); if x <= 0 then error(name .. ': argument must be positive', 0) end return x end
function F.sqrt(x) return math.sqrt(pos('sqrt', x)) end
function F.power(x, y) return n1('power', x) ^ n1('power', y) + 0.0 end
function F.exp(x) return math.exp(n1('exp', x)) end
function F.log(x) return math.log(posz('log', x)) end
function F.log10(x) return math.log(posz('log10', x), 10) end
function F.log2(x) return math.log(posz('log2', x), 2) end
function F.fmod(x, y)
  y = n1('fmod', y)
  if y == 0 then error('fmod: division by zero', 0) end
  return fmod(n1('fmod', x) + 0.0, y)
end
function F.sin(x) return math.sin(n1('sin', x)) end
function F.cos(x) return math.cos(n1('cos', x)) end
function F.tan(x) return math.tan(n1('tan', x)) end
function F.asin(x) return math.asin(n1('asin', x)) end
function F.acos(x) return math.acos(n1('acos', x)) end
function F.atan(x) return math.atan(n1('atan', x)) end
function F.sinh(x) x = n1('sinh', x); return (math.exp(x) - math.exp(-x)) / 2 end
function F.cosh(x) x = n1('cosh', x); return (math.exp(x) + math.exp(-x)) / 2 end
function F.tanh(x) x = n1('tanh', x); local a, b = math.exp(x), math.exp(-x); return (a - b) / (a + b) end
function F.pi() return math.pi end
function F.random() return math.random() end

-- bits (64-bit integers)
function F.bitand(a, b) return i1('bitand', a) & i1('bitand', b) end
function F.bitor(a, b) return i1('bitor', a) | i1('bitor', b) end
function F.bitxor(a, b) return i1('bitxor', a) ~ i1('bitxor', b) end
function F.bitnot(a) return ~i1('bitnot', a) end
function F.bitsl(a, n) return i1('bitsl', a) << i1('bitsl', n) end
function F.bitsr(a, n) return i1('bitsr', a) >> i1('bitsr', n) end

-- conversions and type tests
function F.int(v)
  local t = type(v)
  if mtype(v) == 'integer' then return v end
  if t == 'number' then
    local r = v >= 0 and floor(v) or ceil(v) -- truncate, like Erlang trunc
    return math.tointeger(r) or error('int: out of range', 0)
  end
  if t == 'boolean' then return v and 1 or 0 end
  if t == 'string' then
    local n = tonumber(v)
    if n then return F.int(n) end
  end
  error('int: cannot convert ' .. tn(v) .. (t == 'string' and (" '" .. v .. "'") or ''), 0)
end
function F.float(v)
  local t = type(v)
  if t == 'number' then return v + 0.0 end
  if t == 'string' then
    local n = tonumber(v)
    if n then return n + 0.0 end
  end
  error('float: cannot convert ' .. tn(v), 0)
end
function F.bool(v)
  if v == true or v == 'true' or v == 1 then return true end
  if v == false or v == 'false' or v == 0 then return false end
  error('bool: cannot convert ' .. tn(v), 0)
end
function F.is_null(v) return undef(v) end
function F.is_not_null(v) return not undef(v) end
function F.is_str(v) return type(v) == 'string' end
function F.is_num(v) return type(v) == 'number' end
function F.is_int(v) return mtype(v) == 'integer' end
function F.is_float(v) return mtype(v) == 'float' end
function F.is_bool(v) return type(v) == 'boolean' end
function F.is_map(v) return type(v) == 'table' and not isarr(v) end
function F.is_array(v) return isarr(v) end

-- maps and arrays
local function tomap(name, m)
  if type(m) == 'string' then m = JDEC(m) end
  if type(m) ~= 'table' then error(name .. ': expected a map, got ' .. tn(m), 0) end
  return m
end
local function toarr(name, a)
  if type(a) == 'string' then a = JDEC(a) end
  if not isarr(a) then error(name .. ': expected an array, got ' .. tn(a), 0) end
  return a
end
-- map_get('a.b', map [, default]): dotted keys walk nested maps, as in EMQX.
function F.map_get(k, m, default)
  m = tomap('map_get', m)
  local v = m
  for part in gmatch(str(k), '[^%.]+') do
    v = F.GET(v, part)
    if v == nil then return default end
  end
  return v
end
local function copy(t)
  local c = {}
  for k, v in next, t do c[k] = v end
  return setmetatable(c, getmetatable(t))
end
function F.map_put(k, v, m)
  m = copy(tomap('map_put', m))
  m[str(k)] = v == nil and NULL or v
  return m
end
function F.map_keys(m)
  m = tomap('map_keys', m)
  local ks = {}
  for k in next, m do ks[#ks + 1] = k end
  tsort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return arr(ks)
end
function F.map_values(m)
  m = tomap('map_values', m)
  local ks = F.map_keys(m)
  local vs = {}
  for i = 1, #ks do vs[i] = m[ks[i]] end
  return arr(vs)
end
function F.nth(n, a)
  a = toarr('nth', a)
  n = i1('nth', n)
  local len = rawlen(a)
  if n < 1 or n > len then error('nth: index ' .. n .. ' out of range 1..' .. len, 0) end
  local v = a[n]
  if v == NULL then return nil end
  return v
end
function F.length(a)
  if type(a) == 'table' and not isarr(a) then
    local c = 0
    for _ in next, a do c = c + 1 end
    return c
  end
  return rawlen(toarr('length', a))
end
-- sublist(len, arr) or sublist(start, len, arr), 1-based.
function F.sublist(x, y, z)
  local start, len, a
  if z == nil then start, len, a = 1, i1('sublist', x), toarr('sublist', y)
  else start, len, a = i1('sublist', x), i1('sublist', y), toarr('sublist', z) end
  local out = {}
  for i = start, math.min(rawlen(a), start + len - 1) do out[#out + 1] = a[i] end
  return arr(out)
end
function F.first(a)
  a = toarr('first', a)
  local v = a[1]
  if v == NULL then return nil end
  return v
end
function F.last(a)
  a = toarr('last', a)
  local v = a[rawlen(a)]
  if v == NULL then return nil end
  return v
end
function F.contains(x, a)
  a = toarr('contains', a)
  for i = 1, rawlen(a) do if deq(a[i], x) then return true end end
  return false
end
function F.json_decode(s)
  if type(s) ~= 'string' then error('json_decode: expected a string, got ' .. tn(s), 0) end
  local v = JDEC(s)
  if v == nil and s ~= 'null' then error('json_decode: invalid JSON', 0) end
  return v
end
function F.RAWLEN(a) if type(a) == 'table' then return rawlen(a) end return 0 end
function F.ELEM(a, i) local v = a[i]; if v == NULL then return nil end return v end
function F.ISARR(v)
  if type(v) == 'string' then v = JDEC(v) end
  if isarr(v) then return v end
  return nil
end
return F
)LUA";

} // namespace ferry::rules
