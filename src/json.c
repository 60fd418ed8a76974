#include "json.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ARRAY_MT_KEY = 'a'; /* its address keys the registry slot */

void wa_json_set_array_mt(lua_State *L, int idx) {
  idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
  lua_pushlightuserdata(L, (void *)&ARRAY_MT_KEY);
  lua_pushvalue(L, idx);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void wa_json_push_array_mt(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&ARRAY_MT_KEY);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

void wa_json_box_clear(wa_json_box *box) {
  if (box->tree) cJSON_Delete(box->tree);
  if (box->text) cJSON_free(box->text);
  box->tree = NULL;
  box->text = NULL;
}

void wa_json_scratch_free(wa_json_scratch *s) {
  wa_json_box_clear(&s->box);
  wa_buf_free(&s->err.field);
  wa_buf_free(&s->text);
  wa_buf_free(&s->keys);
}

/* ---- UTF-8 ------------------------------------------------------------ */

int wa_utf8_valid(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str, *end = s + len;
  while (s < end) {
    unsigned c = *s;
    if (c < 0x80) {
      /* ASCII runs go 8 bytes at a time */
      while (end - s >= 8) {
        unsigned long long w;
        memcpy(&w, s, 8);
        if (w & 0x8080808080808080ULL) break;
        s += 8;
      }
      while (s < end && *s < 0x80) s++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      if (end - s < 2 || (s[1] & 0xC0) != 0x80) return 0;
      s += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      if (end - s < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80) return 0;
      s += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      if (end - s < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
          (s[3] & 0xC0) != 0x80)
        return 0;
      s += 4;
    } else {
      return 0;
    }
  }
  return 1;
}

/* ---- escaping --------------------------------------------------------- */

int wa_json_add_string(wa_buf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t i, run = 0;
  if (wa_buf_reserve(b, len + 2) != 0 || wa_buf_addc(b, '"') != 0) return -1;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[6];
    size_t n = 2;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    if (wa_buf_add(b, s + run, i - run) != 0) return -1;
    run = i + 1;
    esc[0] = '\\';
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        n = 6;
    }
    if (wa_buf_add(b, esc, n) != 0) return -1;
  }
  if (wa_buf_add(b, s + run, len - run) != 0) return -1;
  return wa_buf_addc(b, '"');
}

/* ---- encoding --------------------------------------------------------- */

/* Tables are written straight into the output buffer, the way cJSON's
 * unformatted printer would write the same value (the same escapes and number
 * formats), without building a tree: a 2 MB string is checked and copied
 * once. Nothing here allocates Lua memory, so no finalizer runs meanwhile. */

typedef struct {
  const char *key; /* NULL for an array index */
  size_t key_len;
  long long index; /* 1-based, as the Lua table has it */
  const void *table;
} frame;

typedef struct {
  const char *k;
  size_t len;
  int product; /* the default messaging_product, not in the table */
  int slot;    /* where the key string is anchored: a stack index, or an anchor table index */
} key_entry;

typedef struct {
  lua_State *L;
  wa_json_error *err;
  wa_buf *out;
  wa_buf *keys; /* a stack of key_entry, one segment per object being written */
  const char *product;
  int depth;
  int oom;
  frame path[WA_JSON_MAX_DEPTH + 1];
} encoder;

static int is_identifier(const char *s, size_t n) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
          (i > 0 && c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* Writes the path of the current value (frames 1..depth) into err->field. */
static void record_path(encoder *e, int upto) {
  wa_buf *b = &e->err->field;
  int i;
  wa_buf_clear(b);
  for (i = 1; i <= upto; i++) {
    const frame *f = &e->path[i];
    if (f->key == NULL) {
      char num[32];
      snprintf(num, sizeof num, "[%lld]", f->index);
      wa_buf_addstr(b, num);
    } else if (is_identifier(f->key, f->key_len)) {
      if (b->len) wa_buf_addc(b, '.');
      wa_buf_add(b, f->key, f->key_len);
    } else {
      /* keep odd keys readable and short: ["a key"] */
      size_t n = f->key_len > 40 ? 40 : f->key_len, k;
      int utf8 = wa_utf8_valid(f->key, f->key_len);
      if (utf8) /* cut on a character boundary */
        while (n < f->key_len && n > 0 && ((unsigned char)f->key[n] & 0xC0) == 0x80) n--;
      wa_buf_addstr(b, "[\"");
      for (k = 0; k < n; k++) {
        unsigned char c = (unsigned char)f->key[k];
        int odd = c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8);
        wa_buf_addc(b, odd ? '?' : (char)c);
      }
      wa_buf_addstr(b, n < f->key_len ? "...\"]" : "\"]");
    }
  }
  wa_buf_terminate(b);
}

static int fail(encoder *e, int upto, const char *fmt, const char *detail) {
  snprintf(e->err->message, sizeof e->err->message, fmt, detail);
  record_path(e, upto);
  return -1;
}

static int nomem(encoder *e) {
  e->oom = 1;
  return -1;
}

static int check_text(encoder *e, int upto, const char *s, size_t n, const char *what) {
  if (memchr(s, '\0', n) != NULL) return fail(e, upto, "%s contains a NUL byte", what);
  if (!wa_utf8_valid(s, n)) return fail(e, upto, "%s is not valid UTF-8", what);
  return 0;
}

/* A word with a byte below 0x20, or '"' or '\\': it needs escapes. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static int needs_escape(unsigned long long w) {
  unsigned long long q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
  unsigned long long low = (w - ONES * 0x20) & ~w;
  return (((q - ONES) & ~q) | ((b - ONES) & ~b) | low) & HIGHS ? 1 : 0;
}

/* Appends s as a JSON string with cJSON's escapes: \" \\ \b \f \n \r \t,
 * \u00xx for the other control characters, every other byte as it is. */
static int write_string(wa_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i = 0, extra = 0;
  char *o;
  /* count first, so the buffer grows once */
  while (i < n) {
    if (n - i >= 8) {
      unsigned long long w;
      memcpy(&w, s + i, 8);
      if (!needs_escape(w)) {
        i += 8;
        continue;
      }
    }
    {
      unsigned char c = (unsigned char)s[i++];
      if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') extra += 1;
      else if (c < 0x20) extra += 5;
    }
  }
  if (n > (size_t)-1 - extra - 3 || wa_buf_reserve(b, n + extra + 2) != 0) return -1;
  o = b->data + b->len;
  *o++ = '"';
  if (extra == 0) {
    memcpy(o, s, n);
    o += n;
  } else {
    for (i = 0; i < n; i++) {
      unsigned char c = (unsigned char)s[i];
      if (c >= 0x20 && c != '"' && c != '\\') {
        *o++ = (char)c;
        continue;
      }
      *o++ = '\\';
      switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
          *o++ = 'u';
          *o++ = '0';
          *o++ = '0';
          *o++ = hex[c >> 4];
          *o++ = hex[c & 15];
      }
    }
  }
  *o++ = '"';
  b->len = (size_t)(o - b->data);
  return 0;
}

/* cJSON's number format: %1.15g, or %1.17g when that does not read back. */
static void format_double(double d, char num[32]) {
  double back;
  char point = localeconv()->decimal_point[0], *p;
  snprintf(num, 32, "%1.15g", d);
  back = strtod(num, NULL);
  /* (unlike cJSON, near DBL_MAX: 15 digits may round past it, to infinity) */
  if (isinf(back) || !(fabs(back - d) <= (fabs(back) > fabs(d) ? fabs(back) : fabs(d)) * DBL_EPSILON)) snprintf(num, 32, "%1.17g", d);
  if (point != '.' && (p = strchr(num, point)) != NULL) *p = '.';
}

static int write_number(encoder *e, int idx) {
  lua_State *L = e->L;
  char num[32];
  if (wa_isinteger(L, idx)) {
    snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, idx));
  } else {
    double d = (double)lua_tonumber(L, idx);
    if (d != d || d == HUGE_VAL || d == -HUGE_VAL)
      return fail(e, e->depth, "%s", d != d ? "NaN is not a JSON number" : "infinity is not a JSON number");
    /* integral values print as integers (LuaJIT has no integer subtype) */
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
      snprintf(num, sizeof num, "%.0f", d);
      if (strcmp(num, "-0") == 0) strcpy(num, "0");
    } else {
      format_double(d, num);
    }
  }
  return wa_buf_addstr(e->out, num) != 0 ? nomem(e) : 0;
}

static int write_value(encoder *e, int idx);

static int is_marked_array(lua_State *L, int idx) {
  int marked;
  if (!lua_getmetatable(L, idx)) return 0;
  wa_json_push_array_mt(L);
  marked = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return marked;
}

static int key_cmp(const void *a, const void *b) {
  const key_entry *x = (const key_entry *)a, *y = (const key_entry *)b;
  size_t m = x->len < y->len ? x->len : y->len;
  int c = m ? memcmp(x->k, y->k, m) : 0;
  if (c != 0) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Pass 1 over an object's keys: each string key is anchored (on the Lua
 * stack, or in an anchor table when the stack cannot hold them all) so the
 * pointers kept in e->keys stay valid whatever a finalizer does to the table
 * meanwhile, and is checked. Returns 0, or -1/-2 as write_value. */
static int collect_keys(encoder *e, int idx, long long n_str, int *anchor) {
  lua_State *L = e->L;
  long long n = 0;
  *anchor = 0;
  if (n_str > 100000000 || !lua_checkstack(L, (int)n_str + 4)) {
    if (!lua_checkstack(L, 4)) return nomem(e);
    lua_createtable(L, n_str < 1000000 ? (int)n_str : 1000000, 0); /* may run a finalizer: no pointer kept yet */
    *anchor = lua_gettop(L);
  }
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    key_entry k;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) { /* a finalizer changed the table between the passes */
      lua_pop(L, 1);
      return fail(e, e->depth, "%s", "table changed while it was being encoded");
    }
    k.k = lua_tolstring(L, -1, &k.len);
    k.product = 0;
    if (*anchor) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, *anchor, (int)++n); /* grows without running finalizers */
      k.slot = (int)n;
    } else {
      lua_pushvalue(L, -1); /* the lower copy stays as the anchor; lua_next takes the upper one */
      k.slot = lua_gettop(L) - 1;
    }
    e->path[e->depth + 1].key = k.k;
    e->path[e->depth + 1].key_len = k.len;
    if (check_text(e, e->depth + 1, k.k, k.len, "key") != 0) {
      lua_pop(L, 1);
      return -1;
    }
    if (wa_buf_add(e->keys, &k, sizeof k) != 0) {
      lua_pop(L, 1);
      return nomem(e);
    }
  }
  return 0;
}

static int write_object(encoder *e, int idx, long long n_str) {
  lua_State *L = e->L;
  size_t base = e->keys->len, count, j;
  int anchor, rc, root_product;

  rc = collect_keys(e, idx, n_str, &anchor);
  if (rc != 0) return rc;
  count = (e->keys->len - base) / sizeof(key_entry);
  root_product = e->depth == 0 && e->product != NULL;
  for (j = 0; j < count && root_product; j++) {
    const key_entry *k = (const key_entry *)(void *)(e->keys->data + base) + j;
    if (k->len == 17 && memcmp(k->k, "messaging_product", 17) == 0) root_product = 0;
  }
  if (root_product) { /* the default messaging_product joins the keys */
    key_entry k;
    k.k = "messaging_product";
    k.len = 17;
    k.product = 1;
    k.slot = 0;
    if (wa_buf_add(e->keys, &k, sizeof k) != 0) return nomem(e);
    count++;
  }
  /* keys in byte order: the same table always gives the same bytes */
  if (count > 16) {
    qsort(e->keys->data + base, count, sizeof(key_entry), key_cmp);
  } else if (count > 1) { /* a message's objects have a few keys: insertion sort, no calls through a pointer */
    key_entry *k = (key_entry *)(void *)(e->keys->data + base);
    size_t a, b;
    for (a = 1; a < count; a++) {
      key_entry t = k[a];
      for (b = a; b > 0 && key_cmp(&k[b - 1], &t) > 0; b--) k[b] = k[b - 1];
      k[b] = t;
    }
  }
  if (wa_buf_addc(e->out, '{') != 0) return nomem(e);
  for (j = 0; j < count; j++) {
    key_entry k = ((const key_entry *)(void *)(e->keys->data + base))[j]; /* a copy: the stack may move */
    frame *f = &e->path[++e->depth];
    f->key = k.k;
    f->key_len = k.len;
    if ((j > 0 && wa_buf_addc(e->out, ',') != 0) || write_string(e->out, k.k, k.len) != 0 ||
        wa_buf_addc(e->out, ':') != 0)
      return nomem(e);
    if (k.product) {
      rc = write_string(e->out, e->product, strlen(e->product)) != 0 ? nomem(e) : 0;
    } else {
      if (anchor) lua_rawgeti(L, anchor, k.slot);
      else lua_pushvalue(L, k.slot);
      lua_rawget(L, idx);
      rc = write_value(e, lua_gettop(L));
      lua_pop(L, 1);
    }
    e->depth--;
    if (rc != 0) return rc;
  }
  e->keys->len = base;
  return wa_buf_addc(e->out, '}') != 0 ? nomem(e) : 0;
}

static int write_table(encoder *e, int idx) {
  lua_State *L = e->L;
  const void *self = lua_topointer(L, idx);
  long long n_int = 0, max_int = 0, n_str = 0;
  int i, marked, top = lua_gettop(L), rc;

  for (i = 1; i <= e->depth; i++) {
    if (e->path[i - 1].table == self) return fail(e, e->depth, "%s", "table contains itself (a cycle)");
  }
  if (e->depth >= WA_JSON_MAX_DEPTH) return fail(e, e->depth, "nesting deeper than %s levels", "64");
  e->path[e->depth].table = self;
  if (!lua_checkstack(L, 6)) return nomem(e);

  /* Pass 0: is it an array (keys exactly 1..n) or an object (string keys)? */
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int kt = lua_type(L, -2);
    lua_pop(L, 1);
    if (kt == LUA_TSTRING) {
      n_str++;
    } else if (kt == LUA_TNUMBER) {
      lua_Number k = lua_tonumber(L, -1);
      if (!(k >= 1 && k == floor(k) && k <= 9007199254740992.0)) {
        lua_pop(L, 1);
        return fail(e, e->depth, "%s", "table has a number key that is not an array index 1..n");
      }
      n_int++;
      if ((long long)k > max_int) max_int = (long long)k;
    } else {
      const char *tn = lua_typename(L, kt);
      lua_pop(L, 1);
      return fail(e, e->depth, "table has a %s key (only string keys or 1..n)", tn);
    }
  }
  marked = is_marked_array(L, idx);
  if (n_int && n_str) return fail(e, e->depth, "%s", "table mixes array items and string keys");
  if (n_int && max_int != n_int) return fail(e, e->depth, "%s", "array has holes (keys must be 1..n)");
  if (marked && n_str) return fail(e, e->depth, "%s", "table marked as an array has string keys");

  if (n_int || marked) {
    long long k;
    if (wa_buf_addc(e->out, '[') != 0) return nomem(e);
    for (k = 1; k <= n_int; k++) {
      frame *f = &e->path[++e->depth];
      f->key = NULL;
      f->index = k;
      if (k > 1 && wa_buf_addc(e->out, ',') != 0) return nomem(e);
      lua_rawgeti(L, idx, (int)k);
      rc = write_value(e, lua_gettop(L));
      lua_pop(L, 1);
      e->depth--;
      if (rc != 0) return rc;
    }
    return wa_buf_addc(e->out, ']') != 0 ? nomem(e) : 0;
  }
  rc = write_object(e, idx, n_str);
  lua_settop(L, top); /* the anchored keys */
  return rc;
}

static int write_value(encoder *e, int idx) {
  lua_State *L = e->L;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      if (check_text(e, e->depth, s, n, "string") != 0) return -1;
      return write_string(e->out, s, n) != 0 ? nomem(e) : 0;
    }
    case LUA_TNUMBER:
      return write_number(e, idx);
    case LUA_TBOOLEAN:
      return wa_buf_addstr(e->out, lua_toboolean(L, idx) ? "true" : "false") != 0 ? nomem(e) : 0;
    case LUA_TTABLE:
      return write_table(e, idx);
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) /* the null sentinel */
        return wa_buf_addstr(e->out, "null") != 0 ? nomem(e) : 0;
      /* fall through */
    default:
      return fail(e, e->depth, "cannot encode a %s value", luaL_typename(L, idx));
  }
}

int wa_json_encode(lua_State *L, int idx, wa_buf *out, wa_buf *keys, const char *default_product,
                   wa_json_error *err) {
  encoder e;
  int rc;
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  e.L = L;
  e.err = err;
  e.out = out;
  e.keys = keys;
  e.product = default_product;
  e.depth = 0;
  e.oom = 0;
  err->message[0] = '\0';
  wa_buf_clear(&err->field);
  wa_buf_clear(out);
  wa_buf_clear(keys);
  rc = write_value(&e, idx);
  if (rc != 0) {
    wa_buf_clear(out);
    return e.oom ? -2 : -1;
  }
  return wa_buf_terminate(out) != 0 ? -2 : 0;
}

/* ---- checking JSON text ------------------------------------------------ */

/* A strict RFC 8259 reader that only checks: cJSON accepts things Meta would
 * not (raw control characters in strings, "01", "1."), and a message is
 * checked before it leaves the machine. UTF-8 is checked separately. */
typedef struct {
  const unsigned char *p, *end;
  const char *why;
} reader;

static void skip_ws(reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int hex4(reader *r, unsigned *out) {
  unsigned v = 0;
  int i;
  if (r->end - r->p < 4) return 0;
  for (i = 0; i < 4; i++) {
    unsigned c = r->p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return 0;
  }
  r->p += 4;
  *out = v;
  return 1;
}

static int read_string(reader *r) {
  r->p++; /* the opening quote */
  while (r->p < r->end) {
    unsigned c = *r->p++;
    if (c == '"') return 1;
    if (c < 0x20) return r->why = "a control character must be escaped inside a string", 0;
    if (c == '\\') {
      unsigned u, lo;
      if (r->p >= r->end) break;
      c = *r->p++;
      if (c == 'u') {
        if (!hex4(r, &u)) return r->why = "bad \\u escape", 0;
        if (u == 0) return r->why = "\\u0000 (NUL) is not allowed", 0;
        if (u >= 0xDC00 && u <= 0xDFFF) return r->why = "lone UTF-16 surrogate in a \\u escape", 0;
        if (u >= 0xD800 && u <= 0xDBFF) {
          if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') return r->why = "lone UTF-16 surrogate in a \\u escape", 0;
          r->p += 2;
          if (!hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF) return r->why = "lone UTF-16 surrogate in a \\u escape", 0;
        }
      } else if (!strchr("\"\\/bfnrt", (int)c) || c == 0) {
        return r->why = "bad escape in a string", 0;
      }
    }
  }
  return r->why = "unterminated string", 0;
}

static int digits(reader *r) {
  const unsigned char *start = r->p;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
  return r->p > start;
}

static int read_number(reader *r) {
  if (*r->p == '-') r->p++;
  if (r->p < r->end && *r->p == '0') r->p++;
  else if (!digits(r)) return r->why = "bad number", 0;
  if (r->p < r->end && *r->p == '.') {
    r->p++;
    if (!digits(r)) return r->why = "bad number", 0;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
    if (!digits(r)) return r->why = "bad number", 0;
  }
  return 1;
}

static int read_value(reader *r, int depth) {
  skip_ws(r);
  if (r->p >= r->end) return r->why = "unexpected end", 0;
  switch (*r->p) {
    case '"': return read_string(r);
    case '{':
    case '[': {
      unsigned char close = *r->p == '{' ? '}' : ']';
      if (depth >= WA_JSON_MAX_DEPTH) return r->why = "nesting deeper than 64 levels", 0;
      r->p++;
      skip_ws(r);
      if (r->p < r->end && *r->p == close) return r->p++, 1;
      for (;;) {
        if (close == '}') {
          skip_ws(r);
          if (r->p >= r->end || *r->p != '"') return r->why = "expected a string key", 0;
          if (!read_string(r)) return 0;
          skip_ws(r);
          if (r->p >= r->end || *r->p != ':') return r->why = "expected ':'", 0;
          r->p++;
        }
        if (!read_value(r, depth + 1)) return 0;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
          r->p++;
          continue;
        }
        if (r->p < r->end && *r->p == close) return r->p++, 1;
        return r->why = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'", 0;
      }
    }
    case 't':
      if (r->end - r->p >= 4 && memcmp(r->p, "true", 4) == 0) return r->p += 4, 1;
      break;
    case 'f':
      if (r->end - r->p >= 5 && memcmp(r->p, "false", 5) == 0) return r->p += 5, 1;
      break;
    case 'n':
      if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0) return r->p += 4, 1;
      break;
    default:
      if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) return read_number(r);
  }
  return r->why = "unexpected character", 0;
}

int wa_json_normalize_text(const char *s, size_t len, wa_json_box *box, const char *default_product,
                           wa_buf *out, wa_json_error *err) {
  reader r;
  const unsigned char *open;
  err->message[0] = '\0';
  wa_buf_clear(&err->field);
  wa_buf_terminate(&err->field);
  wa_json_box_clear(box);
  wa_buf_clear(out);
  if (!wa_utf8_valid(s, len)) {
    snprintf(err->message, sizeof err->message, "JSON text is not valid UTF-8");
    return -1;
  }
  r.p = (const unsigned char *)s;
  r.end = r.p + len;
  r.why = NULL;
  skip_ws(&r);
  open = r.p;
  if (r.p >= r.end || *r.p != '{') {
    snprintf(err->message, sizeof err->message, "must be a JSON object");
    return -1;
  }
  if (!read_value(&r, 0)) {
    snprintf(err->message, sizeof err->message, "not valid JSON: %s at byte %ld", r.why,
             (long)((const char *)r.p - s) + 1);
    return -1;
  }
  skip_ws(&r);
  if (r.p != r.end) {
    snprintf(err->message, sizeof err->message, "not valid JSON: trailing bytes at byte %ld",
             (long)((const char *)r.p - s) + 1);
    return -1;
  }
  if (default_product == NULL) return 0;
  /* cJSON decodes escapes in keys, so "messaging\u005fproduct" counts too */
  box->tree = cJSON_ParseWithLength(s, len);
  if (box->tree == NULL) return -2; /* it passed the strict check: only memory is left */
  if (cJSON_GetObjectItemCaseSensitive(box->tree, "messaging_product") != NULL) {
    wa_json_box_clear(box);
    return 0;
  }
  wa_json_box_clear(box);
  {
    /* splice the member in after '{' so every other byte stays the caller's */
    const unsigned char *after = open + 1, *q = after;
    size_t head = (size_t)((const char *)after - s);
    while (q < r.end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
    if (wa_buf_reserve(out, len + strlen(default_product) + 32) || wa_buf_add(out, s, head) ||
        wa_buf_addstr(out, "\"messaging_product\":") ||
        wa_json_add_string(out, default_product, strlen(default_product)) ||
        (*q != '}' && wa_buf_addc(out, ',')) || wa_buf_add(out, s + head, len - head))
      return -2;
  }
  return 0;
}

/* ---- decoding --------------------------------------------------------- */

/* JSON text straight to Lua values, without a tree: strings keep every byte
 * (an escaped \u0000 too: cJSON's C strings ended there, cutting a value
 * short), numbers follow RFC 8259's grammar. As cJSON did, raw control
 * characters inside strings are taken as they are: this reads what servers
 * send, it does not judge it (whoever shows it cleans it). The only C memory
 * (a long number's copy) is freed before any Lua call, so a Lua memory
 * error raised midway leaks nothing. */
#define DECODE_MAX_DEPTH 1000 /* cJSON's CJSON_NESTING_LIMIT */

typedef struct {
  const unsigned char *p, *end;
} dreader;

static void d_ws(dreader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int d_hex4(dreader *r, unsigned *out) {
  reader h;
  h.p = r->p;
  h.end = r->end;
  if (!hex4(&h, out)) return 0;
  r->p = h.p;
  return 1;
}

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
static int d_escape(dreader *r, luaL_Buffer *b) {
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
  if (!d_hex4(r, &u) || (u >= 0xDC00 && u <= 0xDFFF)) return 0;
  if (u >= 0xD800 && u <= 0xDBFF) {
    if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') return 0;
    r->p += 2;
    if (!d_hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF) return 0;
    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
  }
  add_utf8(b, u);
  return 1;
}

/* Pushes the string at r->p (its opening quote); 0 with nothing pushed when
 * it is malformed. */
static int d_string(lua_State *L, dreader *r) {
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

static int d_number(lua_State *L, dreader *r) {
  reader g;
  const unsigned char *start = r->p;
  char small[64], *copy = small, *end = NULL, point = localeconv()->decimal_point[0];
  size_t n, i;
  double d;
  g.p = r->p;
  g.end = r->end;
  if (!read_number(&g)) return 0;
  r->p = g.p;
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

static int d_value(lua_State *L, dreader *r, int depth);

/* An object or array at r->p: a table (arrays with the array metatable). */
static int d_container(lua_State *L, dreader *r, int depth) {
  unsigned char close = *r->p == '{' ? '}' : ']';
  int i = 1;
  if (depth >= DECODE_MAX_DEPTH) return 0;
  luaL_checkstack(L, 8, "JSON nesting"); /* the table, a key, a value and a string buffer's slots */
  r->p++;
  lua_newtable(L);
  d_ws(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
  } else {
    for (;;) {
      if (close == '}') {
        d_ws(r);
        if (r->p >= r->end || *r->p != '"' || !d_string(L, r)) return 0;
        d_ws(r);
        if (r->p >= r->end || *r->p != ':') return 0;
        r->p++;
      }
      if (!d_value(L, r, depth + 1)) return 0;
      if (close == '}') lua_rawset(L, -3);
      else lua_rawseti(L, -2, i++);
      d_ws(r);
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
static int d_value(lua_State *L, dreader *r, int depth) {
  d_ws(r);
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
  dreader r;
  r.p = (const unsigned char *)s;
  r.end = r.p + len;
  if (s == NULL || !d_value(L, &r, 0)) {
    lua_settop(L, top);
    return -1;
  }
  d_ws(&r);
  if (r.p != r.end) { /* trailing bytes */
    lua_settop(L, top);
    return -1;
  }
  return 0;
}
