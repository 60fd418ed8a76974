/* The Client userdata of whatsapp.core (lua_client.h): core.new_client and
 * client:send, :prepare, :request, :stats, :close (client:batch is in
 * lua_batch.c). Argument checks and pushing results; the request is built
 * by request.c and sent by http.c. */
#include "lua_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "lua_batch.h"
#include "sigv4.h"

/* An HTTP method: RFC 9110 token characters only. */
static int is_token(const char *s) {
  if (*s == '\0') return 0;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          strchr("!#$%&'*+-.^_`|~", *s)))
      return 0;
  return 1;
}

static void client_release(wa_client *c) {
  /* not "if (c->open)": a close() during a call clears open before the
   * release that wa_client_leave() makes; wa_http_close is idempotent. In a
   * forked process the connections are the parent's: let go of them
   * without writing to them (a TLS close_notify would end the parent's). */
  if (wa_sockets_forked(&c->socks)) wa_sockets_disown(&c->socks);
  wa_http_close(&c->http);
  wa_sockets_free(&c->socks);
  c->open = 0;
  free(c->url);
  free(c->path);
  free(c->host);
  free(c->region);
  free(c->service);
  free(c->ca_file);
  free(c->user_agent);
  free(c->product);
  c->url = c->path = c->host = c->region = c->service = c->ca_file = c->user_agent = c->product = NULL;
  c->s.host = NULL; /* it was c->host */
  wa_sender_free(&c->s);
  wa_request_free(&c->req);
  wa_buf_free(&c->nodes);
}

/* See lua_client.h. */
wa_client *wa_check_client(lua_State *L, int idx) {
  wa_client *c = (wa_client *)luaL_checkudata(L, idx, CLIENT_MT);
  wa_guard_check(L, &c->guard, c->open, "client");
  if (wa_sockets_forked(&c->socks)) {
    /* made before a fork(), used after it: this process starts with
     * connections of its own, never the ones the other process uses */
    wa_sockets_disown(&c->socks);
    if (wa_http_reopen(&c->http) != 0) {
      c->open = 0;
      luaL_error(L, "libcurl could not make a handle");
    }
  }
  return c;
}

void wa_client_leave(wa_client *c) {
  if (wa_guard_leave(&c->guard)) client_release(c);
}

static int fail_oom(lua_State *L, wa_client *c) {
  wa_json_box_clear(&c->s.json.box);
  return luaL_error(L, "not enough memory");
}

/* The number name of the configuration; dflt when it is absent and dflt >= 0. */
static long config_long(lua_State *L, const char *name, long dflt) {
  long v;
  lua_getfield(L, 1, name);
  v = dflt >= 0 && lua_isnil(L, -1) ? dflt : wa_check_range(L, -1, 0, 2147483647.0, name);
  lua_pop(L, 1);
  return v;
}

/* A malloc'd copy, owned by the client (freed by __gc whatever happens next). */
static char *config_string(lua_State *L, const char *name, int required) {
  char *copy;
  const char *s;
  size_t len;
  lua_getfield(L, 1, name);
  if (lua_isnil(L, -1) && !required) {
    lua_pop(L, 1);
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING) {
    luaL_error(L, "new_client: '%s' must be a string", name);
    return NULL;
  }
  s = lua_tolstring(L, -1, &len);
  /* a C copy would end at the NUL: refuse rather than send a shorter value */
  if (strlen(s) != len) {
    luaL_error(L, "new_client: '%s' holds a NUL byte", name);
    return NULL;
  }
  copy = wa_strdup(s);
  lua_pop(L, 1);
  if (copy == NULL) luaL_error(L, "not enough memory");
  return copy;
}

/* core.new_client{url=, path=, host=, region=, service=, connect_timeout_ms=,
 *                 timeout_ms=, max_message_bytes=, ca_file=, user_agent=,
 *                 max_response_bytes=, product=}
 * Without url: a plain HTTP handle (request, stats, close), for the
 * credential sources and other exchanges that send no message; then path,
 * host, region, service, max_message_bytes and product are not taken.
 * product: the messaging_product of a message that names none (nil: none).
 * Every value is settled by Lua; this only copies them. */
int wa_l_new_client(lua_State *L) {
  wa_client *c;
  wa_http_config hc;
  luaL_checktype(L, 1, LUA_TTABLE);
  c = (wa_client *)lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  wa_setmetatable(L, CLIENT_MT); /* from here __gc frees whatever is set */
  c->url = config_string(L, "url", 0);
  if (c->url) { /* a client that sends messages */
    c->path = config_string(L, "path", 1);
    c->host = config_string(L, "host", 1);
    c->region = config_string(L, "region", 1);
    c->service = config_string(L, "service", 1);
    c->product = config_string(L, "product", 0);
    c->s.host = c->host;
    c->s.host_len = strlen(c->host);
    c->s.max_message_bytes = (size_t)config_long(L, "max_message_bytes", -1);
  }
  c->ca_file = config_string(L, "ca_file", 0);
  c->user_agent = config_string(L, "user_agent", 0);
  hc.connect_timeout_ms = config_long(L, "connect_timeout_ms", -1);
  hc.timeout_ms = config_long(L, "timeout_ms", -1);
  lua_getfield(L, 1, "max_response_bytes");
  hc.max_response = lua_isnil(L, -1) ? 0 : (size_t)wa_check_range(L, -1, 0, 2147483647.0, "max_response_bytes");
  lua_pop(L, 1);
  /* these reach header lines or the request line: Lua checks them, and the
   * C API refuses them too, for any other caller */
  if ((c->user_agent && wa_has_crlf(c->user_agent, strlen(c->user_agent))) ||
      (c->url && (wa_has_crlf(c->host, strlen(c->host)) || wa_has_crlf(c->url, strlen(c->url)) ||
                  wa_has_crlf(c->path, strlen(c->path)) || strchr(c->url, ' ') || strchr(c->path, ' '))))
    return luaL_error(L, "new_client: url, path, host or user_agent holds a space, CR or LF");
  if (hc.timeout_ms < 1 || hc.connect_timeout_ms < 1)
    return luaL_error(L, "new_client: timeouts must be at least 1 ms");
  hc.ca_file = c->ca_file;
  hc.user_agent = c->user_agent;
  hc.sockets = &c->socks;
  wa_sockets_init(&c->socks);
  if (wa_http_init(&c->http, &hc) != 0) return luaL_error(L, "libcurl could not make a handle");
  c->open = 1;
  if (!c->url) return 1; /* a plain HTTP handle */
  switch (sigv4_fixed_init(&c->s.fixed, "POST", c->path, strlen(c->path), "application/json", c->host, c->s.host_len,
                           c->region, c->service)) {
    case SIGV4_OK: c->s.fixed_ok = 1; break;
    case SIGV4_ENOMEM: return luaL_error(L, "not enough memory");
    default: c->s.fixed_ok = 0; /* every send says it cannot be signed */
  }
  return 1;
}

/* See lua_client.h: the message as JSON here (encoding reads Lua values),
 * the rest in request.c. */
int wa_client_build(lua_State *L, wa_client *c, const send_args *a, wa_request *r) {
  size_t msg_len = 0;
  const char *msg = NULL;
  wa_failure f;
  int rc;

  if (!c->url) return luaL_error(L, "this whatsapp.core handle was made without a url: it only makes requests");
  /* 1. the WhatsApp message as JSON bytes */
  if (lua_type(L, a->msg) == LUA_TSTRING) {
    msg = lua_tolstring(L, a->msg, &msg_len);
    rc = wa_json_normalize_text(msg, msg_len, &c->s.json.box, a->product, &c->s.text, &c->s.json.err);
    if (rc == 0 && c->s.text.len) {
      msg = c->s.text.data;
      msg_len = c->s.text.len;
    }
  } else {
    rc = wa_json_encode(L, a->msg, &c->s.json.text, &c->s.json.keys, a->product, &c->s.json.err);
    if (rc == 0) {
      msg = c->s.json.text.data;
      msg_len = c->s.json.text.len;
    }
  }
  if (rc == -2) return fail_oom(L, c);
  if (rc != 0) {
    /* the field is the path inside the message, as builders name it: text.body */
    const char *field = c->s.json.err.field.len ? c->s.json.err.field.data : "message";
    return wa_push_failure(L, "invalid", c->s.json.err.message, field);
  }
  /* 2.-4. the AWS body, the signature, the header lines */
  switch (wa_request_build(&c->s, msg, msg_len, &a->w, r, &f)) {
    case WA_BUILD_OK: return 0;
    case WA_BUILD_FAILED: return wa_push_failure(L, f.kind, f.message, f.field);
    default: return fail_oom(L, c);
  }
}

static int send_body(lua_State *L) {
  call_ctx *x = (call_ctx *)lua_touserdata(L, 1);
  wa_client *c = x->c;
  wa_http_result r;
  int n;
  x->a.msg = 2;
  if ((n = wa_client_build(L, c, &x->a, &c->req)) != 0) return n;
  c->requests++;
  r = wa_http_perform(&c->http, "POST", c->url, c->req.list, c->req.body.data, c->req.body.len, x->limit_ms);
  wa_trim(&c->req.body, c->req.body.len);
  if (r != WA_HTTP_OK) return wa_push_failure(L, wa_http_kind(r), c->http.errbuf, NULL);
  return wa_push_answer(L, &c->http);
}

/* client:send(message, origination_id, meta_api_version, credentials,
 *             clock_offset|nil, limit_ms|nil)
 * credentials: {access_key_id=, secret_access_key=, session_token=|nil}.
 * clock_offset: seconds added to the local clock when signing (skew learned
 * from the service); limit_ms caps this attempt's time limits (a deadline).
 * Encodes, base64s, builds the body, signs, POSTs and parses in one call.
 * -> status, value, request_id, error_type, date, retry_after (for the
 *     common answer: true, the messageId, ...; see wa_push_answer)
 * The contract every transport keeps: lua/whatsapp/transport/init.lua.
 *  | nil, kind, message[, field] */
static int l_client_send(lua_State *L) {
  call_ctx x;
  memset(&x, 0, sizeof x);
  wa_check_send_args(L, 2, &x.a);
  x.limit_ms = lua_isnoneornil(L, 7) ? 0 : wa_check_range(L, 7, 1, 2147483647.0, "time limit");
  lua_pushcfunction(L, send_body); /* first: see wa_guarded */
  x.c = wa_check_client(L, 1);
  x.a.product = x.c->product;
  return wa_guarded(L, &x, 2);
}

static int prepare_body(lua_State *L) {
  call_ctx *x = (call_ctx *)lua_touserdata(L, 1);
  wa_client *c = x->c;
  const struct curl_slist *line;
  char length[32];
  int n;
  wa_buf *w;
  x->a.msg = 2;
  if ((n = wa_client_build(L, c, &x->a, &c->req)) != 0) return n;
  c->requests++;
  /* the whole request in one buffer, then one Lua string (pushing it may run
   * a finalizer: the client is busy, so its buffers stay until the guard ends) */
  w = &c->s.text; /* free once wa_client_build is over */
  wa_buf_clear(w);
  snprintf(length, sizeof length, "Content-Length: %lu\r\n\r\n", (unsigned long)c->req.body.len);
  if (wa_buf_reserve(w, c->req.lines.len + c->req.body.len + strlen(c->path) + 128 +
                            (c->user_agent ? strlen(c->user_agent) : 0)) != 0)
    return fail_oom(L, c);
  wa_buf_addstr(w, "POST ");
  wa_buf_addstr(w, c->path);
  wa_buf_addstr(w, " HTTP/1.1\r\n");
  for (line = c->req.list; line; line = line->next) {
    if (strcmp(line->data, "Expect:") == 0) continue; /* a libcurl matter */
    wa_buf_addstr(w, line->data);
    wa_buf_addstr(w, "\r\n");
  }
  if (c->user_agent) {
    wa_buf_addstr(w, "User-Agent: ");
    wa_buf_addstr(w, c->user_agent);
    wa_buf_addstr(w, "\r\n");
  }
  wa_buf_addstr(w, length);
  wa_buf_add(w, c->req.body.data, c->req.body.len);
  lua_pushlstring(L, w->data, w->len);
  wa_trim(w, w->len);
  wa_trim(&c->req.body, c->req.body.len);
  return 1;
}

/* client:prepare(...the arguments of send but limit_ms...) -> the whole
 * HTTP/1.1 request as one string (request line, headers, body), signed, for
 * a transport that does its own I/O: the OpenResty cosockets.
 * | nil, kind, message[, field] */
static int l_client_prepare(lua_State *L) {
  call_ctx x;
  memset(&x, 0, sizeof x);
  wa_check_send_args(L, 2, &x.a);
  lua_pushcfunction(L, prepare_body); /* first: see wa_guarded */
  x.c = wa_check_client(L, 1);
  x.a.product = x.c->product;
  return wa_guarded(L, &x, 2);
}

/* Pushes the answer's headers as {lowercased name = value}. */
static void push_headers(lua_State *L, const wa_http *h) {
  size_t pos = 0, kn, vn, i;
  const char *k, *v;
  lua_newtable(L);
  while (wa_http_next_header(h, &pos, &k, &kn, &v, &vn)) {
    luaL_Buffer name;
    luaL_buffinit(L, &name);
    for (i = 0; i < kn; i++) luaL_addchar(&name, (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]));
    luaL_pushresult(&name);
    lua_pushlstring(L, v, vn);
    lua_rawset(L, -3);
  }
}

static int request_body(lua_State *L) {
  call_ctx *x = (call_ctx *)lua_touserdata(L, 1);
  wa_client *c = x->c;
  struct curl_slist *list;
  int count = 0;
  wa_http_result r;
  wa_buf_clear(&c->req.lines);
  if (!lua_isnil(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      size_t kn, vn;
      const char *k, *v;
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "request: headers must map strings to strings");
      k = lua_tolstring(L, -2, &kn);
      v = lua_tolstring(L, -1, &vn);
      if (wa_has_crlf(k, kn) || wa_has_crlf(v, vn) || memchr(k, ':', kn) || kn == 0)
        return wa_push_failure(L, "invalid", "header name or value is empty or holds CR, LF, NUL or ':'", k);
      if (++count > 48) return wa_push_failure(L, "invalid", "more than 48 headers", NULL);
      if (wa_buf_add(&c->req.lines, k, kn) || wa_buf_addstr(&c->req.lines, vn ? ": " : ";") ||
          wa_add_line(&c->req.lines, "", v, vn))
        return fail_oom(L, c);
      lua_pop(L, 1);
    }
  }
  if (wa_add_line(&c->req.lines, "Expect:", "", 0)) return fail_oom(L, c);
  list = wa_http_list(&c->nodes, &c->req.lines);
  if (list == NULL) return fail_oom(L, c);
  c->requests++;
  r = wa_http_perform(&c->http, x->method, x->url, list, x->body, x->body_len, x->limit_ms);
  if (r != WA_HTTP_OK) return wa_push_failure(L, wa_http_kind(r), c->http.errbuf, NULL);
  lua_pushinteger(L, (lua_Integer)c->http.status);
  lua_pushlstring(L, c->http.body.data ? c->http.body.data : "", c->http.body.len);
  push_headers(L, &c->http);
  return 3;
}

/* client:request(method, url, headers|nil, body|nil): a plain HTTP exchange on
 * the client's handle (credential endpoints, test control).
 * -> status, body, headers{lowercased name = value} | nil, kind, message */
static int l_client_request(lua_State *L) {
  call_ctx x;
  int headers;
  memset(&x, 0, sizeof x);
  x.method = luaL_checklstring(L, 2, &x.method_len);
  x.url = luaL_checklstring(L, 3, &x.url_len);
  x.body = luaL_optlstring(L, 5, NULL, &x.body_len);
  x.limit_ms = lua_isnoneornil(L, 6) ? 0 : wa_check_range(L, 6, 1, 2147483647.0, "time limit");
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  if (!is_token(x.method) || strlen(x.method) != x.method_len)
    return wa_push_failure(L, "invalid", "method must be an HTTP token", "method");
  if (wa_has_crlf(x.url, x.url_len) || strchr(x.url, ' '))
    return wa_push_failure(L, "invalid", "URL holds a space, CR, LF or NUL", "url");
  headers = lua_isnoneornil(L, 4) ? 0 : 4; /* (before the push below fills slot 4 when there are 3 arguments) */
  lua_pushcfunction(L, request_body); /* first: see wa_guarded */
  x.c = wa_check_client(L, 1);
  return wa_guarded(L, &x, headers);
}

/* client:stats() -> {requests=, key_derivations=, connections=, http_version=} */
static int l_client_stats(lua_State *L) {
  wa_client *c = (wa_client *)luaL_checkudata(L, 1, CLIENT_MT);
  lua_createtable(L, 0, 3);
  wa_set_http_version(L, c->http.http_version);
  lua_pushnumber(L, (lua_Number)c->requests);
  lua_setfield(L, -2, "requests");
  lua_pushnumber(L, (lua_Number)c->s.keys.derivations);
  lua_setfield(L, -2, "key_derivations");
  lua_pushnumber(L, (lua_Number)c->http.connects);
  lua_setfield(L, -2, "connections");
  return 1;
}

static int l_client_close(lua_State *L) {
  wa_client *c = (wa_client *)luaL_checkudata(L, 1, CLIENT_MT);
  if (!wa_guard_close(&c->guard)) { /* called from a finalizer in the middle of a send */
    c->open = 0; /* closed from now on; released when the send ends (client_release does not look at open) */
    return 0;
  }
  client_release(c); /* idempotent */
  return 0;
}

/* A client inside a call is on that call's stack, so it cannot be collected:
 * whatever __gc finds, it may free. */
static int l_client_gc(lua_State *L) {
  client_release((wa_client *)luaL_checkudata(L, 1, CLIENT_MT));
  return 0;
}

static int l_client_tostring(lua_State *L) {
  wa_client *c = (wa_client *)luaL_checkudata(L, 1, CLIENT_MT);
  if (c->open) lua_pushfstring(L, "whatsapp.core.Client (%s)", c->url ? c->url : "?");
  else lua_pushstring(L, "whatsapp.core.Client (closed)");
  return 1;
}

static const luaL_Reg client_methods[] = {
    {"send", l_client_send}, {"prepare", l_client_prepare},   {"request", l_client_request}, {"stats", l_client_stats},
    {"batch", wa_l_client_batch}, {"close", l_client_close}, {NULL, NULL}};

void wa_client_open(lua_State *L) {
  wa_open_class(L, CLIENT_MT, l_client_gc, l_client_close, l_client_tostring, client_methods);
}
