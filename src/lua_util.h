/* What the Lua bindings share (lua_core.c, lua_client.c, lua_batch.c): the
 * metatable names, the failure triple, number checks, the answer of a send
 * as Lua values, the arguments of a send, and the busy/close guard that
 * keeps a Client's or a Batch's buffers alive while a call pushes them. */
#ifndef WA_LUA_UTIL_H
#define WA_LUA_UTIL_H

#include <stddef.h>

#include "compat.h"
#include "http.h"
#include "internal.h"
#include "request.h"

#define CLIENT_MT "whatsapp.core.Client"
#define BATCH_MT "whatsapp.core.Batch"

/* nil, kind, message[, field]: returns how many it pushed. */
WA_INTERNAL int wa_push_failure(lua_State *L, const char *kind, const char *msg, const char *field);

/* A number in [min, max] as a long; anything else raises (converting an
 * out-of-range double is undefined behaviour in C). */
WA_INTERNAL long wa_check_range(lua_State *L, int idx, double min, double max, const char *what);

/* The kind of a transport failure, as the error objects name it. */
WA_INTERNAL const char *wa_http_kind(wa_http_result r);

/* The service's answer to a send, {"messageId":"<id>"}, read without a JSON
 * parser: 1 with the id, or 0 for anything else (then decoded in full). */
WA_INTERNAL int wa_just_message_id(const char *s, size_t n, const char **id, size_t *id_len);

/* Pushes status, value (decoded JSON, or the raw text), request_id,
 * error_type, date, retry_after of the answer h holds: returns 6. For the
 * common answer, a 2xx {"messageId":"<id>"} whose id wa_just_message_id
 * accepts, status is true and value the id itself (no table, and no check
 * left for Lua to make). */
WA_INTERNAL int wa_push_answer(lua_State *L, const wa_http *h);

/* Sets t.http_version ("2", "1.1", "1.0") on the table on top, when known. */
WA_INTERNAL void wa_set_http_version(lua_State *L, long version);

/* ---- the busy/close guard of a Client and a Batch ------------------------
 * A call that uses the object's buffers marks it busy for as long as Lua
 * may run inside it (pushing results may run a finalizer, and a finalizer
 * may call close() or another method). close() meanwhile is remembered and
 * takes effect when the call ends; another call meanwhile raises. __gc needs
 * no guard: an object inside a call is on that call's stack. */
typedef struct {
  int busy;          /* inside a call that uses its buffers: see wa_guarded() */
  int close_pending; /* close() was called while busy */
} wa_guard;

/* Raises "whatsapp <what> is closed" or "... is busy" unless the object is
 * open and in no call. */
WA_INTERNAL void wa_guard_check(lua_State *L, const wa_guard *g, int open, const char *what);

static inline void wa_guard_enter(wa_guard *g) {
  g->busy = 1;
}

/* The call is over: 1 when close() came meanwhile (release it now). */
static inline int wa_guard_leave(wa_guard *g) {
  g->busy = 0;
  return g->close_pending;
}

/* close(): 1 to release now, 0 when called from a finalizer in the middle
 * of a call (released when the call ends). */
static inline int wa_guard_close(wa_guard *g) {
  if (!g->busy) return 1;
  g->close_pending = 1;
  return 0;
}

/* The arguments of client:send and client:prepare (and batch:add), from
 * index base on: message, id, version, credentials (a table: access_key_id,
 * secret_access_key, session_token), clock offset. Converted before any
 * client is entered (a conversion may run the GC); pushes the three
 * credentials on the stack, where they stay for the call. */
typedef struct {
  int msg; /* the stack index of the message */
  const char *product;
  wa_send_args w; /* the rest (request.h) */
} send_args;

WA_INTERNAL void wa_check_send_args(lua_State *L, int base, send_args *a);

/* Registers the metatable tname of a userdata class (Client, Batch, a public
 * key): __gc, __close (Lua 5.4) as close and __tostring when not NULL, and
 * __index holding methods. */
WA_INTERNAL void wa_open_class(lua_State *L, const char *tname, lua_CFunction gc, lua_CFunction close,
                               lua_CFunction tostring, const luaL_Reg *methods);

/* ---- calls that mark the client (and batch) busy ------------------------ */

typedef struct wa_client wa_client;     /* lua_client.h */
typedef struct wa_batch_ud wa_batch_ud; /* lua_batch.h */

/* What a guarded call (see wa_guarded) works with: its client (and batch), the
 * arguments converted before it started, and its time limit. */
typedef struct {
  wa_client *c;
  wa_batch_ud *batch; /* or NULL */
  send_args a;
  long limit_ms, slot;
  const char *method, *url, *body;
  size_t method_len, url_len, body_len;
} call_ctx;

/* Runs the body on top of the stack as body(ctx, value) under lua_pcall,
 * with the client (and batch) marked busy: a close() meanwhile (from a
 * finalizer) only takes effect after it, so the buffers being pushed to Lua
 * stay alive. Whatever raises inside (out of memory, or a finalizer that
 * raises during an allocation, which LuaJIT and Lua 5.1-5.3 pass on to the
 * allocating call) clears the marks before it goes on up: a client is never
 * left busy. The caller pushes the body (lua_pushcfunction allocates on
 * LuaJIT, and so may run a finalizer) before it checks the client, batch and
 * slot: from those checks to here nothing allocates, so what was checked
 * still holds. value: the stack index of the one argument body reads from
 * the stack (the message, the header table), or 0. Returns body's results. */
WA_INTERNAL int wa_guarded(lua_State *L, call_ctx *x, int value);

#endif
