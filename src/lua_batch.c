/* The Batch userdata of whatsapp.core (lua_batch.h): client:batch and
 * batch:add, :poll, :result, :abort, :stats, :close. Each add() builds the
 * request with the client's signer (lua_client.c) into a slot of the multi
 * handle (multi.c). */
#include "lua_batch.h"

#include <string.h>

#include "lua_client.h"

static void batch_release(wa_batch_ud *u) {
  if (u->open) wa_batch_free(&u->b);
  u->open = 0;
}

static wa_batch_ud *check_batch(lua_State *L, int idx) {
  wa_batch_ud *u = (wa_batch_ud *)luaL_checkudata(L, idx, BATCH_MT);
  wa_guard_check(L, &u->guard, u->open, "batch");
  if (wa_sockets_forked(&u->b.socks) && wa_batch_reopen(&u->b) != 0) { /* see wa_check_client */
    batch_release(u);
    luaL_error(L, "libcurl could not make a multi handle");
  }
  return u;
}

void wa_batch_leave(wa_batch_ud *u) {
  if (wa_guard_leave(&u->guard)) batch_release(u);
}

/* client:batch(slots) -> a Batch with that many slots (transfers in flight at
 * most), sending with this client's time limits, CA file and User-Agent. */
int wa_l_client_batch(lua_State *L) {
  long n = wa_check_range(L, 2, 1, 4096, "slots");
  wa_client *c = wa_check_client(L, 1);
  wa_http_config cfg;
  wa_batch_ud *u = (wa_batch_ud *)lua_newuserdata(L, sizeof *u); /* may run a finalizer */
  memset(u, 0, sizeof *u);
  wa_setmetatable(L, BATCH_MT);
  if (!c->open) return luaL_error(L, "whatsapp client is closed");
  cfg.connect_timeout_ms = c->http.connect_timeout_ms;
  cfg.timeout_ms = c->http.timeout_ms;
  cfg.ca_file = c->ca_file;
  cfg.user_agent = c->user_agent;
  cfg.max_response = c->http.max_response;
  cfg.sockets = NULL; /* the batch tracks its own */
  u->open = 1; /* from here __gc frees whatever wa_batch_init made */
  if (wa_batch_init(&u->b, &cfg, (size_t)n) != 0) return luaL_error(L, "libcurl could not make a multi handle");
  return 1;
}

static int batch_add_body(lua_State *L) {
  call_ctx *x = (call_ctx *)lua_touserdata(L, 1);
  wa_batch_ud *u = x->batch;
  wa_client *c = x->c;
  size_t i = (size_t)x->slot - 1;
  int n;
  x->a.msg = 2;
  n = wa_client_build(L, c, &x->a, &u->b.slots[i].req);
  if (n != 0) return n;
  wa_trim(&u->b.slots[i].http.body, 0); /* the answer it held was read */
  if (wa_batch_start(&u->b, i, c->url, x->limit_ms) != 0) return luaL_error(L, "%s", u->b.errbuf);
  c->requests++;
  lua_pushboolean(L, 1);
  return 1;
}

/* batch:add(client, slot, message, origination_id, meta_api_version,
 *           credentials, clock_offset|nil, limit_ms|nil)
 * Builds the request as client:send does, into the slot, and starts it.
 * -> true | nil, kind, message[, field] (nothing was started) */
static int l_batch_add(lua_State *L) {
  call_ctx x;
  wa_batch_ud *u;
  memset(&x, 0, sizeof x);
  luaL_checkudata(L, 1, BATCH_MT);
  luaL_checkudata(L, 2, CLIENT_MT);
  x.slot = wa_check_range(L, 3, 1, 4096, "slot");
  wa_check_send_args(L, 4, &x.a);
  x.limit_ms = lua_isnoneornil(L, 9) ? 0 : wa_check_range(L, 9, 1, 2147483647.0, "time limit");
  lua_pushcfunction(L, batch_add_body); /* first: see wa_guarded */
  u = check_batch(L, 1);
  x.c = wa_check_client(L, 2);
  x.a.product = x.c->product;
  x.batch = u;
  if ((size_t)x.slot > u->b.n_slots) return luaL_error(L, "batch slot %d out of range", (int)x.slot);
  if (u->b.slots[x.slot - 1].state != WA_SLOT_IDLE) return luaL_error(L, "batch slot %d is in use", (int)x.slot);
  if (wa_batch_slot_ready(&u->b, (size_t)x.slot - 1) != 0) return luaL_error(L, "libcurl could not make a handle");
  return wa_guarded(L, &x, 4);
}

/* batch:poll(timeout_ms) -> how many finished transfers wait for result():
 * runs the transfers until one finishes or timeout_ms passes. */
static int l_batch_poll(lua_State *L) {
  long timeout = wa_check_range(L, 2, 0, 86400000.0, "timeout");
  wa_batch_ud *u = check_batch(L, 1);
  long n;
  u->guard.busy = 1;
  n = wa_batch_run(&u->b, timeout); /* no Lua runs in here */
  u->guard.busy = 0;
  if (n < 0) return luaL_error(L, "%s", u->b.errbuf);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int batch_result_body(lua_State *L) {
  call_ctx *x = (call_ctx *)lua_touserdata(L, 1);
  wa_batch_ud *u = x->batch;
  wa_slot *s = &u->b.slots[x->slot];
  size_t id_len;
  const char *id;
  int n;
  lua_pushinteger(L, (lua_Integer)x->slot + 1);
  if (s->result != WA_HTTP_OK) {
    n = 1 + wa_push_failure(L, wa_http_kind(s->result), s->http.errbuf, NULL);
  } else if (s->http.status >= 200 && s->http.status < 300 && s->http.body.len &&
             wa_just_message_id(s->http.body.data, s->http.body.len, &id, &id_len)) {
    char date[64];
    u->http_version = s->http.http_version;
    lua_pushboolean(L, 1);
    lua_pushlstring(L, id, id_len);
    lua_pushnil(L); /* request_id */
    lua_pushnil(L); /* error_type */
    if (wa_http_header(&s->http, "Date", date, sizeof date) >= 0) lua_pushstring(L, date);
    else lua_pushnil(L);
    n = 6;
  } else {
    u->http_version = s->http.http_version;
    n = 1 + wa_push_answer(L, &s->http);
  }
  wa_trim(&s->req.body, s->req.body.len);
  return n;
}

/* batch:result() -> the oldest finished transfer: slot, then what
 * client:send returns (status, value, request_id, error_type, date,
 * retry_after | nil, kind, message), or for the common answer, a 2xx with
 * {"messageId":"..."}, slot, true, message_id, nil, nil, date (its
 * request id is not read). Nothing when none is
 * waiting. The slot is free again. Pushing may run a finalizer: the slot's
 * buffers stay until the guard ends. */
static int l_batch_result(lua_State *L) {
  call_ctx x;
  size_t i;
  memset(&x, 0, sizeof x);
  lua_pushcfunction(L, batch_result_body); /* first: see wa_guarded */
  x.batch = check_batch(L, 1);
  if (!wa_batch_next(&x.batch->b, &i)) return 0;
  x.slot = (long)i;
  return wa_guarded(L, &x, 0);
}

/* batch:abort(): stops every transfer; every slot is free. */
static int l_batch_abort(lua_State *L) {
  wa_batch_ud *u = check_batch(L, 1);
  wa_batch_abort(&u->b);
  return 0;
}

/* batch:stats() -> {slots=, running=, connections=, http_version=} */
static int l_batch_stats(lua_State *L) {
  wa_batch_ud *u = (wa_batch_ud *)luaL_checkudata(L, 1, BATCH_MT);
  lua_createtable(L, 0, 4);
  if (!u->open) return 1;
  lua_pushinteger(L, (lua_Integer)u->b.n_slots);
  lua_setfield(L, -2, "slots");
  lua_pushinteger(L, (lua_Integer)u->b.running);
  lua_setfield(L, -2, "running");
  lua_pushnumber(L, (lua_Number)wa_batch_connects(&u->b));
  lua_setfield(L, -2, "connections");
  wa_set_http_version(L, u->http_version);
  return 1;
}

static int l_batch_close(lua_State *L) {
  wa_batch_ud *u = (wa_batch_ud *)luaL_checkudata(L, 1, BATCH_MT);
  /* called from a finalizer in the middle of a call: released when it ends.
   * open stays set until then (unlike a client's): batch_release frees only
   * while it is set. */
  if (!wa_guard_close(&u->guard)) return 0;
  batch_release(u); /* idempotent */
  return 0;
}

/* A batch inside a call is on that call's stack, so it cannot be collected. */
static int l_batch_gc(lua_State *L) {
  batch_release((wa_batch_ud *)luaL_checkudata(L, 1, BATCH_MT));
  return 0;
}

static const luaL_Reg batch_methods[] = {
    {"add", l_batch_add},     {"poll", l_batch_poll},   {"result", l_batch_result}, {"abort", l_batch_abort},
    {"stats", l_batch_stats}, {"close", l_batch_close}, {NULL, NULL}};

void wa_batch_open(lua_State *L) {
  wa_open_class(L, BATCH_MT, l_batch_gc, l_batch_close, NULL, batch_methods);
}
