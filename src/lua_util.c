/* What the Lua bindings share (lua_util.h): failures, number checks, the
 * answer of a send as Lua values, the arguments of a send, and the guard
 * around a call that marks its Client (and Batch) busy. */
#include "lua_util.h"

#include <string.h>

#include "json.h"
#include "lua_batch.h"
#include "lua_client.h"

/* nil, kind, message[, field] */
int wa_push_failure(lua_State *L, const char *kind, const char *msg, const char *field) {
  lua_pushnil(L);
  lua_pushstring(L, kind);
  lua_pushstring(L, msg);
  if (field == NULL) return 3;
  lua_pushstring(L, field);
  return 4;
}

/* A number in [min, max] as a long; anything else raises (converting an
 * out-of-range double is undefined behaviour in C). */
long wa_check_range(lua_State *L, int idx, double min, double max, const char *what) {
  double d = (double)lua_tonumber(L, idx);
  if (lua_type(L, idx) != LUA_TNUMBER || !(d >= min && d <= max))
    return luaL_error(L, "%s must be a number in [%f, %f]", what, min, max);
  return (long)d;
}

const char *wa_http_kind(wa_http_result r) {
  switch (r) {
    case WA_HTTP_ECONNECT: return "connect";
    case WA_HTTP_ETIMEOUT_CONNECT: return "connect_timeout";
    case WA_HTTP_ETIMEOUT: return "timeout";
    case WA_HTTP_ELOST: return "lost";
    case WA_HTTP_ETLS: return "tls";
    case WA_HTTP_ERESPONSE: return "response";
    default: return "transport";
  }
}

static const char *skip_space(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

#define WA_MAX_MESSAGE_ID 1024 /* as client.lua's MAX_MESSAGE_ID */

int wa_just_message_id(const char *s, size_t n, const char **id, size_t *id_len) {
  const char *p = s, *e = s + n, *start;
  p = skip_space(p, e);
  if (e - p < 13 || memcmp(p, "{", 1) != 0) return 0;
  p = skip_space(p + 1, e);
  if (e - p < 12 || memcmp(p, "\"messageId\"", 11) != 0) return 0;
  p = skip_space(p + 11, e);
  if (p >= e || *p != ':') return 0;
  p = skip_space(p + 1, e);
  if (p >= e || *p != '"') return 0;
  start = ++p;
  /* only an id client.lua's interpret would take (printable ASCII, no
   * space, 1..WA_MAX_MESSAGE_ID bytes): anything else is decoded in full
   * and judged there */
  while (p < e && *p != '"') {
    if (*p == '\\' || (unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F) return 0;
    p++;
  }
  if (p >= e || p == start || p - start > WA_MAX_MESSAGE_ID) return 0;
  *id = start;
  *id_len = (size_t)(p - start);
  p = skip_space(p + 1, e);
  if (p >= e || *p != '}') return 0;
  return skip_space(p + 1, e) == e;
}

int wa_push_answer(lua_State *L, const wa_http *h) {
  wa_http_answer a;
  const char *id;
  size_t id_len;
  wa_http_answer_headers(h, &a);
  if (h->status >= 200 && h->status < 300 && h->body.len &&
      wa_just_message_id(h->body.data, h->body.len, &id, &id_len)) {
    /* the common answer, its id checked here: true and the id, no table */
    lua_pushboolean(L, 1);
    lua_pushlstring(L, id, id_len);
  } else {
    lua_pushinteger(L, (lua_Integer)h->status);
    if (h->body.len == 0 || wa_json_decode(L, h->body.data, h->body.len) != 0)
      lua_pushlstring(L, h->body.data ? h->body.data : "", h->body.len);
  }
  if (a.present & (1 << WA_ANSWER_REQUEST_ID)) lua_pushstring(L, a.request_id);
  else lua_pushnil(L);
  if (a.present & (1 << WA_ANSWER_ERROR_TYPE)) lua_pushstring(L, a.error_type);
  else lua_pushnil(L);
  if (a.present & (1 << WA_ANSWER_DATE)) lua_pushstring(L, a.date);
  else lua_pushnil(L);
  if (a.present & (1 << WA_ANSWER_RETRY_AFTER)) lua_pushstring(L, a.retry_after);
  else lua_pushnil(L);
  return 6;
}

void wa_set_http_version(lua_State *L, long version) {
  if (version == 0) return;
  lua_pushstring(L, version == 20 ? "2" : version == 10 ? "1.0" : "1.1");
  lua_setfield(L, -2, "http_version");
}

/* The credential on top of the stack (left there): a string, or nil when not required. */
static const char *credential(lua_State *L, size_t *len, const char *name, int required) {
  *len = 0;
  if (lua_type(L, -1) == LUA_TSTRING) return lua_tolstring(L, -1, len);
  if (!required && lua_isnil(L, -1)) return NULL;
  luaL_error(L, "credentials.%s must be a string", name);
  return NULL;
}

void wa_check_send_args(lua_State *L, int base, send_args *a) {
  a->msg = base;
  lua_settop(L, base + 5); /* the time limit (send, batch:add) at base + 5, whatever follows */
  a->product = NULL;        /* the client's (set once the client is checked) */
  a->w.id = luaL_checklstring(L, base + 1, &a->w.id_len);
  a->w.ver = luaL_checklstring(L, base + 2, &a->w.ver_len);
  luaL_checktype(L, base + 3, LUA_TTABLE);
  a->w.offset = lua_isnoneornil(L, base + 4)
                    ? 0
                    : wa_check_range(L, base + 4, -86400.0 * 366, 86400.0 * 366, "clock offset");
  /* the credentials' strings stay on the stack (below the body wa_guarded
   * runs) for the whole call: a finalizer that changes the table meanwhile
   * cannot free them */
  lua_getfield(L, base + 3, "access_key_id");
  a->w.akid = credential(L, &a->w.akid_len, "access_key_id", 1);
  lua_getfield(L, base + 3, "secret_access_key");
  a->w.secret = credential(L, &a->w.secret_len, "secret_access_key", 1);
  lua_getfield(L, base + 3, "session_token");
  a->w.token = credential(L, &a->w.token_len, "session_token", 0);
  if (lua_type(L, base) != LUA_TSTRING) luaL_checktype(L, base, LUA_TTABLE);
}

void wa_open_class(lua_State *L, const char *tname, lua_CFunction gc, lua_CFunction close,
                   lua_CFunction tostring, const luaL_Reg *methods) {
  luaL_newmetatable(L, tname);
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  if (close) {
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__close");
  }
#else
  (void)close;
#endif
  if (tostring) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_newtable(L);
  wa_setfuncs(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

void wa_guard_check(lua_State *L, const wa_guard *g, int open, const char *what) {
  if (!open) luaL_error(L, "whatsapp %s is closed", what);
  if (g->busy) luaL_error(L, "whatsapp %s is busy (used again from a finalizer?)", what);
}

/* See lua_util.h. */
int wa_guarded(lua_State *L, call_ctx *x, int value) {
  int base = lua_gettop(L) - 1, status;
  lua_pushlightuserdata(L, x);
  if (value) lua_pushvalue(L, value);
  else lua_pushnil(L);
  if (x->batch) wa_guard_enter(&x->batch->guard);
  if (x->c) wa_guard_enter(&x->c->guard);
  status = lua_pcall(L, 2, LUA_MULTRET, 0);
  if (x->batch) wa_batch_leave(x->batch);
  if (x->c) wa_client_leave(x->c);
  if (status != 0) return lua_error(L);
  return lua_gettop(L) - base;
}
