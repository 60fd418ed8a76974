/* JSON text to Lua values (wa_json_decode): what the service answers. */
#include "json.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

/* JSON text straight to Lua values, without a tree: strings keep every byte
 * (an escaped \u0000 too: cJSON's C strings ended there, cutting a value
 * short), numbers follow RFC 8259's grammar. As cJSON did, raw control
 * characters inside strings are taken as they are: this reads what servers
 * send, it does not judge it (whoever shows it cleans it). The only C memory
 * (a long number's copy) is freed before any Lua call, so a Lua memory
 * error raised midway leaks nothing. */
#define DECODE_MAX_DEPTH 1000 /* cJSON's CJSON_NESTING_LIMIT */

static void add_utf8(luaL_Buffer *b, unsigned cp) {
  if (cp < 0x80) {
    luaL_addchar(b, (char)cp);
  } else if (cp < 0x800) {
    luaL_addchar(b, (char)(0xC0 | (cp >> 6)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    luaL_addchar(b, (char)(0xE0 | (cp >> 12)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    luaL_addchar(b, (char)(0xF0 | (cp >> 18)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  }
}

/* One escape after the backslash (r->p at the letter): appended to b. */
static int d_escape(wa_json_reader *r, luaL_Buffer *b) {
  unsigned c, u, lo;
  if (r->p >= r->end) return 0;
  c = *r->p++;
  switch (c) {
    case '"': case '\\': case '/': luaL_addchar(b, (char)c); return 1;
    case 'b': luaL_addchar(b, '\b'); return 1;
    case 'f': luaL_addchar(b, '\f'); return 1;
    case 'n': luaL_addchar(b, '\n'); return 1;
    case 'r': luaL_addchar(b, '\r'); return 1;
    case 't': luaL_addchar(b, '\t'); return 1;
    case 'u': break;
    default: return 0;
  }
  if (!wa_json_hex4(r, &u) || (u >= 0xDC00 && u <= 0xDFFF)) return 0;
  if (u >= 0xD800 && u <= 0xDBFF) {
    if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') return 0;
    r->p += 2;
    if (!wa_json_hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF) return 0;
    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
  }
  add_utf8(b, u);
  return 1;
}

/* Pushes the string at r->p (its opening quote); 0 with nothing pushed when
 * it is malformed. */
static int d_string(lua_State *L, wa_json_reader *r) {
  const unsigned char *start = ++r->p, *q = start;
  luaL_Buffer b;
  while (q < r->end && *q != '"' && *q != '\\') q++;
  if (q >= r->end) return 0;
  if (*q == '"') { /* no escape: the bytes as they are */
    lua_pushlstring(L, (const char *)start, (size_t)(q - start));
    r->p = q + 1;
    return 1;
  }
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, (const char *)start, (size_t)(q - start));
  r->p = q;
  while (r->p < r->end) {
    unsigned c = *r->p++;
    if (c == '"') {
      luaL_pushresult(&b);
      return 1;
    }
    if (c != '\\') {
      luaL_addchar(&b, (char)c);
    } else if (!d_escape(r, &b)) {
      luaL_pushresult(&b);
      lua_pop(L, 1);
      return 0;
    }
  }
  luaL_pushresult(&b);
  lua_pop(L, 1);
  return 0;
}

static int d_number(lua_State *L, wa_json_reader *r) {
  const unsigned char *start = r->p;
  char small[64], *copy = small, *end = NULL, point = localeconv()->decimal_point[0];
  size_t n, i;
  double d;
  if (!wa_json_read_number(r)) return 0;
  n = (size_t)(r->p - start);
  if (n >= sizeof small && (copy = (char *)malloc(n + 1)) == NULL) return 0;
  for (i = 0; i < n; i++) copy[i] = start[i] == '.' ? point : (char)start[i]; /* strtod reads the locale's point */
  copy[n] = '\0';
#if LUA_VERSION_NUM >= 503
  if (strpbrk(copy, ".eE") == NULL && point != 'e' && point != 'E') {
    /* an integer: exactly, when it fits (a double keeps only 53 bits) */
    long long v;
    errno = 0;
    v = strtoll(copy, &end, 10);
    if (errno == 0 && (size_t)(end - copy) == n && v >= LUA_MININTEGER && v <= LUA_MAXINTEGER) {
      if (copy != small) free(copy);
      lua_pushinteger(L, (lua_Integer)v);
      return 1;
    }
  }
#endif
  d = strtod(copy, &end);
  i = (size_t)(end - copy);
  if (copy != small) free(copy);
  if (i != n) return 0;
#if LUA_VERSION_NUM >= 503
  if (d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0) {
    lua_pushinteger(L, (lua_Integer)d);
    return 1;
  }
#endif
  lua_pushnumber(L, (lua_Number)d);
  return 1;
}

static int d_value(lua_State *L, wa_json_reader *r, int depth);

/* An object or array at r->p: a table (arrays with the array metatable). */
static int d_container(lua_State *L, wa_json_reader *r, int depth) {
  unsigned char close = *r->p == '{' ? '}' : ']';
  int i = 1;
  if (depth >= DECODE_MAX_DEPTH) return 0;
  luaL_checkstack(L, 8, "JSON nesting"); /* the table, a key, a value and a string buffer's slots */
  r->p++;
  lua_newtable(L);
  wa_json_skip_ws(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
  } else {
    for (;;) {
      if (close == '}') {
        wa_json_skip_ws(r);
        if (r->p >= r->end || *r->p != '"' || !d_string(L, r)) return 0;
        wa_json_skip_ws(r);
        if (r->p >= r->end || *r->p != ':') return 0;
        r->p++;
      }
      if (!d_value(L, r, depth + 1)) return 0;
      if (close == '}') lua_rawset(L, -3);
      else lua_rawseti(L, -2, i++);
      wa_json_skip_ws(r);
      if (r->p < r->end && *r->p == ',') {
        r->p++;
        continue;
      }
      if (r->p < r->end && *r->p == close) {
        r->p++;
        break;
      }
      return 0;
    }
  }
  if (close == ']') {
    wa_json_push_array_mt(L);
    lua_setmetatable(L, -2);
  }
  return 1;
}

/* Pushes one value; 0 when the text is malformed (the caller drops whatever
 * was pushed, as the stack top is reset). */
static int d_value(lua_State *L, wa_json_reader *r, int depth) {
  wa_json_skip_ws(r);
  if (r->p >= r->end) return 0;
  switch (*r->p) {
    case '"': return d_string(L, r);
    case '{':
    case '[': return d_container(L, r, depth);
    case 't':
      if (r->end - r->p < 4 || memcmp(r->p, "true", 4) != 0) return 0;
      r->p += 4;
      lua_pushboolean(L, 1);
      return 1;
    case 'f':
      if (r->end - r->p < 5 || memcmp(r->p, "false", 5) != 0) return 0;
      r->p += 5;
      lua_pushboolean(L, 0);
      return 1;
    case 'n':
      if (r->end - r->p < 4 || memcmp(r->p, "null", 4) != 0) return 0;
      r->p += 4;
      lua_pushlightuserdata(L, NULL); /* null */
      return 1;
    default:
      if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) return d_number(L, r);
      return 0;
  }
}

int wa_json_decode(lua_State *L, const char *s, size_t len) {
  int top = lua_gettop(L);
  wa_json_reader r;
  r.p = (const unsigned char *)s;
  r.end = r.p + len;
  r.why = NULL;
  if (s == NULL || !d_value(L, &r, 0)) {
    lua_settop(L, top);
    return -1;
  }
  wa_json_skip_ws(&r);
  if (r.p != r.end) { /* trailing bytes */
    lua_settop(L, top);
    return -1;
  }
  return 0;
}
