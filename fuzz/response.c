/* The response parser: raw answer bytes -> what client:send reads from them.
 * The input is a raw HTTP answer as libcurl hands it over: header lines up to
 * the first blank line (walked by wa_http_next_header and searched by
 * wa_http_header with the buffer sizes lua_batch.c uses), then the body
 * (turned into Lua values by wa_json_decode, as wa_push_answer in lua_util.c
 * does, and encoded again). */
#include "fuzz.h"

#include "../src/http.h"

typedef struct {
  const char *body;
  size_t len;
} body_arg;

static int decode_body(lua_State *L) {
  const body_arg *b = (const body_arg *)lua_touserdata(L, 1);
  wa_json_scratch *s;
  int rc;
  if (wa_json_decode(L, b->body, b->len) != 0) return 0; /* not JSON: wa_push_answer keeps the text */
  /* what the Lua layer may do with an answer it got: encode it again */
  s = (wa_json_scratch *)lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  wa_setmetatable(L, WA_JSON_SCRATCH_MT);
  rc = wa_json_encode(L, -2, &s->text, &s->keys, NULL, &s->err);
  CHECK(rc == 0 || rc == -1); /* -1: e.g. a string that is not UTF-8; never out of memory */
  CHECK(rc != 0 || (s->text.data != NULL && strlen(s->text.data) == s->text.len));
  CHECK(rc != -1 || s->err.message[0] != '\0');
  wa_json_scratch_free(s);
  return 0;
}

static void walk_headers(const wa_http *h) {
  const char *base = h->headers.data, *end = base ? base + h->headers.len : NULL;
  const char *name, *value;
  size_t pos = 0, last = 0, name_len, value_len;
  char small[2], rid[128], etype[256], date[64], retry[32];
  long n;
  while (wa_http_next_header(h, &pos, &name, &name_len, &value, &value_len)) {
    CHECK(pos > last && pos <= h->headers.len);
    last = pos;
    CHECK(name >= base && name_len > 0 && name + name_len <= end);
    CHECK(memchr(name, ':', name_len) == NULL && memchr(name, '\n', name_len) == NULL);
    CHECK(value >= name + name_len && value + value_len <= end);
    CHECK(memchr(value, '\n', value_len) == NULL);
  }
  /* the lookups wa_push_answer makes, and the edge sizes of the out buffer */
  n = wa_http_header(h, "x-amzn-RequestId", rid, sizeof rid);
  CHECK(n < 0 || (strlen(rid) <= (size_t)n && strlen(rid) < sizeof rid));
  wa_http_header(h, "x-amzn-ErrorType", etype, sizeof etype);
  wa_http_header(h, "Date", date, sizeof date);
  wa_http_header(h, "x-amz-retry-after", retry, sizeof retry);
  n = wa_http_header(h, "content-type", small, 1);
  CHECK(n < 0 || small[0] == '\0');
  wa_http_header(h, "Content-Length", small, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wa_http h;
  size_t split = size, body_start = size, i;
  lua_State *L;
  body_arg b;

  /* the header block ends with its last line's '\n'; a blank line follows */
  for (i = 0; i + 1 < size; i++) {
    if (data[i] != '\n') continue;
    if (data[i + 1] == '\n') body_start = i + 2;
    else if (data[i + 1] == '\r' && i + 2 < size && data[i + 2] == '\n') body_start = i + 3;
    else continue;
    split = i + 1;
    break;
  }
  memset(&h, 0, sizeof h);
  if (split > 0) {
    h.headers.data = fuzz_copy(data, split);
    h.headers.len = h.headers.cap = split;
  }
  walk_headers(&h);
  free(h.headers.data);

  b.len = size - body_start;
  b.body = fuzz_copy(data + body_start, b.len);
  L = fuzz_state();
  fuzz_pcall(L, decode_body, &b);
  lua_close(L);
  free((void *)b.body);
  return 0;
}
