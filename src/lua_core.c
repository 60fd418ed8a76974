/* whatsapp.core: the Lua face of the C core. luaopen_whatsapp_core (the
 * only exported symbol) and the module functions: JSON, hashes, base64,
 * core.sign, sleep, random, monotonic, versions. The Client is bound in
 * lua_client.c, the Batch in lua_batch.c, what they share in lua_util.c;
 * parse_head and send_answer are head.c's, read_file and run_process file.c's;
 * append_open, signals_catch/caught/release and isatty campaign.c's. The work is in
 * sigv4.c, json.c, http.c, multi.c, request.c and crypto.c.
 *
 * Conventions: a wrong argument type raises (a programming error); bad data
 * and network failures return nil, kind, message[, field] and Lua turns them
 * into error objects. Every allocation lives in a userdata whose __gc frees
 * it, so a Lua error on any path leaks nothing. */
#include <errno.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

#include "campaign.h"
#include "compat.h"
#include "crypto.h"
#include "file.h"
#include "head.h"
#include "json.h"
#include "lua_batch.h"
#include "lua_client.h"
#include "lua_util.h"
#include "sigv4.h"
#include "verify.h"

#define SIGNER_MT "whatsapp.core.Signer"
/* the release rockspec's version (in rockspecs/): the Makefile and
 * the rockspecs pass it; "scm" for a build of the scm rockspec */
#ifndef WA_VERSION
#define WA_VERSION "scm"
#endif

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
  if (rc != 0) return wa_push_failure(L, "invalid", s->err.message, s->err.field.data ? s->err.field.data : "");
  lua_pushlstring(L, s->text.data, s->text.len);
  wa_json_scratch_free(s);
  return 1;
}

/* core.decode(json) -> value | nil, "invalid", message */
static int l_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (wa_json_decode(L, s, n) != 0) return wa_push_failure(L, "invalid", "not valid JSON", NULL);
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
  if (rc != SIGV4_OK) return wa_push_failure(L, "invalid", "cannot sign: malformed input", NULL);
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
  lua_pushstring(L, WA_VERSION);
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

static const luaL_Reg functions[] = {
    {"encode", l_encode},         {"decode", l_decode},           {"set_array_mt", l_set_array_mt},
    {"utf8_valid", l_utf8_valid}, {"sha256_hex", l_sha256_hex},   {"hmac_sha256", l_hmac_sha256},
    {"base64", l_base64},         {"new_client", wa_l_new_client},   {"versions", l_versions},
    {"sleep", l_sleep},           {"monotonic", l_monotonic},
    {"random", l_random},
    {"parse_head", wa_l_parse_head},
    {"send_answer", wa_l_send_answer},
    {"read_file", wa_l_read_file}, {"run_process", wa_l_run_process},
    {"append_open", wa_l_append_open}, {"signals_catch", wa_l_signals_catch},
    {"signals_caught", wa_l_signals_caught}, {"signals_release", wa_l_signals_release},
    {"isatty", wa_l_isatty},
    {NULL, NULL}};

int luaopen_whatsapp_core(lua_State *L);
__attribute__((visibility("default"))) int luaopen_whatsapp_core(lua_State *L) {
  wa_checkversion(L);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return luaL_error(L, "libcurl failed to start");

  luaL_newmetatable(L, WA_JSON_SCRATCH_MT);
  lua_pushcfunction(L, json_scratch_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);

  wa_batch_open(L);
  wa_campaign_open(L);
  wa_client_open(L);

  wa_newlib(L, functions);
  wa_verify_open(L); /* x509_pubkey, rsa_verify, base64_decode, equal */

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
  lua_pushstring(L, WA_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
