/* The SigV4 canonicaliser and signer (sigv4_sign) on fuzzed requests: method,
 * path, query, headers (names and values of any bytes), payload hash, and now
 * and then odd credentials, region, service or timestamp.
 *
 * Input: a flags byte, then fields, each a length byte and that many bytes,
 * in this order: method, path, query, payload hash, then a header count
 * (up to 140, past the limit of 128) and a name and a value for each; then,
 * if flag 0x10 is set, access key id, secret, region, service, timestamp.
 * Missing fields are empty.
 *
 * What must hold besides no crash and no leak: a success gives a canonical
 * request that starts with the method line, a 64-hex signature that the
 * Authorization value ends with, and the same signature from a cached key as
 * from a fresh derivation; a failure leaves every output empty. */
#include "fuzz.h"

#include "../src/sigv4.h"

#define MAX_FIELDS (6 + 2 * 140 + 5)

typedef struct {
  const uint8_t *p, *end;
  char *owned[MAX_FIELDS];
  size_t n_owned;
} reader;

/* The next field as an exact-size heap copy (ASan sees a read past it). */
static char *field(reader *r, size_t *len) {
  size_t n = r->p < r->end ? *r->p++ : 0, have = (size_t)(r->end - r->p);
  char *c;
  if (n > have) n = have;
  c = fuzz_copy(r->p, n);
  r->p += n;
  r->owned[r->n_owned++] = c;
  if (len) *len = n;
  return c;
}

/* The same, NUL-terminated, for the C-string parameters. */
static char *cstring(reader *r) {
  size_t n;
  char *raw = field(r, &n), *c = (char *)malloc(n + 1);
  CHECK(c != NULL);
  memcpy(c, raw, n);
  c[n] = '\0';
  r->owned[r->n_owned - 1] = c;
  free(raw);
  return c;
}

static int is_empty(const wa_buf *b) { return b->len == 0 && (b->data == NULL || b->data[0] == '\0'); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader r;
  sigv4_request req;
  sigv4_params p;
  sigv4_header hs[140];
  sigv4_key_cache cache;
  sigv4_out out, fresh;
  char sig[65];
  int flags, rc, rc2;
  size_t i, n;

  memset(&r, 0, sizeof r);
  memset(&req, 0, sizeof req);
  memset(&p, 0, sizeof p);
  memset(&cache, 0, sizeof cache);
  memset(&out, 0, sizeof out);
  memset(&fresh, 0, sizeof fresh);
  r.p = data;
  r.end = data + size;
  flags = r.p < r.end ? *r.p++ : 0;

  req.method = cstring(&r);
  req.path = field(&r, &req.path_len);
  req.query = field(&r, &req.query_len);
  if (flags & 0x20) req.query = NULL, req.query_len = 0;
  req.payload_hash = cstring(&r);
  req.normalize_path = flags & 1;
  req.double_encode = (flags >> 1) & 1;
  n = r.p < r.end ? *r.p++ % 141 : 0;
  for (i = 0; i < n; i++) {
    hs[i].name = field(&r, &hs[i].name_len);
    hs[i].value = field(&r, &hs[i].value_len);
  }
  req.headers = hs;
  req.n_headers = n;
  if (flags & 0x10) {
    p.access_key_id = cstring(&r);
    p.secret_access_key = field(&r, &p.secret_len);
    p.region = cstring(&r);
    p.service = cstring(&r);
    p.amz_date = cstring(&r);
  } else {
    p.access_key_id = "AKIDEXAMPLE";
    p.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    p.secret_len = strlen(p.secret_access_key);
    p.region = "us-east-1";
    p.service = (flags & 4) ? "social-messaging" : "service";
    p.amz_date = "20150830T123600Z";
  }

  rc = sigv4_sign(&req, &p, &cache, &out);
  CHECK(rc == SIGV4_OK || rc == SIGV4_EINVAL); /* never out of memory, never a crypto failure */
  if (rc == SIGV4_OK) {
    size_t ml = strlen(req.method);
    CHECK(out.canonical_request.len > ml && memcmp(out.canonical_request.data, req.method, ml) == 0 &&
          out.canonical_request.data[ml] == '\n');
    CHECK(strlen(out.canonical_request.data) <= out.canonical_request.len);
    CHECK(strlen(out.signature) == 64 && strspn(out.signature, "0123456789abcdef") == 64);
    CHECK(out.authorization.len > 64 &&
          memcmp(out.authorization.data + out.authorization.len - 64, out.signature, 64) == 0);
    memcpy(sig, out.signature, sizeof sig);
    /* again with the key from the cache, then with none */
    rc2 = sigv4_sign(&req, &p, &cache, &out);
    CHECK(rc2 == SIGV4_OK && strcmp(sig, out.signature) == 0);
    rc2 = sigv4_sign(&req, &p, NULL, &fresh);
    CHECK(rc2 == SIGV4_OK && strcmp(sig, fresh.signature) == 0);
    CHECK(fresh.canonical_request.len == out.canonical_request.len &&
          memcmp(fresh.canonical_request.data, out.canonical_request.data, out.canonical_request.len) == 0);
    CHECK(p.secret_len > SIGV4_CACHE_SECRET_MAX || cache.derivations == 1);
  } else {
    CHECK(is_empty(&out.canonical_request) && is_empty(&out.string_to_sign) && is_empty(&out.signed_headers) &&
          is_empty(&out.authorization) && out.signature[0] == '\0');
  }

  sigv4_out_free(&out);
  sigv4_out_free(&fresh);
  sigv4_cache_clear(&cache);
  for (i = 0; i < r.n_owned; i++) free(r.owned[i]);
  return 0;
}
