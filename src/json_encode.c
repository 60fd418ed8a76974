/* Lua values to JSON text (wa_json_encode), written straight into a buffer,
 * and the JSON string writer the request body uses too (wa_json_add_string). */
#include "json.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
int wa_json_add_string(wa_buf *b, const char *s, size_t n) {
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
    if ((j > 0 && wa_buf_addc(e->out, ',') != 0) || wa_json_add_string(e->out, k.k, k.len) != 0 ||
        wa_buf_addc(e->out, ':') != 0)
      return nomem(e);
    if (k.product) {
      rc = wa_json_add_string(e->out, e->product, strlen(e->product)) != 0 ? nomem(e) : 0;
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
      return wa_json_add_string(e->out, s, n) != 0 ? nomem(e) : 0;
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
