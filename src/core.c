/* whatsapp.core: the Lua face of the C core. Argument checks and pushing
 * results only; the work is in sigv4.c, json.c, http.c and crypto.c.
 *
 * Conventions: a wrong argument type raises (a programming error); bad data
 * and network failures return nil, kind, message[, field] and Lua turns them
 * into error objects. Every allocation lives in a userdata whose __gc frees
 * it, so a Lua error on any path leaks nothing. */
#include <errno.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "multi.h"
#include "request.h"
#include "buf.h"
#include "compat.h"
#include "crypto.h"
#include "head.h"
#include "file.h"
#include "http.h"
#include "json.h"
#include "sigv4.h"

#define CLIENT_MT "whatsapp.core.Client"
#define SIGNER_MT "whatsapp.core.Signer"
#define BATCH_MT "whatsapp.core.Batch"
#define VERSION "0.1.0"

/* ---- small helpers ------------------------------------------------------ */

static char *dup_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* An HTTP method: RFC 9110 token characters only. */
static int is_token(const char *s) {
  if (*s == '\0') return 0;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          strchr("!#$%&'*+-.^_`|~", *s)))
      return 0;
  return 1;
}

/* nil, kind, message[, field] */
static int push_failure(lua_State *L, const char *kind, const char *msg, const char *field) {
  lua_pushnil(L);
  lua_pushstring(L, kind);
  lua_pushstring(L, msg);
  if (field == NULL) return 3;
  lua_pushstring(L, field);
  return 4;
}

static int json_scratch_gc(lua_State *L) {
  wa_json_scratch *s = (wa_json_scratch *)luaL_checkudata(L, 1, WA_JSON_SCRATCH_MT);
  wa_json_scratch_free(s);
  return 0;
}

static wa_json_scratch *new_scratch(lua_State *L) {
  wa_json_scratch *s = (wa_json_scratch *)lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  wa_setmetatable(L, WA_JSON_SCRATCH_MT);
  return s;
}

/* ---- JSON and crypto functions --------------------------------------------- */

/* core.encode(value[, default_product]) -> json | nil, "invalid", message, field */
static int l_encode(lua_State *L) {
  const char *product = luaL_optstring(L, 2, NULL);
  wa_json_scratch *s;
  int rc;
  luaL_checkany(L, 1);
  s = new_scratch(L);
  rc = wa_json_encode(L, 1, &s->text, &s->keys, product, &s->err);
  if (rc == -2) return luaL_error(L, "not enough memory");
  if (rc != 0) return push_failure(L, "invalid", s->err.message, s->err.field.data ? s->err.field.data : "");
  lua_pushlstring(L, s->text.data, s->text.len);
  wa_json_scratch_free(s);
  return 1;
}

/* core.decode(json) -> value | nil, "invalid", message */
static int l_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (wa_json_decode(L, s, n) != 0) return push_failure(L, "invalid", "not valid JSON", NULL);
  return 1;
}

static int l_set_array_mt(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  wa_json_set_array_mt(L, 1);
  return 0;
}

static int l_utf8_valid(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushboolean(L, wa_utf8_valid(s, n));
  return 1;
}

static int l_sha256_hex(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char hex[65];
  if (wa_sha256_hex(s, n, hex) != 0) return luaL_error(L, "SHA-256 failed");
  lua_pushlstring(L, hex, 64);
  return 1;
}

static int l_hmac_sha256(lua_State *L) {
  size_t kn, n;
  const char *k = luaL_checklstring(L, 1, &kn);
  const char *s = luaL_checklstring(L, 2, &n);
  unsigned char mac[32];
  if (wa_hmac_sha256(k, kn, s, n, mac) != 0) return luaL_error(L, "HMAC-SHA-256 failed");
  lua_pushlstring(L, (const char *)mac, 32);
  return 1;
}

static int l_base64(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  size_t out = wa_base64_len(n);
  /* GC-owned scratch: LuaJIT's luaL_Buffer has no prepbuffsize */
  char *p = (char *)lua_newuserdata(L, out + 1);
  wa_base64((const unsigned char *)s, n, p);
  lua_pushlstring(L, p, out);
  return 1;
}

/* ---- core.sign: the general signer (tests, and transports other than curl) -- */

typedef struct {
  sigv4_key_cache cache;
  sigv4_out out;
} signer;

static int signer_gc(lua_State *L) {
  signer *s = (signer *)luaL_checkudata(L, 1, SIGNER_MT);
  sigv4_cache_clear(&s->cache);
  sigv4_out_free(&s->out);
  return 0;
}

/* Raw access: the string stays alive in the table while we use its pointer
 * (an __index could hand out a fresh string that the GC then frees). */
static const char *field_string(lua_State *L, int t, const char *name, size_t *len, int required) {
  const char *s;
  lua_pushstring(L, name);
  lua_rawget(L, t);
  if (lua_isnil(L, -1) && !required) {
    lua_pop(L, 1);
    if (len) *len = 0;
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "sign: field '%s' must be a string", name);
  s = lua_tolstring(L, -1, len);
  lua_pop(L, 1); /* the string stays alive: the argument table refers to it */
  return s;
}

static int field_bool(lua_State *L, int t, const char *name, int dflt) {
  int v;
  lua_pushstring(L, name);
  lua_rawget(L, t);
  v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static void set_string_field(lua_State *L, const char *name, const wa_buf *b) {
  lua_pushlstring(L, b->data ? b->data : "", b->len);
  lua_setfield(L, -2, name);
}

/* core.sign{method=, path=, query=, headers={{name,value},...}, payload_hash= | body=,
 *           access_key_id=, secret_access_key=, region=, service=, amz_date=,
 *           normalize=true, double_encode=true}
 * -> {authorization=, signature=, canonical_request=, string_to_sign=,
 *     signed_headers=, derived_key=bool} */
static int l_sign(lua_State *L) {
  signer *sg = (signer *)luaL_checkudata(L, lua_upvalueindex(1), SIGNER_MT);
  sigv4_request req;
  sigv4_params p;
  sigv4_header *hs;
  size_t n, i, body_len;
  const char *body;
  char payload_hash[65];
  unsigned long before;
  int rc;

  luaL_checktype(L, 1, LUA_TTABLE);
  memset(&req, 0, sizeof req);
  memset(&p, 0, sizeof p);
  req.method = field_string(L, 1, "method", NULL, 1);
  req.path = field_string(L, 1, "path", &req.path_len, 1);
  req.query = field_string(L, 1, "query", &req.query_len, 0);
  req.normalize_path = field_bool(L, 1, "normalize", 1);
  req.double_encode = field_bool(L, 1, "double_encode", 1);
  req.payload_hash = field_string(L, 1, "payload_hash", NULL, 0);
  if (req.payload_hash == NULL) {
    body = field_string(L, 1, "body", &body_len, 0);
    if (wa_sha256_hex(body ? body : "", body ? body_len : 0, payload_hash) != 0)
      return luaL_error(L, "SHA-256 failed");
    req.payload_hash = payload_hash;
  }
  p.access_key_id = field_string(L, 1, "access_key_id", NULL, 1);
  p.secret_access_key = field_string(L, 1, "secret_access_key", &p.secret_len, 1);
  p.region = field_string(L, 1, "region", NULL, 1);
  p.service = field_string(L, 1, "service", NULL, 1);
  p.amz_date = field_string(L, 1, "amz_date", NULL, 1);

  lua_pushstring(L, "headers");
  lua_rawget(L, 1);
  luaL_checktype(L, -1, LUA_TTABLE);
  n = wa_rawlen(L, -1);
  hs = (sigv4_header *)lua_newuserdata(L, (n ? n : 1) * sizeof *hs); /* GC-owned */
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, -2, (int)i + 1);
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "sign: headers[%d] must be {name, value} strings", (int)i + 1);
    hs[i].name = lua_tolstring(L, -2, &hs[i].name_len);
    hs[i].value = lua_tolstring(L, -1, &hs[i].value_len);
    lua_pop(L, 3); /* strings stay referenced by the headers table */
  }
  req.headers = hs;
  req.n_headers = n;

  before = sg->cache.derivations;
  rc = sigv4_sign(&req, &p, &sg->cache, &sg->out);
  if (rc == SIGV4_ENOMEM) return luaL_error(L, "not enough memory");
  if (rc != SIGV4_OK) return push_failure(L, "invalid", "cannot sign: malformed input", NULL);
  lua_createtable(L, 0, 6);
  set_string_field(L, "authorization", &sg->out.authorization);
  set_string_field(L, "canonical_request", &sg->out.canonical_request);
  set_string_field(L, "string_to_sign", &sg->out.string_to_sign);
  set_string_field(L, "signed_headers", &sg->out.signed_headers);
  lua_pushstring(L, sg->out.signature);
  lua_setfield(L, -2, "signature");
  lua_pushboolean(L, sg->cache.derivations != before);
  lua_setfield(L, -2, "derived_key");
  return 1;
}

/* ---- the client: one curl handle, one signing-key cache, reused buffers ---- */

typedef struct {
  wa_http http;
  wa_sockets socks; /* the sockets of http's connections (see check_client) */
  int open;
  int busy;          /* inside a call that uses its buffers: see guarded() */
  int close_pending; /* close() was called while busy */
  char *url;     /* endpoint + /v1/whatsapp/send */
  char *path;    /* the path part of url, as signed */
  char *host;    /* the Host header we sign and send */
  char *region;
  char *service;
  char *ca_file;
  char *user_agent;
  wa_sender s;    /* signing state and buffers of send, prepare and batch:add */
  wa_request req; /* the request of send and prepare */
  wa_buf nodes;   /* the header list of request() */
  unsigned long requests;
} client;

static void client_release(client *c) {
  /* not "if (c->open)": a close() during a call clears open before the
   * release that leave_client() makes; wa_http_close is idempotent. In a
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
  c->url = c->path = c->host = c->region = c->service = c->ca_file = c->user_agent = NULL;
  wa_sender_free(&c->s);
  wa_request_free(&c->req);
  wa_buf_free(&c->nodes);
}

/* The client at idx, ready for a call: open and not inside another call.
 * Call after every argument is converted (a conversion may run the GC, and a
 * finalizer may close this client), then mark it busy. */
static client *check_client(lua_State *L, int idx) {
  client *c = (client *)luaL_checkudata(L, idx, CLIENT_MT);
  if (!c->open) luaL_error(L, "whatsapp client is closed");
  if (c->busy) luaL_error(L, "whatsapp client is busy (used again from a finalizer?)");
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

static void leave_client(client *c) {
  c->busy = 0;
  if (c->close_pending) client_release(c);
}

static int fail_oom(lua_State *L, client *c) {
  wa_json_box_clear(&c->s.json.box);
  return luaL_error(L, "not enough memory");
}

/* A number in [min, max] as a long; anything else raises (converting an
 * out-of-range double is undefined behaviour in C). */
static long check_range(lua_State *L, int idx, double min, double max, const char *what) {
  double d = (double)lua_tonumber(L, idx);
  if (lua_type(L, idx) != LUA_TNUMBER || !(d >= min && d <= max))
    return luaL_error(L, "%s must be a number in [%f, %f]", what, min, max);
  return (long)d;
}

static long config_long(lua_State *L, const char *name) {
  long v;
  lua_getfield(L, 1, name);
  v = check_range(L, -1, 0, 2147483647.0, name);
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
  copy = dup_string(s);
  lua_pop(L, 1);
  if (copy == NULL) luaL_error(L, "not enough memory");
  return copy;
}

/* core.new_client{url=, path=, host=, region=, service=, connect_timeout_ms=,
 *                 timeout_ms=, max_message_bytes=, ca_file=, user_agent=,
 *                 max_response_bytes=}
 * Every value is settled by Lua; this only copies them. */
static int l_new_client(lua_State *L) {
  client *c;
  wa_http_config hc;
  luaL_checktype(L, 1, LUA_TTABLE);
  c = (client *)lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  wa_setmetatable(L, CLIENT_MT); /* from here __gc frees whatever is set */
  c->url = config_string(L, "url", 1);
  c->path = config_string(L, "path", 1);
  c->host = config_string(L, "host", 1);
  c->region = config_string(L, "region", 1);
  c->service = config_string(L, "service", 1);
  c->ca_file = config_string(L, "ca_file", 0);
  c->user_agent = config_string(L, "user_agent", 0);
  c->s.host = c->host;
  c->s.host_len = strlen(c->host);
  c->s.max_message_bytes = (size_t)config_long(L, "max_message_bytes");
  hc.connect_timeout_ms = config_long(L, "connect_timeout_ms");
  hc.timeout_ms = config_long(L, "timeout_ms");
  lua_getfield(L, 1, "max_response_bytes");
  hc.max_response = lua_isnil(L, -1) ? 0 : (size_t)check_range(L, -1, 0, 2147483647.0, "max_response_bytes");
  lua_pop(L, 1);
  /* these reach header lines or the request line: Lua checks them, and the
   * C API refuses them too, for any other caller */
  if ((c->user_agent && wa_has_crlf(c->user_agent, strlen(c->user_agent))) ||
      wa_has_crlf(c->host, strlen(c->host)) || wa_has_crlf(c->url, strlen(c->url)) ||
      wa_has_crlf(c->path, strlen(c->path)) || strchr(c->url, ' ') || strchr(c->path, ' '))
    return luaL_error(L, "new_client: url, path, host or user_agent holds a space, CR or LF");
  if (hc.timeout_ms < 1 || hc.connect_timeout_ms < 1)
    return luaL_error(L, "new_client: timeouts must be at least 1 ms");
  hc.ca_file = c->ca_file;
  hc.user_agent = c->user_agent;
  hc.sockets = &c->socks;
  wa_sockets_init(&c->socks);
  if (wa_http_init(&c->http, &hc) != 0) return luaL_error(L, "libcurl could not make a handle");
  c->open = 1;
  switch (sigv4_fixed_init(&c->s.fixed, "POST", c->path, strlen(c->path), "application/json", c->host, c->s.host_len,
                           c->region, c->service)) {
    case SIGV4_OK: c->s.fixed_ok = 1; break;
    case SIGV4_ENOMEM: return luaL_error(L, "not enough memory");
    default: c->s.fixed_ok = 0; /* every send says it cannot be signed */
  }
  return 1;
}

static const char *http_kind(wa_http_result r) {
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

/* The service's answer to a send, {"messageId":"<id>"}, read without a JSON
 * parser: 1 with the id, or 0 for anything else (then decoded in full). */
static int just_message_id(const char *s, size_t n, const char **id, size_t *id_len) {
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

/* Pushes status, value (decoded JSON, or the raw text), request_id,
 * error_type, date, retry_after of the answer h holds. */
static int push_answer(lua_State *L, const wa_http *h) {
  wa_http_answer a;
  const char *id;
  size_t id_len;
  wa_http_answer_headers(h, &a);
  lua_pushinteger(L, (lua_Integer)h->status);
  if (h->body.len && just_message_id(h->body.data, h->body.len, &id, &id_len)) {
    lua_createtable(L, 0, 1);
    lua_pushlstring(L, id, id_len);
    lua_setfield(L, -2, "messageId");
  } else if (h->body.len == 0 || wa_json_decode(L, h->body.data, h->body.len) != 0) {
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

/* The arguments of client:send and client:prepare (and batch:add), from
 * index base on: message, product, id, version, akid, secret, token, offset.
 * Converted before any client is entered (a conversion may run the GC). */
typedef struct {
  int msg; /* the stack index of the message */
  const char *product;
  wa_send_args w; /* the rest (request.h) */
} send_args;

static void check_send_args(lua_State *L, int base, send_args *a) {
  a->msg = base;
  a->product = luaL_optstring(L, base + 1, NULL);
  a->w.id = luaL_checklstring(L, base + 2, &a->w.id_len);
  a->w.ver = luaL_checklstring(L, base + 3, &a->w.ver_len);
  a->w.akid = luaL_checklstring(L, base + 4, &a->w.akid_len);
  a->w.secret = luaL_checklstring(L, base + 5, &a->w.secret_len);
  a->w.token_len = 0;
  a->w.token = luaL_optlstring(L, base + 6, NULL, &a->w.token_len);
  a->w.offset = lua_isnoneornil(L, base + 7) ? 0
                                           : check_range(L, base + 7, -86400.0 * 366, 86400.0 * 366, "clock offset");
  if (lua_type(L, base) != LUA_TSTRING) luaL_checktype(L, base, LUA_TTABLE);
}

/* Encodes the message (a->msg: a table, or JSON text given its
 * messaging_product) and builds the request into r (request.c): the body,
 * the header lines ("Expect:" last) and the list over them. Returns 0, the
 * count of the failure it pushed, or BUILD_OOM (nothing pushed; the caller
 * raises once its own state is settled). */
#define BUILD_OOM (-1)
static int build_send(lua_State *L, client *c, const send_args *a, wa_request *r) {
  size_t msg_len = 0;
  const char *msg = NULL;
  wa_failure f;
  int rc;

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
  if (rc == -2) return BUILD_OOM;
  if (rc != 0) {
    /* the field is the path inside the message, as builders name it: text.body */
    const char *field = c->s.json.err.field.len ? c->s.json.err.field.data : "message";
    return push_failure(L, "invalid", c->s.json.err.message, field);
  }
  /* 2.-4. the AWS body, the signature, the header lines */
  switch (wa_request_build(&c->s, msg, msg_len, &a->w, r, &f)) {
    case WA_BUILD_OK: return 0;
    case WA_BUILD_FAILED: return push_failure(L, f.kind, f.message, f.field);
    default: return BUILD_OOM;
  }
}

/* ---- calls that mark the client busy ------------------------------------ */

/* What a guarded call (see guarded) works with: its client (and batch), the
 * arguments converted before it started, and its time limit. */
typedef struct {
  client *c;
  void *batch; /* a batch_ud, or NULL */
  send_args a;
  long limit_ms, slot;
  const char *method, *url, *body;
  size_t method_len, url_len, body_len;
} call_ctx;

static void enter_batch(void *u);
static void leave_batch(void *u);

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
static int guarded(lua_State *L, call_ctx *x, int value) {
  int base = lua_gettop(L) - 1, status;
  lua_pushlightuserdata(L, x);
  if (value) lua_pushvalue(L, value);
  else lua_pushnil(L);
  if (x->batch) enter_batch(x->batch);
  if (x->c) x->c->busy = 1;
  status = lua_pcall(L, 2, LUA_MULTRET, 0);
  if (x->batch) leave_batch(x->batch);
  if (x->c) leave_client(x->c);
  if (status != 0) return lua_error(L);
  return lua_gettop(L) - base;
}

static int send_body(lua_State *L) {
  call_ctx *x = (call_ctx *)lua_touserdata(L, 1);
  client *c = x->c;
  wa_http_result r;
  int n;
  x->a.msg = 2;
  if ((n = build_send(L, c, &x->a, &c->req)) != 0) return n < 0 ? fail_oom(L, c) : n;
  c->requests++;
  r = wa_http_perform(&c->http, "POST", c->url, c->req.list, c->req.body.data, c->req.body.len, x->limit_ms);
  wa_trim(&c->req.body, c->req.body.len);
  if (r != WA_HTTP_OK) return push_failure(L, http_kind(r), c->http.errbuf, NULL);
  return push_answer(L, &c->http);
}

/* client:send(message, default_product|nil, origination_id, meta_api_version,
 *             access_key_id, secret_access_key, session_token|nil, clock_offset|nil,
 *             limit_ms|nil)
 * clock_offset: seconds added to the local clock when signing (skew learned
 * from the service); limit_ms caps this attempt's time limits (a deadline).
 * Encodes, base64s, builds the body, signs, POSTs and parses in one call.
 * -> status, value, request_id, error_type, date, retry_after
 *  | nil, kind, message[, field] */
static int l_client_send(lua_State *L) {
  call_ctx x;
  memset(&x, 0, sizeof x);
  check_send_args(L, 2, &x.a);
  x.limit_ms = lua_isnoneornil(L, 10) ? 0 : check_range(L, 10, 1, 2147483647.0, "time limit");
  lua_pushcfunction(L, send_body); /* first: see guarded */
  x.c = check_client(L, 1);
  return guarded(L, &x, 2);
}

static int prepare_body(lua_State *L) {
  call_ctx *x = (call_ctx *)lua_touserdata(L, 1);
  client *c = x->c;
  const struct curl_slist *line;
  char length[32];
  int n;
  wa_buf *w;
  x->a.msg = 2;
  if ((n = build_send(L, c, &x->a, &c->req)) != 0) return n < 0 ? fail_oom(L, c) : n;
  c->requests++;
  /* the whole request in one buffer, then one Lua string (pushing it may run
   * a finalizer: the client is busy, so its buffers stay until the guard ends) */
  w = &c->s.text; /* free once build_send is over */
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
  check_send_args(L, 2, &x.a);
  lua_pushcfunction(L, prepare_body); /* first: see guarded */
  x.c = check_client(L, 1);
  return guarded(L, &x, 2);
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
  client *c = x->c;
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
        return push_failure(L, "invalid", "header name or value is empty or holds CR, LF, NUL or ':'", k);
      if (++count > 48) return push_failure(L, "invalid", "more than 48 headers", NULL);
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
  if (r != WA_HTTP_OK) return push_failure(L, http_kind(r), c->http.errbuf, NULL);
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
  x.limit_ms = lua_isnoneornil(L, 6) ? 0 : check_range(L, 6, 1, 2147483647.0, "time limit");
  if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
  if (!is_token(x.method) || strlen(x.method) != x.method_len)
    return push_failure(L, "invalid", "method must be an HTTP token", "method");
  if (wa_has_crlf(x.url, x.url_len) || strchr(x.url, ' '))
    return push_failure(L, "invalid", "URL holds a space, CR, LF or NUL", "url");
  headers = lua_isnoneornil(L, 4) ? 0 : 4; /* (before the push below fills slot 4 when there are 3 arguments) */
  lua_pushcfunction(L, request_body); /* first: see guarded */
  x.c = check_client(L, 1);
  return guarded(L, &x, headers);
}

/* ---- batches: many requests in flight on a libcurl multi handle ---------- */

/* A Batch userdata owns its multi handle, easy handles and request buffers
 * (multi.c). It holds no pointer to the client: each add() is given the
 * client, whose encoder and signer build the request into a slot; libcurl
 * keeps its own copies of the URL and settings. Lua decides what to add when
 * (retries, pacing); this only moves bytes. */
typedef struct {
  wa_batch b;
  int open;
  int busy;          /* inside a call that uses the slots: see guarded() */
  int close_pending; /* close() was called while busy */
  long http_version; /* of the last answer */
} batch_ud;

static void batch_release(batch_ud *u) {
  if (u->open) wa_batch_free(&u->b);
  u->open = 0;
}

static batch_ud *check_batch(lua_State *L, int idx) {
  batch_ud *u = (batch_ud *)luaL_checkudata(L, idx, BATCH_MT);
  if (!u->open) luaL_error(L, "whatsapp batch is closed");
  if (u->busy) luaL_error(L, "whatsapp batch is busy (used again from a finalizer?)");
  if (wa_sockets_forked(&u->b.socks) && wa_batch_reopen(&u->b) != 0) { /* see check_client */
    batch_release(u);
    luaL_error(L, "libcurl could not make a multi handle");
  }
  return u;
}

static void enter_batch(void *p) {
  ((batch_ud *)p)->busy = 1;
}

static void leave_batch(void *p) {
  batch_ud *u = (batch_ud *)p;
  u->busy = 0;
  if (u->close_pending) batch_release(u);
}

/* client:batch(slots) -> a Batch with that many slots (transfers in flight at
 * most), sending with this client's time limits, CA file and User-Agent. */
static int l_client_batch(lua_State *L) {
  long n = check_range(L, 2, 1, 4096, "slots");
  client *c = check_client(L, 1);
  wa_http_config cfg;
  batch_ud *u = (batch_ud *)lua_newuserdata(L, sizeof *u); /* may run a finalizer */
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
  batch_ud *u = (batch_ud *)x->batch;
  client *c = x->c;
  size_t i = (size_t)x->slot - 1;
  int n;
  x->a.msg = 2;
  n = build_send(L, c, &x->a, &u->b.slots[i].req);
  if (n != 0) return n < 0 ? fail_oom(L, c) : n;
  wa_trim(&u->b.slots[i].http.body, 0); /* the answer it held was read */
  if (wa_batch_start(&u->b, i, c->url, x->limit_ms) != 0) return luaL_error(L, "%s", u->b.errbuf);
  c->requests++;
  lua_pushboolean(L, 1);
  return 1;
}

/* batch:add(client, slot, message, default_product|nil, origination_id,
 *           meta_api_version, access_key_id, secret_access_key,
 *           session_token|nil, clock_offset|nil, limit_ms|nil)
 * Builds the request as client:send does, into the slot, and starts it.
 * -> true | nil, kind, message[, field] (nothing was started) */
static int l_batch_add(lua_State *L) {
  call_ctx x;
  batch_ud *u;
  memset(&x, 0, sizeof x);
  luaL_checkudata(L, 1, BATCH_MT);
  luaL_checkudata(L, 2, CLIENT_MT);
  x.slot = check_range(L, 3, 1, 4096, "slot");
  check_send_args(L, 4, &x.a);
  x.limit_ms = lua_isnoneornil(L, 12) ? 0 : check_range(L, 12, 1, 2147483647.0, "time limit");
  lua_pushcfunction(L, batch_add_body); /* first: see guarded */
  u = check_batch(L, 1);
  x.c = check_client(L, 2);
  x.batch = u;
  if ((size_t)x.slot > u->b.n_slots) return luaL_error(L, "batch slot %d out of range", (int)x.slot);
  if (u->b.slots[x.slot - 1].state != WA_SLOT_IDLE) return luaL_error(L, "batch slot %d is in use", (int)x.slot);
  if (wa_batch_slot_ready(&u->b, (size_t)x.slot - 1) != 0) return luaL_error(L, "libcurl could not make a handle");
  return guarded(L, &x, 4);
}

/* batch:poll(timeout_ms) -> how many finished transfers wait for result():
 * runs the transfers until one finishes or timeout_ms passes. */
static int l_batch_poll(lua_State *L) {
  long timeout = check_range(L, 2, 0, 86400000.0, "timeout");
  batch_ud *u = check_batch(L, 1);
  long n;
  u->busy = 1;
  n = wa_batch_run(&u->b, timeout); /* no Lua runs in here */
  u->busy = 0;
  if (n < 0) return luaL_error(L, "%s", u->b.errbuf);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int batch_result_body(lua_State *L) {
  call_ctx *x = (call_ctx *)lua_touserdata(L, 1);
  batch_ud *u = (batch_ud *)x->batch;
  wa_slot *s = &u->b.slots[x->slot];
  size_t id_len;
  const char *id;
  int n;
  lua_pushinteger(L, (lua_Integer)x->slot + 1);
  if (s->result != WA_HTTP_OK) {
    n = 1 + push_failure(L, http_kind(s->result), s->http.errbuf, NULL);
  } else if (s->http.status >= 200 && s->http.status < 300 && s->http.body.len &&
             just_message_id(s->http.body.data, s->http.body.len, &id, &id_len)) {
    char date[64];
    u->http_version = s->http.http_version;
    lua_pushboolean(L, 1);
    lua_pushlstring(L, id, id_len);
    if (wa_http_header(&s->http, "Date", date, sizeof date) >= 0) lua_pushstring(L, date);
    else lua_pushnil(L);
    n = 4;
  } else {
    u->http_version = s->http.http_version;
    n = 1 + push_answer(L, &s->http);
  }
  wa_trim(&s->req.body, s->req.body.len);
  return n;
}

/* batch:result() -> the oldest finished transfer: slot, then what
 * client:send returns (status, value, request_id, error_type, date,
 * retry_after | nil, kind, message), or for the common answer, a 2xx with
 * {"messageId":"..."}, slot, true, message_id, date. Nothing when none is
 * waiting. The slot is free again. Pushing may run a finalizer: the slot's
 * buffers stay until the guard ends. */
static int l_batch_result(lua_State *L) {
  call_ctx x;
  size_t i;
  memset(&x, 0, sizeof x);
  lua_pushcfunction(L, batch_result_body); /* first: see guarded */
  x.batch = check_batch(L, 1);
  if (!wa_batch_next(&((batch_ud *)x.batch)->b, &i)) return 0;
  x.slot = (long)i;
  return guarded(L, &x, 0);
}

/* batch:abort(): stops every transfer; every slot is free. */
static int l_batch_abort(lua_State *L) {
  batch_ud *u = check_batch(L, 1);
  wa_batch_abort(&u->b);
  return 0;
}

/* Sets t.http_version ("2", "1.1", "1.0") on the table on top, when known. */
static void set_http_version(lua_State *L, long version) {
  if (version == 0) return;
  lua_pushstring(L, version == 20 ? "2" : version == 10 ? "1.0" : "1.1");
  lua_setfield(L, -2, "http_version");
}

/* batch:stats() -> {slots=, running=, connections=, http_version=} */
static int l_batch_stats(lua_State *L) {
  batch_ud *u = (batch_ud *)luaL_checkudata(L, 1, BATCH_MT);
  lua_createtable(L, 0, 4);
  if (!u->open) return 1;
  lua_pushinteger(L, (lua_Integer)u->b.n_slots);
  lua_setfield(L, -2, "slots");
  lua_pushinteger(L, (lua_Integer)u->b.running);
  lua_setfield(L, -2, "running");
  lua_pushnumber(L, (lua_Number)wa_batch_connects(&u->b));
  lua_setfield(L, -2, "connections");
  set_http_version(L, u->http_version);
  return 1;
}

static int l_batch_close(lua_State *L) {
  batch_ud *u = (batch_ud *)luaL_checkudata(L, 1, BATCH_MT);
  if (u->busy) { /* called from a finalizer in the middle of a call */
    u->close_pending = 1;
    return 0;
  }
  batch_release(u); /* idempotent */
  return 0;
}

/* A batch inside a call is on that call's stack, so it cannot be collected. */
static int l_batch_gc(lua_State *L) {
  batch_release((batch_ud *)luaL_checkudata(L, 1, BATCH_MT));
  return 0;
}

/* client:stats() -> {requests=, key_derivations=, connections=, http_version=} */
static int l_client_stats(lua_State *L) {
  client *c = (client *)luaL_checkudata(L, 1, CLIENT_MT);
  lua_createtable(L, 0, 3);
  set_http_version(L, c->http.http_version);
  lua_pushnumber(L, (lua_Number)c->requests);
  lua_setfield(L, -2, "requests");
  lua_pushnumber(L, (lua_Number)c->s.keys.derivations);
  lua_setfield(L, -2, "key_derivations");
  lua_pushnumber(L, (lua_Number)c->http.connects);
  lua_setfield(L, -2, "connections");
  return 1;
}

static int l_client_close(lua_State *L) {
  client *c = (client *)luaL_checkudata(L, 1, CLIENT_MT);
  if (c->busy) { /* called from a finalizer in the middle of a send */
    c->open = 0;
    c->close_pending = 1;
    return 0;
  }
  client_release(c); /* idempotent */
  return 0;
}

/* A client inside a call is on that call's stack, so it cannot be collected:
 * whatever __gc finds, it may free. */
static int l_client_gc(lua_State *L) {
  client_release((client *)luaL_checkudata(L, 1, CLIENT_MT));
  return 0;
}

static int l_client_tostring(lua_State *L) {
  client *c = (client *)luaL_checkudata(L, 1, CLIENT_MT);
  if (c->open) lua_pushfstring(L, "whatsapp.core.Client (%s)", c->url ? c->url : "?");
  else lua_pushstring(L, "whatsapp.core.Client (closed)");
  return 1;
}

/* core.sleep(seconds): the blocking wait between retries of the curl
 * transport (OpenResty uses ngx.sleep instead). Restarts after a signal. */
static int l_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct timespec ts, rem;
  if (!(s >= 0 && s <= 86400)) return luaL_argerror(L, 1, "seconds must be in [0, 86400]");
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
  while (nanosleep(&ts, &rem) != 0 && errno == EINTR) ts = rem;
  return 0;
}

/* core.random() -> a number in [0, 1) from OpenSSL's generator: backoff
 * jitter without touching (or depending on the seeding of) math.random. */
static int l_random(lua_State *L) {
  unsigned char b[8];
  unsigned long long x = 0;
  int i;
  if (RAND_bytes(b, sizeof b) != 1) return luaL_error(L, "OpenSSL RAND_bytes failed");
  for (i = 0; i < 8; i++) x = (x << 8) | b[i];
  lua_pushnumber(L, (double)(x >> 11) * (1.0 / 9007199254740992.0));
  return 1;
}

/* core.monotonic() -> seconds of a clock that never jumps (deadlines, backoff) */
static int l_monotonic(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
  return 1;
}

static int l_versions(lua_State *L) {
  curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, VERSION);
  lua_setfield(L, -2, "whatsapp");
  lua_pushstring(L, v->version);
  lua_setfield(L, -2, "curl");
  lua_pushstring(L, v->ssl_version ? v->ssl_version : "none");
  lua_setfield(L, -2, "ssl");
  lua_pushboolean(L, (v->features & CURL_VERSION_HTTP2) != 0);
  lua_setfield(L, -2, "http2");
  lua_pushstring(L, cJSON_Version());
  lua_setfield(L, -2, "cjson");
  return 1;
}

static const luaL_Reg client_methods[] = {
    {"send", l_client_send}, {"prepare", l_client_prepare},   {"request", l_client_request}, {"stats", l_client_stats},
    {"batch", l_client_batch}, {"close", l_client_close}, {NULL, NULL}};

static const luaL_Reg batch_methods[] = {
    {"add", l_batch_add},     {"poll", l_batch_poll},   {"result", l_batch_result}, {"abort", l_batch_abort},
    {"stats", l_batch_stats}, {"close", l_batch_close}, {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"encode", l_encode},         {"decode", l_decode},           {"set_array_mt", l_set_array_mt},
    {"utf8_valid", l_utf8_valid}, {"sha256_hex", l_sha256_hex},   {"hmac_sha256", l_hmac_sha256},
    {"base64", l_base64},         {"new_client", l_new_client},   {"versions", l_versions},
    {"sleep", l_sleep},           {"monotonic", l_monotonic},
    {"random", l_random},
    {"parse_head", wa_l_parse_head},
    {"read_file", wa_l_read_file}, {"run_process", wa_l_run_process},
    {NULL, NULL}};

int luaopen_whatsapp_core(lua_State *L);
__attribute__((visibility("default"))) int luaopen_whatsapp_core(lua_State *L) {
  wa_checkversion(L);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return luaL_error(L, "libcurl failed to start");

  luaL_newmetatable(L, WA_JSON_SCRATCH_MT);
  lua_pushcfunction(L, json_scratch_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);

  luaL_newmetatable(L, BATCH_MT);
  lua_pushcfunction(L, l_batch_gc);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  lua_pushcfunction(L, l_batch_close);
  lua_setfield(L, -2, "__close");
#endif
  lua_newtable(L);
  wa_setfuncs(L, batch_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  luaL_newmetatable(L, CLIENT_MT);
  lua_pushcfunction(L, l_client_gc);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  lua_pushcfunction(L, l_client_close);
  lua_setfield(L, -2, "__close");
#endif
  lua_pushcfunction(L, l_client_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_newtable(L);
  wa_setfuncs(L, client_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  wa_newlib(L, functions);

  /* core.sign keeps its own key cache and buffers in an upvalue */
  {
    signer *s = (signer *)lua_newuserdata(L, sizeof *s);
    memset(s, 0, sizeof *s);
    luaL_newmetatable(L, SIGNER_MT);
    lua_pushcfunction(L, signer_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, l_sign, 1);
    lua_setfield(L, -2, "sign");
  }

  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  lua_pushinteger(L, LUA_VERSION_NUM);
  lua_setfield(L, -2, "_LUA_VERSION_NUM");
  lua_pushstring(L, VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
