/* The head parser of the OpenResty transport: bytes as they come off a
 * cosocket -> core.parse_head (src/head.c). The input is what has been read
 * so far: any bytes. Checked: a whole head's length, status and fields (names
 * lower-cased tokens, values trimmed, no CR, LF or NUL, all inside the copy);
 * a prefix of a whole or incomplete head asks for more, never fails; what is
 * malformed stays malformed whatever follows; the Lua function says what the
 * scan says; core.send_answer takes only a whole common answer (below). */
#include "fuzz.h"

#include "../src/head.h"

typedef struct {
  const char *p;
  size_t n;
  int r;
  const wa_head *h;
} input;

static int is_space(char c) { return c == ' ' || c == '\t'; }

static int call_parse_head(lua_State *L) {
  const input *in = (const input *)lua_touserdata(L, 1);
  int top = lua_gettop(L), got;
  size_t keys = 0;
  lua_pushcfunction(L, wa_l_parse_head);
  lua_pushlstring(L, in->p, in->n);
  lua_call(L, 1, LUA_MULTRET);
  got = lua_gettop(L) - top;
  if (in->r == WA_HEAD_MORE) {
    CHECK(got == 1 && lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1));
    return 0;
  }
  if (in->r < 0) {
    CHECK(got == 2 && lua_isnil(L, -2) && lua_type(L, -1) == LUA_TSTRING);
    CHECK(strncmp(lua_tostring(L, -1), "malformed ", 10) == 0);
    return 0;
  }
  CHECK(got == 4);
  CHECK(lua_tointeger(L, top + 1) == in->h->status);
  CHECK(lua_type(L, top + 2) == LUA_TTABLE);
  CHECK((size_t)lua_tointeger(L, top + 3) == in->h->length);
  CHECK(lua_tointeger(L, top + 4) == in->h->minor);
  lua_pushnil(L);
  while (lua_next(L, top + 2) != 0) {
    size_t kn, vn, i;
    const char *k, *v;
    CHECK(lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING);
    k = lua_tolstring(L, -2, &kn);
    v = lua_tolstring(L, -1, &vn);
    CHECK(kn > 0);
    for (i = 0; i < kn; i++) CHECK(k[i] > 32 && k[i] < 127 && k[i] != ':' && !(k[i] >= 'A' && k[i] <= 'Z'));
    CHECK(memchr(v, '\r', vn) == NULL && memchr(v, '\n', vn) == NULL && memchr(v, '\0', vn) == NULL);
    keys++;
    lua_pop(L, 1);
  }
  CHECK(keys <= in->h->fields && (keys > 0) == (in->h->fields > 0));
  return 0;
}

static void check_fields(const char *p, const wa_head *h) {
  char *dst = (char *)malloc(h->length);
  wa_head_field *out = (wa_head_field *)malloc((h->fields ? h->fields : 1) * sizeof *out);
  wa_head again;
  size_t i, j;
  CHECK(dst != NULL && out != NULL);
  CHECK(wa_head_scan(p, h->length, &again, dst, out) == 1);
  CHECK(again.length == h->length && again.fields == h->fields && again.status == h->status);
  for (i = 0; i < h->fields; i++) {
    const wa_head_field *f = &out[i];
    CHECK(f->index == i);
    CHECK(f->name_len > 0 && f->name >= dst && f->name + f->name_len <= dst + h->length);
    CHECK(f->value >= dst && f->value + f->value_len <= dst + h->length);
    for (j = 0; j < f->name_len; j++) {
      char c = f->name[j];
      CHECK(c > 32 && c < 127 && c != ':' && !(c >= 'A' && c <= 'Z'));
    }
    for (j = 0; j < f->value_len; j++) CHECK(f->value[j] != '\r' && f->value[j] != '\n' && f->value[j] != '\0');
    CHECK(f->value_len == 0 || (!is_space(f->value[0]) && !is_space(f->value[f->value_len - 1])));
  }
  free(out);
  free(dst);
}

/* core.send_answer's scan (the common answer of a send, taken without a
 * table): what it takes is a whole head the general scan takes too, a 2xx,
 * an id of printable ASCII inside the body, a date inside the head; a cut
 * answer or a lower cap is never taken. */
static void check_send_answer(const char *p, size_t size, int r, const wa_head *h) {
  wa_send_answer a, cut;
  size_t i;
  if (!wa_send_answer_scan(p, size, size, &a)) return;
  CHECK(r == 1 && h->status >= 200 && h->status <= 299 && h->status != 204 && h->length < size);
  CHECK(a.id > p + h->length && a.id_len > 0 && a.id + a.id_len < p + size);
  for (i = 0; i < a.id_len; i++) CHECK(a.id[i] > 32 && a.id[i] < 127 && a.id[i] != '"' && a.id[i] != '\\');
  if (a.date != NULL) {
    CHECK(a.date > p && a.date + a.date_len <= p + h->length);
    CHECK(memchr(a.date, '\r', a.date_len) == NULL && memchr(a.date, '\n', a.date_len) == NULL);
  }
  CHECK(a.keep == 0 || a.keep == 1);
  CHECK(!wa_send_answer_scan(p, size - 1, size, &cut));
  CHECK(!wa_send_answer_scan(p, size, size - h->length - 1, &cut));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *p = fuzz_copy(data, size);
  wa_head h, prefix;
  int r = wa_head_scan(p, size, &h, NULL, NULL);
  input in;
  lua_State *L;

  CHECK(r == 1 || r == WA_HEAD_MORE || r == WA_HEAD_BAD_STATUS || r == WA_HEAD_BAD_FIELD);
  if (r == 1) {
    CHECK(h.length >= 14 && h.length <= size && p[h.length - 1] == '\n');
    CHECK(h.status >= 100 && h.status <= 999 && (h.minor == 0 || h.minor == 1));
    check_fields(p, &h);
    /* a head cut anywhere before its end asks for more */
    CHECK(wa_head_scan(p, h.length - 1, &prefix, NULL, NULL) == WA_HEAD_MORE);
    CHECK(wa_head_scan(p, h.length / 2, &prefix, NULL, NULL) == WA_HEAD_MORE);
  } else if (r == WA_HEAD_MORE) {
    CHECK(wa_head_scan(p, size / 2, &prefix, NULL, NULL) == WA_HEAD_MORE);
  } else {
    /* malformed stays malformed, whatever comes after */
    char *longer = (char *)malloc(size + 4);
    CHECK(longer != NULL);
    if (size) memcpy(longer, p, size);
    memcpy(longer + size, "\r\n\r\n", 4);
    CHECK(wa_head_scan(longer, size + 4, &prefix, NULL, NULL) < 0);
    free(longer);
  }

  check_send_answer(p, size, r, &h);

  in.p = p;
  in.n = size;
  in.r = r;
  in.h = &h;
  L = fuzz_state();
  fuzz_pcall(L, call_parse_head, &in);
  lua_close(L);
  free(p);
  return 0;
}
