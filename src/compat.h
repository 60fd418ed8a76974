/* One C source for Lua 5.4 and LuaJIT 2.1 (the Lua 5.1 C API). Shims rename
 * with macros; they never redefine a lua_ or luaL_ name, because LuaJIT's
 * lauxlib.h already declares some 5.2 functions (luaL_setfuncs among them). */
#ifndef WA_COMPAT_H
#define WA_COMPAT_H

#include <lauxlib.h>
#include <lua.h>

#if LUA_VERSION_NUM == 501
/* luaL_register exists only in the 5.1 API: a LuaJIT build loaded into Lua 5.4
 * fails at dlopen with an undefined symbol instead of misbehaving later. */
#define wa_newlib(L, l) (lua_newtable(L), luaL_register(L, NULL, l))
#define wa_setfuncs(L, l) luaL_register(L, NULL, l)
#define wa_rawlen(L, i) lua_objlen(L, i)
#define wa_checkversion(L) ((void)0)
#else
#define wa_newlib(L, l) luaL_newlib(L, l)
#define wa_setfuncs(L, l) luaL_setfuncs(L, l, 0)
#define wa_rawlen(L, i) lua_rawlen(L, i)
/* A 5.4 build loaded into LuaJIT fails at dlopen: luaL_checkversion_ is 5.2+. */
#define wa_checkversion(L) luaL_checkversion(L)
#endif

#if LUA_VERSION_NUM >= 503
#define wa_isinteger(L, i) lua_isinteger(L, i)
#else
#define wa_isinteger(L, i) 0 /* every number is a double: handled by value */
#endif

static inline void wa_setmetatable(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}

#endif
