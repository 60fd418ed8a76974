/* The strict JSON text checker (wa_json_normalize_text), which takes the JSON
 * string a caller passes to client:send: UTF-8 and RFC 8259 checked, an
 * object required, messaging_product spliced in when missing. The first input
 * byte says whether a default product is asked for; the rest is the text.
 *
 * What must hold besides no crash and no leak: text it takes is UTF-8 that
 * cJSON parses too (they must never disagree: the core treats a cJSON
 * failure after a pass as out of memory); a refusal says why; a splice keeps
 * every byte of the caller's text, adds exactly the member, and gives text
 * the checker takes again with nothing left to add. */
#include "fuzz.h"

static const char MEMBER[] = "\"messaging_product\":\"whatsapp\"";

static int normalize(const char *s, size_t n, const char *product, wa_buf *out, char *why, size_t why_size) {
  wa_json_box box = {NULL, NULL};
  wa_json_error err;
  int rc;
  memset(&err, 0, sizeof err);
  rc = wa_json_normalize_text(s, n, &box, product, out, &err);
  CHECK(box.tree == NULL && box.text == NULL); /* nothing kept in the box afterwards */
  snprintf(why, why_size, "%s", err.message);
  wa_buf_free(&err.field);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *product;
  char *text, why[256];
  size_t n;
  wa_buf out = WA_BUF_INIT;
  int rc;
  if (size == 0) return 0;
  product = (data[0] & 1) ? "whatsapp" : NULL;
  n = size - 1;
  text = fuzz_copy(data + 1, n);
  rc = normalize(text, n, product, &out, why, sizeof why);
  CHECK(rc == 0 || rc == -1); /* -2 would mean cJSON refused what the checker took */
  if (rc == -1) {
    CHECK(why[0] != '\0' && out.len == 0);
  } else {
    cJSON *tree = cJSON_ParseWithLength(text, n);
    CHECK(tree != NULL && cJSON_IsObject(tree));
    CHECK(wa_utf8_valid(text, n));
    if (out.len) {
      wa_buf again = WA_BUF_INIT;
      const char *brace = memchr(out.data, '{', out.len);
      size_t head;
      CHECK(product != NULL && cJSON_GetObjectItemCaseSensitive(tree, "messaging_product") == NULL);
      CHECK(brace != NULL);
      head = (size_t)(brace - out.data) + 1;
      /* caller's bytes up to '{', the member, maybe a comma, the rest as it was */
      CHECK(memcmp(out.data, text, head) == 0);
      CHECK(memcmp(out.data + head, MEMBER, sizeof MEMBER - 1) == 0);
      CHECK(out.len == n + sizeof MEMBER - 1 || out.len == n + sizeof MEMBER);
      CHECK(memcmp(out.data + out.len - (n - head), text + head, n - head) == 0);
      CHECK(normalize(out.data, out.len, product, &again, why, sizeof why) == 0);
      CHECK(again.len == 0);
      wa_buf_free(&again);
    }
    cJSON_Delete(tree);
  }
  wa_buf_free(&out);
  free(text);
  return 0;
}
