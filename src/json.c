#include "json.h"

#include <float.h>
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
}

/* ---- UTF-8 ------------------------------------------------------------ */

int wa_utf8_valid(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str, *end = s + len;
  while (s < end) {
    unsigned c = *s;
    if (c < 0x80) {
      s++;
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

typedef struct {
  const char *key; /* NULL for an array index */
  size_t key_len;
  long long index; /* 1-based, as the Lua table has it */
  const void *table;
} frame;

typedef struct {
  lua_State *L;
  wa_json_error *err;
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

static int check_text(encoder *e, int upto, const char *s, size_t n, const char *what) {
  if (memchr(s, '\0', n) != NULL) return fail(e, upto, "%s contains a NUL byte", what);
  if (!wa_utf8_valid(s, n)) return fail(e, upto, "%s is not valid UTF-8", what);
  return 0;
}

static cJSON *make_number(encoder *e, lua_State *L, int idx) {
  char num[32];
  if (wa_isinteger(L, idx)) {
    snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, idx));
    return cJSON_CreateRaw(num);
  } else {
    double d = (double)lua_tonumber(L, idx);
    if (d != d || d == HUGE_VAL || d == -HUGE_VAL) {
      fail(e, e->depth, "%s", d != d ? "NaN is not a JSON number" : "infinity is not a JSON number");
      return NULL;
    }
    /* integral values print as integers (LuaJIT has no integer subtype) */
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
      snprintf(num, sizeof num, "%.0f", d);
      if (strcmp(num, "-0") == 0) strcpy(num, "0");
      return cJSON_CreateRaw(num);
    }
    return cJSON_CreateNumber(d);
  }
}

static cJSON *encode_value(encoder *e, int idx);

static int is_marked_array(lua_State *L, int idx) {
  int marked;
  if (!lua_getmetatable(L, idx)) return 0;
  wa_json_push_array_mt(L);
  marked = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return marked;
}

/* Splits a linked list of cJSON items in two and merges them sorted by key:
 * O(n log n) even for a hostile table with many keys. */
static cJSON *sort_items(cJSON *head) {
  cJSON *slow, *fast, *right, *out = NULL, *tail = NULL;
  if (head == NULL || head->next == NULL) return head;
  slow = head;
  fast = head->next;
  while (fast && fast->next) {
    slow = slow->next;
    fast = fast->next->next;
  }
  right = slow->next;
  slow->next = NULL;
  head = sort_items(head);
  right = sort_items(right);
  while (head || right) {
    cJSON *pick;
    if (right == NULL || (head && strcmp(head->string, right->string) <= 0)) {
      pick = head;
      head = head->next;
    } else {
      pick = right;
      right = right->next;
    }
    pick->prev = tail;
    if (tail) tail->next = pick;
    else out = pick;
    tail = pick;
  }
  out->prev = tail; /* cJSON keeps the last item in the head's prev */
  tail->next = NULL;
  return out;
}

static cJSON *encode_table(encoder *e, int idx) {
  lua_State *L = e->L;
  const void *self = lua_topointer(L, idx);
  long long n_int = 0, max_int = 0, n_str = 0;
  int i, marked;
  cJSON *node;

  for (i = 1; i <= e->depth; i++) {
    if (e->path[i - 1].table == self) {
      fail(e, e->depth, "%s", "table contains itself (a cycle)");
      return NULL;
    }
  }
  if (e->depth >= WA_JSON_MAX_DEPTH) {
    fail(e, e->depth, "nesting deeper than %s levels", "64");
    return NULL;
  }
  e->path[e->depth].table = self;
  if (!lua_checkstack(L, 6)) return e->oom = 1, NULL; /* raising here would leak subtrees */

  /* Pass 1: is it an array (keys exactly 1..n) or an object (string keys)? */
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
        fail(e, e->depth, "%s", "table has a number key that is not an array index 1..n");
        return NULL;
      }
      n_int++;
      if ((long long)k > max_int) max_int = (long long)k;
    } else {
      const char *tn = lua_typename(L, kt);
      lua_pop(L, 1);
      fail(e, e->depth, "table has a %s key (only string keys or 1..n)", tn);
      return NULL;
    }
  }
  marked = is_marked_array(L, idx);
  if (n_int && n_str) {
    fail(e, e->depth, "%s", "table mixes array items and string keys");
    return NULL;
  }
  if (n_int && max_int != n_int) {
    fail(e, e->depth, "%s", "array has holes (keys must be 1..n)");
    return NULL;
  }
  if (marked && n_str) {
    fail(e, e->depth, "%s", "table marked as an array has string keys");
    return NULL;
  }

  if (n_int || marked) {
    long long k;
    node = cJSON_CreateArray();
    if (node == NULL) return e->oom = 1, NULL;
    for (k = 1; k <= n_int; k++) {
      cJSON *child;
      frame *f = &e->path[++e->depth];
      f->key = NULL;
      f->index = k;
      lua_rawgeti(L, idx, (int)k);
      child = encode_value(e, lua_gettop(L));
      lua_pop(L, 1);
      e->depth--;
      if (child == NULL) return cJSON_Delete(node), NULL;
      cJSON_AddItemToArray(node, child);
    }
    return node;
  }

  node = cJSON_CreateObject();
  if (node == NULL) return e->oom = 1, NULL;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    size_t kl;
    const char *k = lua_tolstring(L, -2, &kl); /* a string: checked in pass 1 */
    cJSON *child;
    frame *f = &e->path[++e->depth];
    f->key = k;
    f->key_len = kl;
    if (check_text(e, e->depth, k, kl, "key") != 0) {
      lua_pop(L, 2);
      return cJSON_Delete(node), NULL;
    }
    child = encode_value(e, lua_gettop(L));
    e->depth--;
    lua_pop(L, 1);
    if (child == NULL) {
      lua_pop(L, 1);
      return cJSON_Delete(node), NULL;
    }
    if (!cJSON_AddItemToObject(node, k, child)) {
      cJSON_Delete(child);
      lua_pop(L, 1);
      return e->oom = 1, cJSON_Delete(node), NULL;
    }
  }
  node->child = sort_items(node->child);
  return node;
}

static cJSON *encode_value(encoder *e, int idx) {
  lua_State *L = e->L;
  cJSON *node = NULL;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      if (check_text(e, e->depth, s, n, "string") != 0) return NULL;
      node = cJSON_CreateString(s);
      break;
    }
    case LUA_TNUMBER:
      node = make_number(e, L, idx);
      if (node == NULL && e->err->message[0]) return NULL;
      break;
    case LUA_TBOOLEAN:
      node = cJSON_CreateBool(lua_toboolean(L, idx));
      break;
    case LUA_TTABLE:
      node = encode_table(e, idx);
      if (node == NULL && !e->oom) return NULL;
      break;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) { /* the null sentinel */
        node = cJSON_CreateNull();
        break;
      }
      /* fall through */
    default:
      fail(e, e->depth, "cannot encode a %s value", luaL_typename(L, idx));
      return NULL;
  }
  if (node == NULL) e->oom = 1;
  return node;
}

static int add_default_product(cJSON *root, const char *product) {
  static const char key[] = "messaging_product";
  cJSON *item, *c;
  if (product == NULL || !cJSON_IsObject(root)) return 0;
  if (cJSON_GetObjectItemCaseSensitive(root, key) != NULL) return 0;
  item = cJSON_CreateString(product);
  if (item == NULL) return -1;
  item->string = (char *)cJSON_malloc(sizeof key);
  if (item->string == NULL) return cJSON_Delete(item), -1;
  memcpy(item->string, key, sizeof key);
  /* insert in key order so a table always encodes to the same bytes */
  for (c = root->child; c && c->string && strcmp(c->string, key) < 0; c = c->next) {
  }
  if (c == NULL) return cJSON_AddItemToArray(root, item) ? 0 : -1;
  /* link item before c; the first child's prev points at the last one */
  item->next = c;
  item->prev = c->prev;
  if (c == root->child) root->child = item;
  else c->prev->next = item;
  c->prev = item;
  return 0;
}

int wa_json_encode(lua_State *L, int idx, wa_json_box *box, const char *default_product,
                   wa_json_error *err) {
  encoder e;
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  memset(&e, 0, sizeof e);
  e.L = L;
  e.err = err;
  err->message[0] = '\0';
  wa_buf_clear(&err->field);
  wa_json_box_clear(box);
  box->tree = encode_value(&e, idx);
  if (box->tree == NULL) return e.oom ? -2 : -1;
  if (add_default_product(box->tree, default_product) != 0) return -2;
  box->text = cJSON_PrintUnformatted(box->tree);
  if (box->text == NULL) return -2;
  return 0;
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

static void push_json(lua_State *L, const cJSON *item, int depth) {
  luaL_checkstack(L, 4, "JSON nesting");
  if (cJSON_IsString(item)) {
    lua_pushstring(L, item->valuestring);
  } else if (cJSON_IsNumber(item)) {
    double d = item->valuedouble;
#if LUA_VERSION_NUM >= 503
    if (d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0)
      lua_pushinteger(L, (lua_Integer)d);
    else
#endif
      lua_pushnumber(L, (lua_Number)d);
  } else if (cJSON_IsBool(item)) {
    lua_pushboolean(L, cJSON_IsTrue(item));
  } else if (cJSON_IsArray(item)) {
    const cJSON *c;
    int i = 1;
    lua_newtable(L);
    for (c = item->child; c; c = c->next) {
      push_json(L, c, depth + 1);
      lua_rawseti(L, -2, i++);
    }
    wa_json_push_array_mt(L);
    lua_setmetatable(L, -2);
  } else if (cJSON_IsObject(item)) {
    const cJSON *c;
    lua_newtable(L);
    for (c = item->child; c; c = c->next) {
      lua_pushstring(L, c->string);
      push_json(L, c, depth + 1);
      lua_rawset(L, -3);
    }
  } else {
    lua_pushlightuserdata(L, NULL); /* null */
  }
}

int wa_json_decode(lua_State *L, const char *s, size_t len) {
  /* Pushing values may raise on memory: the tree lives in a userdata whose
   * __gc frees it, made before the tree so no path leaks it. */
  wa_json_scratch *holder = (wa_json_scratch *)lua_newuserdata(L, sizeof *holder);
  memset(holder, 0, sizeof *holder);
  wa_setmetatable(L, WA_JSON_SCRATCH_MT);
  {
    const char *end = NULL; /* cJSON caps nesting itself */
    holder->box.tree = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    while (end && end < s + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
    if (holder->box.tree && end != s + len) wa_json_box_clear(&holder->box); /* trailing bytes */
  }
  if (holder->box.tree == NULL) {
    lua_pop(L, 1);
    return -1;
  }
  push_json(L, holder->box.tree, 0);
  wa_json_scratch_free(holder);
  lua_remove(L, -2);
  return 0;
}
