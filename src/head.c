/* core.parse_head: the status line and header fields of an HTTP/1.x answer,
 * for the OpenResty transport (lua/whatsapp/resty.lua), which reads them off
 * a cosocket with its own caps on size and time. */
#include "head.h"

#include <stdlib.h>
#include <string.h>

#include "lua_util.h"

static int is_space(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* "HTTP/1.x SSS[ reason]" in p[0..len) (its line end cut off) */
static int status_line(const char *p, size_t len, wa_head *h) {
  if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
      !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) || p[9] == '0' || (len > 12 && p[12] != ' '))
    return WA_HEAD_BAD_STATUS;
  if (memchr(p, '\0', len) != NULL || memchr(p, '\r', len) != NULL) return WA_HEAD_BAD_STATUS;
  h->minor = p[7] - '0';
  h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  return 1;
}

int wa_head_scan(const char *src, size_t n, wa_head *h, char *dst, wa_head_field *out) {
  const char *nl;
  size_t pos, count = 0, first = n < 5 ? n : 5;

  memset(h, 0, sizeof *h);
  if (dst != NULL && n > 0) memcpy(dst, src, n);
  if (memcmp(src, "HTTP/", first) != 0) return WA_HEAD_BAD_STATUS; /* not an answer, however it goes on */
  nl = n ? memchr(src, '\n', n) : NULL;
  if (nl == NULL) return WA_HEAD_MORE;
  {
    size_t le = (size_t)(nl - src);
    if (le > 0 && src[le - 1] == '\r') le--;
    if (status_line(src, le, h) < 0) return WA_HEAD_BAD_STATUS;
  }
  pos = (size_t)(nl - src) + 1;
  for (;;) {
    size_t e, le, s, ve;
    if (pos >= n) return WA_HEAD_MORE;
    nl = memchr(src + pos, '\n', n - pos);
    if (nl == NULL) return WA_HEAD_MORE;
    e = (size_t)(nl - src);
    le = e;
    if (le > pos && src[le - 1] == '\r') le--;
    if (le == pos) break; /* the blank line */
    if (memchr(src + pos, '\0', le - pos) != NULL || memchr(src + pos, '\r', le - pos) != NULL)
      return WA_HEAD_BAD_FIELD;
    if (is_space(src[pos])) { /* obs-fold: more of the last field's value */
      if (count == 0) return WA_HEAD_BAD_FIELD;
      if (out != NULL) {
        wa_head_field *f = &out[count - 1];
        size_t end = f->value_len ? (size_t)(f->value - dst) + f->value_len : 0;
        for (s = pos; s < le && is_space(src[s]); s++) {}
        for (ve = le; ve > s && is_space(src[ve - 1]); ve--) {}
        if (ve > s) {
          if (f->value_len == 0) {
            f->value = dst + s;
          } else {
            memset(dst + end, ' ', s - end); /* line end and indentation: spaces */
          }
          f->value_len = (size_t)(dst + ve - f->value);
        }
      }
    } else {
      const char *colon = memchr(src + pos, ':', le - pos);
      size_t i, name_end;
      if (colon == NULL || colon == src + pos) return WA_HEAD_BAD_FIELD;
      name_end = (size_t)(colon - src);
      for (i = pos; i < name_end; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c <= 32 || c >= 127) return WA_HEAD_BAD_FIELD; /* no space before the colon (RFC 9112 5.1) */
      }
      if (out != NULL) {
        wa_head_field *f = &out[count];
        for (i = pos; i < name_end; i++) {
          char c = src[i];
          dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        for (s = name_end + 1; s < le && is_space(src[s]); s++) {}
        for (ve = le; ve > s && is_space(src[ve - 1]); ve--) {}
        f->name = dst + pos;
        f->name_len = name_end - pos;
        f->value = dst + s;
        f->value_len = ve - s;
        f->index = count;
      }
      count++;
    }
    pos = e + 1;
  }
  h->length = (size_t)(nl - src) + 1;
  h->fields = count;
  return 1;
}

static int by_name(const void *a, const void *b) {
  const wa_head_field *x = (const wa_head_field *)a, *y = (const wa_head_field *)b;
  size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int c = memcmp(x->name, y->name, n);
  if (c != 0) return c;
  if (x->name_len != y->name_len) return x->name_len < y->name_len ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index; /* arrival order within a name */
}

static int same_name(const wa_head_field *x, const wa_head_field *y) {
  return x->name_len == y->name_len && memcmp(x->name, y->name, x->name_len) == 0;
}

#define SMALL_FIELDS 24
#define SMALL_HEAD 2048

int wa_l_parse_head(lua_State *L) {
  size_t n, i, j;
  const char *p = luaL_checklstring(L, 1, &n);
  wa_head h, again;
  wa_head_field small_fields[SMALL_FIELDS], *fields = small_fields;
  char small_head[SMALL_HEAD], *copy = small_head;
  int r = wa_head_scan(p, n, &h, NULL, NULL);

  if (r == WA_HEAD_MORE) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (r < 0) {
    lua_pushnil(L);
    lua_pushstring(L, r == WA_HEAD_BAD_STATUS ? "malformed status line" : "malformed header line");
    return 2;
  }
  /* the usual few hundred bytes on the stack; more in a userdata the GC frees
   * (a raise while pushing must leak nothing) */
  if (h.fields > SMALL_FIELDS || h.length > SMALL_HEAD) {
    size_t room = h.fields * sizeof *fields;
    if (h.fields > ((size_t)-1 - h.length) / sizeof *fields) return luaL_error(L, "parse_head: out of memory");
    fields = (wa_head_field *)lua_newuserdata(L, room + h.length); /* aligned for any type */
    copy = (char *)(fields + h.fields);
  }
  r = wa_head_scan(p, h.length, &again, copy, fields);
  if (r != 1 || again.fields != h.fields) return luaL_error(L, "parse_head: the second scan differs");
  if (h.fields > 1) qsort(fields, h.fields, sizeof *fields, by_name);

  lua_pushinteger(L, h.status);
  lua_createtable(L, 0, (int)(h.fields < 64 ? h.fields : 64));
  for (i = 0; i < h.fields; i = j) {
    for (j = i + 1; j < h.fields && same_name(&fields[i], &fields[j]); j++) {}
    lua_pushlstring(L, fields[i].name, fields[i].name_len);
    if (j == i + 1) {
      lua_pushlstring(L, fields[i].value, fields[i].value_len);
    } else {
      size_t k;
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (k = i; k < j; k++) {
        if (k > i) luaL_addlstring(&b, ", ", 2);
        luaL_addlstring(&b, fields[k].value, fields[k].value_len);
      }
      luaL_pushresult(&b);
    }
    lua_rawset(L, -3);
  }
  lua_pushinteger(L, (lua_Integer)h.length);
  lua_pushinteger(L, h.minor);
  return 4;
}

/* ---- the common answer to a send, in one pass and no table ---------------- */

static char lower(char c) { return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c); }

/* name (lower-case) equals p[0..len) without regard to case */
static int is_name(const char *p, size_t len, const char *name, size_t name_len) {
  size_t i;
  if (len != name_len) return 0;
  for (i = 0; i < len; i++)
    if (lower(p[i]) != name[i]) return 0;
  return 1;
}

/* whether p[0..len) holds word (lower-case) without regard to case */
static int has_word(const char *p, size_t len, const char *word, size_t word_len) {
  size_t i;
  for (i = 0; i + word_len <= len; i++)
    if (is_name(p + i, word_len, word, word_len)) return 1;
  return 0;
}

enum { F_LENGTH = 1, F_CONNECTION = 2, F_DATE = 4 };

int wa_send_answer_scan(const char *src, size_t n, size_t max, wa_send_answer *a) {
  wa_head h;
  const char *conn = NULL;
  size_t pos, conn_len = 0, length = 0, digits = 0, body_len;
  int seen = 0;

  memset(a, 0, sizeof *a);
  if (wa_head_scan(src, n, &h, NULL, NULL) != 1 || h.status < 200 || h.status > 299 || h.status == 204) return 0;
  pos = (size_t)((const char *)memchr(src, '\n', n) - src) + 1; /* past the status line */
  while (pos < h.length) {
    const char *nl = (const char *)memchr(src + pos, '\n', h.length - pos), *colon;
    size_t le = (size_t)(nl - src), s, ve, name_len;
    if (le > pos && src[le - 1] == '\r') le--;
    if (le == pos) break; /* the blank line */
    if (is_space(src[pos])) return 0; /* an obs-fold: the general reader joins it */
    colon = (const char *)memchr(src + pos, ':', le - pos); /* the scan found one */
    name_len = (size_t)(colon - (src + pos));
    for (s = (size_t)(colon - src) + 1; s < le && is_space(src[s]); s++) {}
    for (ve = le; ve > s && is_space(src[ve - 1]); ve--) {}
    if (is_name(src + pos, name_len, "content-length", 14)) {
      if (seen & F_LENGTH) return 0;
      seen |= F_LENGTH;
      for (digits = 0; s + digits < ve; digits++) {
        char c = src[s + digits];
        if (!is_digit(c) || digits >= 9) return 0;
        length = length * 10 + (size_t)(c - '0');
      }
      if (digits == 0) return 0;
    } else if (is_name(src + pos, name_len, "connection", 10)) {
      if (seen & F_CONNECTION) return 0;
      seen |= F_CONNECTION;
      conn = src + s;
      conn_len = ve - s;
    } else if (is_name(src + pos, name_len, "date", 4)) {
      if (seen & F_DATE) return 0;
      seen |= F_DATE;
      a->date = src + s;
      a->date_len = ve - s;
    } else if (is_name(src + pos, name_len, "transfer-encoding", 17)) {
      return 0;
    }
    pos = (size_t)(nl - src) + 1;
  }
  body_len = n - h.length;
  if (!(seen & F_LENGTH) || length != body_len || length > max || length == 0) return 0;
  if (!wa_just_message_id(src + h.length, body_len, &a->id, &a->id_len)) return 0;
  if (h.minor == 1) a->keep = conn == NULL || !has_word(conn, conn_len, "close", 5);
  else a->keep = conn != NULL && has_word(conn, conn_len, "keep-alive", 10);
  return 1;
}

int wa_l_send_answer(lua_State *L) {
  size_t n;
  const char *p = luaL_checklstring(L, 1, &n);
  lua_Integer max = luaL_checkinteger(L, 2);
  wa_send_answer a;
  if (max < 0 || !wa_send_answer_scan(p, n, (size_t)max, &a)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  lua_pushlstring(L, a.id, a.id_len);
  if (a.date != NULL) lua_pushlstring(L, a.date, a.date_len);
  else lua_pushnil(L);
  lua_pushboolean(L, a.keep);
  return 4;
}
