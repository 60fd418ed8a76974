/* AWS Signature Version 4, header variant (docs/REFERENCES.md: SigV4).
 *
 * All working memory lives in the caller's sigv4_out buffers (scratch for
 * the normalized path, the query pairs and the "AWS4"+secret key), so a
 * client that keeps one sigv4_out signs without allocating once the buffers
 * have grown. Header sort indices live in a small stack array. */
#include "sigv4.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* Most headers sigv4_sign accepts (the indices are sorted on the stack). */
#define SIGV4_MAX_HEADERS 128

/* Longest region and service names: what fits in the cache fields. Longer
 * ones are rejected with SIGV4_EINVAL whether or not a cache is passed. */
#define SIGV4_REGION_MAX (sizeof(((sigv4_key_cache *)0)->region) - 1)
#define SIGV4_SERVICE_MAX (sizeof(((sigv4_key_cache *)0)->service) - 1)

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"

#define TRY(expr)                            \
  do {                                       \
    if ((expr) != 0) return SIGV4_ENOMEM;    \
  } while (0)

static const char hex_upper[] = "0123456789ABCDEF";

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Visible ASCII: no space, no control character, no DEL, no 8-bit byte. */
static int is_visible(unsigned char c) { return c > 0x20 && c < 0x7f; }

static int is_lws(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
  size_t m = al < bl ? al : bl;
  int c = m ? memcmp(a, b, m) : 0;
  if (c != 0) return c;
  return al < bl ? -1 : (al > bl ? 1 : 0);
}

/* Constant-time equality of two byte strings of the same length. */
static int same_secret(const char *a, const char *b, size_t n) {
  unsigned char d = 0;
  size_t i;
  for (i = 0; i < n; i++) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

/* Non-empty, visible ASCII, neither bad1 nor bad2 (pass '\0' for none); at
 * most max chars (0: no limit). Returns the length or 0 when invalid. */
static size_t check_word(const char *s, size_t max, char bad1, char bad2) {
  size_t n = 0;
  if (s == NULL) return 0;
  for (; s[n] != '\0'; n++) {
    if (!is_visible((unsigned char)s[n]) || s[n] == bad1 || s[n] == bad2) return 0;
    if (max != 0 && n >= max) return 0;
  }
  return n;
}

static int valid_amz_date(const char *d) {
  int i;
  if (d == NULL) return 0;
  for (i = 0; i < 16; i++) {
    if (i == 8) {
      if (d[i] != 'T') return 0;
    } else if (i == 15) {
      if (d[i] != 'Z') return 0;
    } else if (!is_digit(d[i])) {
      return 0;
    }
  }
  return d[16] == '\0';
}

/* Room in b for n bytes URI-encoded (three each at the most): where to
 * write them, or NULL when memory ran out. */
static char *encoded_room(wa_buf *b, size_t n) {
  if (n > (SIZE_MAX - 1) / 3) return NULL;
  if (wa_buf_reserve(b, 3 * n) != 0) return NULL;
  return b->data + b->len;
}

/* Writes c URI-encoded at o (RFC 3986 unreserved kept, uppercase hex),
 * keeping '/' when keep_slash is set; returns where the next byte goes. */
static char *put_encoded(char *o, unsigned char c, int keep_slash) {
  if (is_unreserved(c) || (keep_slash && c == '/')) {
    *o++ = (char)c;
  } else {
    *o++ = '%';
    *o++ = hex_upper[c >> 4];
    *o++ = hex_upper[c & 0x0f];
  }
  return o;
}

/* Appends s[0..n) URI-encoded, keeping '/' when keep_slash is set. */
static int append_uri_encoded(wa_buf *b, const char *s, size_t n, int keep_slash) {
  size_t i;
  char *o = encoded_room(b, n);
  if (o == NULL) return -1;
  for (i = 0; i < n; i++) o = put_encoded(o, (unsigned char)s[i], keep_slash);
  b->len = (size_t)(o - b->data);
  return 0;
}

/* Appends s[0..n) URL-decoded ("%XX" with two hex digits; anything else is
 * literal, '+' included) and then URI-encoded with '/' encoded. */
static int append_query_component(wa_buf *b, const char *s, size_t n) {
  size_t i;
  char *o = encoded_room(b, n);
  if (o == NULL) return -1;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%' && i + 2 < n) {
      int hi = hex_value((unsigned char)s[i + 1]), lo = hex_value((unsigned char)s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = (unsigned char)(hi * 16 + lo);
        i += 2;
      }
    }
    o = put_encoded(o, c, 0);
  }
  b->len = (size_t)(o - b->data);
  return 0;
}

/* Removes empty and "." segments and resolves ".." (never above the root);
 * keeps a trailing slash when something is left; empty -> "/". The path
 * starts with '/'. Writes into scratch (cleared first). */
static int normalize_path(wa_buf *scratch, const char *path, size_t n) {
  size_t i = 0;
  wa_buf_clear(scratch);
  if (wa_buf_reserve(scratch, n + 1) != 0) return -1;
  while (i < n) {
    size_t start, len;
    while (i < n && path[i] == '/') i++;
    start = i;
    while (i < n && path[i] != '/') i++;
    len = i - start;
    if (len == 0 || (len == 1 && path[start] == '.')) continue;
    if (len == 2 && path[start] == '.' && path[start + 1] == '.') {
      while (scratch->len > 0 && scratch->data[scratch->len - 1] != '/') scratch->len--;
      if (scratch->len > 0) scratch->len--; /* the '/' before the popped segment */
      continue;
    }
    scratch->data[scratch->len++] = '/';
    memcpy(scratch->data + scratch->len, path + start, len);
    scratch->len += len;
  }
  /* n + 1 bytes were reserved: at most n bytes of "/seg" items plus one '/'. */
  if (scratch->len == 0 || path[n - 1] == '/') scratch->data[scratch->len++] = '/';
  return 0;
}

static int append_canonical_uri(const sigv4_request *req, wa_buf *scratch, wa_buf *cr) {
  const char *path = req->path;
  size_t n = req->path_len;
  if (n == 0) return wa_buf_addc(cr, '/');
  if (req->normalize_path) {
    if (normalize_path(scratch, path, n) != 0) return -1;
    path = scratch->data;
    n = scratch->len;
  }
  if (req->double_encode) return append_uri_encoded(cr, path, n, 1);
  return wa_buf_add(cr, path, n);
}

typedef struct {
  size_t ko, kl, vo, vl; /* offsets into scratch while it may still move */
  const char *k, *v;     /* set once scratch is complete */
} query_pair;

static int query_pair_cmp(const void *a, const void *b) {
  const query_pair *x = (const query_pair *)a, *y = (const query_pair *)b;
  int c = bytes_cmp(x->k, x->kl, y->k, y->kl);
  return c != 0 ? c : bytes_cmp(x->v, x->vl, y->v, y->vl);
}

static int append_canonical_query(const char *q, size_t qn, wa_buf *scratch, wa_buf *cr) {
  size_t n = 0, i, start, table;
  query_pair *pairs;
  if (q == NULL || qn == 0) return 0;
  /* Count the non-empty '&'-separated pieces. */
  for (start = 0, i = 0; i <= qn; i++) {
    if (i == qn || q[i] == '&') {
      if (i > start) n++;
      start = i + 1;
    }
  }
  if (n == 0) return 0;
  if (n > SIZE_MAX / sizeof(query_pair)) return -1;
  table = n * sizeof(query_pair);
  wa_buf_clear(scratch);
  if (wa_buf_reserve(scratch, table) != 0) return -1;
  scratch->len = table; /* malloc'd memory: aligned for query_pair */
  n = 0;
  for (start = 0, i = 0; i <= qn; i++) {
    if (i == qn || q[i] == '&') {
      if (i > start) {
        const char *piece = q + start, *eq = memchr(piece, '=', i - start);
        size_t plen = i - start, klen = eq ? (size_t)(eq - piece) : plen;
        size_t ko = scratch->len, kl, vo, vl;
        if (append_query_component(scratch, piece, klen) != 0) return -1;
        kl = scratch->len - ko;
        vo = scratch->len;
        if (eq != NULL && append_query_component(scratch, eq + 1, plen - klen - 1) != 0) return -1;
        vl = scratch->len - vo;
        pairs = (query_pair *)(void *)scratch->data;
        pairs[n].ko = ko;
        pairs[n].kl = kl;
        pairs[n].vo = vo;
        pairs[n].vl = vl;
        n++;
      }
      start = i + 1;
    }
  }
  pairs = (query_pair *)(void *)scratch->data;
  for (i = 0; i < n; i++) {
    pairs[i].k = scratch->data + pairs[i].ko;
    pairs[i].v = scratch->data + pairs[i].vo;
  }
  if (n > 1) qsort(pairs, n, sizeof *pairs, query_pair_cmp);
  for (i = 0; i < n; i++) {
    if (i > 0 && wa_buf_addc(cr, '&') != 0) return -1;
    if (wa_buf_add(cr, pairs[i].k, pairs[i].kl) != 0 || wa_buf_addc(cr, '=') != 0 ||
        wa_buf_add(cr, pairs[i].v, pairs[i].vl) != 0)
      return -1;
  }
  return 0;
}

/* Case-insensitive (ASCII) byte order of two header names. */
static int header_name_cmp(const sigv4_header *a, const sigv4_header *b) {
  size_t m = a->name_len < b->name_len ? a->name_len : b->name_len, i;
  for (i = 0; i < m; i++) {
    unsigned char x = lower((unsigned char)a->name[i]), y = lower((unsigned char)b->name[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a->name_len < b->name_len ? -1 : (a->name_len > b->name_len ? 1 : 0);
}

static int valid_header(const sigv4_header *h) {
  size_t i;
  if (h->name == NULL || h->name_len == 0) return 0;
  if (h->value == NULL && h->value_len != 0) return 0;
  for (i = 0; i < h->name_len; i++) {
    unsigned char c = (unsigned char)h->name[i];
    if (!is_visible(c) || c == ':') return 0;
  }
  for (i = 0; i < h->value_len; i++) {
    unsigned char c = (unsigned char)h->value[i];
    if ((c < 0x20 && !is_lws(c)) || c == 0x7f) return 0;
  }
  return 1;
}

static int append_lower(wa_buf *b, const char *s, size_t n) {
  size_t i;
  if (wa_buf_reserve(b, n) != 0) return -1;
  for (i = 0; i < n; i++) b->data[b->len + i] = (char)lower((unsigned char)s[i]);
  b->len += n;
  return 0;
}

/* Appends the value trimmed, with every run of SP/HTAB/CR/LF made one space. */
static int append_header_value(wa_buf *b, const char *v, size_t n) {
  size_t i;
  int pending = 0;
  char *o;
  if (wa_buf_reserve(b, n) != 0) return -1;
  o = b->data + b->len;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (is_lws(c)) {
      pending = o != b->data + b->len;
    } else {
      if (pending) *o++ = ' ';
      pending = 0;
      *o++ = (char)c;
    }
  }
  b->len = (size_t)(o - b->data);
  return 0;
}

/* Canonical headers into cr (each "name:value\n") and the signed header list
 * into sh. Returns SIGV4_OK, SIGV4_EINVAL or SIGV4_ENOMEM. */
static int append_canonical_headers(const sigv4_request *req, wa_buf *cr, wa_buf *sh) {
  unsigned short idx[SIGV4_MAX_HEADERS];
  const sigv4_header *h = req->headers;
  size_t n = req->n_headers, i, j;
  if (n == 0) return SIGV4_OK;
  if (h == NULL || n > SIGV4_MAX_HEADERS) return SIGV4_EINVAL;
  for (i = 0; i < n; i++) {
    if (!valid_header(&h[i])) return SIGV4_EINVAL;
  }
  /* Stable insertion sort: duplicates keep their original order. */
  for (i = 0; i < n; i++) {
    unsigned short t = (unsigned short)i;
    for (j = i; j > 0 && header_name_cmp(&h[idx[j - 1]], &h[t]) > 0; j--) idx[j] = idx[j - 1];
    idx[j] = t;
  }
  for (i = 0; i < n; i++) {
    const sigv4_header *cur = &h[idx[i]];
    if (i > 0 && header_name_cmp(&h[idx[i - 1]], cur) == 0) {
      TRY(wa_buf_addc(cr, ','));
    } else {
      if (i > 0) {
        TRY(wa_buf_addc(cr, '\n'));
        TRY(wa_buf_addc(sh, ';'));
      }
      TRY(append_lower(cr, cur->name, cur->name_len));
      TRY(append_lower(sh, cur->name, cur->name_len));
      TRY(wa_buf_addc(cr, ':'));
    }
    TRY(append_header_value(cr, cur->value, cur->value_len));
  }
  TRY(wa_buf_addc(cr, '\n'));
  return SIGV4_OK;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
 * "AWS4"+secret is assembled in scratch and wiped right after use. */
static int derive_signing_key(const sigv4_params *p, const char *date, size_t region_len,
                              size_t service_len, wa_buf *scratch, unsigned char key[32]) {
  unsigned char k1[32], k2[32];
  int bad;
  wa_buf_clear(scratch);
  if (wa_buf_reserve(scratch, 4 + p->secret_len) != 0) return SIGV4_ENOMEM;
  memcpy(scratch->data, "AWS4", 4);
  if (p->secret_len > 0) memcpy(scratch->data + 4, p->secret_access_key, p->secret_len);
  bad = wa_hmac_sha256(scratch->data, 4 + p->secret_len, date, 8, k1) != 0;
  wa_wipe(scratch->data, 4 + p->secret_len);
  bad = bad || wa_hmac_sha256(k1, 32, p->region, region_len, k2) != 0;
  bad = bad || wa_hmac_sha256(k2, 32, p->service, service_len, k1) != 0;
  bad = bad || wa_hmac_sha256(k1, 32, SIGV4_TERMINATOR, sizeof SIGV4_TERMINATOR - 1, key) != 0;
  wa_wipe(k1, sizeof k1);
  wa_wipe(k2, sizeof k2);
  if (bad) {
    wa_wipe(key, 32);
    return SIGV4_ECRYPTO;
  }
  return SIGV4_OK;
}

static int cache_hit(const sigv4_key_cache *c, const sigv4_params *p, const char *date,
                     size_t region_len, size_t service_len) {
  return c->valid && p->secret_len <= SIGV4_CACHE_SECRET_MAX && c->secret_len == p->secret_len &&
         memcmp(c->date, date, 8) == 0 && memcmp(c->region, p->region, region_len + 1) == 0 &&
         memcmp(c->service, p->service, service_len + 1) == 0 &&
         same_secret(c->secret, p->secret_access_key, p->secret_len);
}

static int get_signing_key(const sigv4_params *p, const char *date, size_t region_len,
                           size_t service_len, sigv4_key_cache *cache, wa_buf *scratch,
                           unsigned char key[32]) {
  int rc;
  if (cache != NULL && cache_hit(cache, p, date, region_len, service_len)) {
    memcpy(key, cache->key, 32);
    return SIGV4_OK;
  }
  rc = derive_signing_key(p, date, region_len, service_len, scratch, key);
  if (rc != SIGV4_OK || cache == NULL) return rc;
  cache->derivations++;
  /* Whatever was cached before no longer matches: drop it (and its secret). */
  cache->valid = 0;
  wa_wipe(cache->key, sizeof cache->key);
  wa_wipe(cache->secret, sizeof cache->secret);
  cache->secret_len = 0;
  if (p->secret_len > SIGV4_CACHE_SECRET_MAX) return SIGV4_OK; /* never cached */
  memcpy(cache->key, key, 32);
  memcpy(cache->date, date, 8);
  cache->date[8] = '\0';
  memcpy(cache->region, p->region, region_len + 1);
  memcpy(cache->service, p->service, service_len + 1);
  if (p->secret_len > 0) memcpy(cache->secret, p->secret_access_key, p->secret_len);
  cache->secret_len = p->secret_len;
  cache->valid = 1;
  return SIGV4_OK;
}

/* The signature: HMAC of the string to sign under the signing key for
 * p->amz_date's day (cached or derived), as lowercase hex. */
static int sign_string(const sigv4_params *p, size_t region_len, size_t service_len, sigv4_key_cache *cache,
                       wa_buf *scratch, const wa_buf *sts, char signature[65]) {
  unsigned char key[32], sig[32];
  int rc = get_signing_key(p, p->amz_date, region_len, service_len, cache, scratch, key);
  if (rc != SIGV4_OK) return rc;
  rc = cache ? wa_hasher_hmac(&cache->hasher, key, sts->data, sts->len, sig)
             : wa_hmac_sha256(key, sizeof key, sts->data, sts->len, sig);
  wa_wipe(key, sizeof key);
  if (rc != 0) return SIGV4_ECRYPTO;
  wa_hex(sig, sizeof sig, signature);
  return SIGV4_OK;
}

static int sign(const sigv4_request *req, const sigv4_params *p, sigv4_key_cache *cache,
                sigv4_out *out) {
  wa_buf *cr = &out->canonical_request, *sts = &out->string_to_sign;
  wa_buf *sh = &out->signed_headers, *auth = &out->authorization, *scratch = &out->scratch;
  size_t region_len, service_len, akid_len, scope_off, scope_len;
  char hash_hex[65];
  int rc;

  if (req == NULL || p == NULL) return SIGV4_EINVAL;
  if (!valid_amz_date(p->amz_date)) return SIGV4_EINVAL;
  region_len = check_word(p->region, SIGV4_REGION_MAX, '/', '\0');
  service_len = check_word(p->service, SIGV4_SERVICE_MAX, '/', '\0');
  akid_len = check_word(p->access_key_id, 0, '/', ',');
  if (region_len == 0 || service_len == 0 || akid_len == 0) return SIGV4_EINVAL;
  if ((p->secret_access_key == NULL && p->secret_len != 0) || p->secret_len > SIZE_MAX / 2)
    return SIGV4_EINVAL;
  if (check_word(req->method, 0, '\0', '\0') == 0 ||
      check_word(req->payload_hash, 0, '\0', '\0') == 0)
    return SIGV4_EINVAL;
  if (req->path_len != 0 && (req->path == NULL || req->path[0] != '/')) return SIGV4_EINVAL;
  if (req->query == NULL && req->query_len != 0) return SIGV4_EINVAL;

  /* Canonical request. */
  TRY(wa_buf_addstr(cr, req->method));
  TRY(wa_buf_addc(cr, '\n'));
  TRY(append_canonical_uri(req, scratch, cr));
  TRY(wa_buf_addc(cr, '\n'));
  TRY(append_canonical_query(req->query, req->query_len, scratch, cr));
  TRY(wa_buf_addc(cr, '\n'));
  rc = append_canonical_headers(req, cr, sh);
  if (rc != SIGV4_OK) return rc;
  TRY(wa_buf_addc(cr, '\n'));
  TRY(wa_buf_add(cr, sh->data, sh->len));
  TRY(wa_buf_addc(cr, '\n'));
  TRY(wa_buf_addstr(cr, req->payload_hash));

  /* String to sign. */
  if ((cache ? wa_hasher_sha256_hex(&cache->hasher, cr->data, cr->len, hash_hex)
             : wa_sha256_hex(cr->data, cr->len, hash_hex)) != 0)
    return SIGV4_ECRYPTO;
  TRY(wa_buf_addstr(sts, SIGV4_ALGORITHM "\n"));
  TRY(wa_buf_add(sts, p->amz_date, 16));
  TRY(wa_buf_addc(sts, '\n'));
  scope_off = sts->len;
  TRY(wa_buf_add(sts, p->amz_date, 8));
  TRY(wa_buf_addc(sts, '/'));
  TRY(wa_buf_add(sts, p->region, region_len));
  TRY(wa_buf_addc(sts, '/'));
  TRY(wa_buf_add(sts, p->service, service_len));
  TRY(wa_buf_addstr(sts, "/" SIGV4_TERMINATOR));
  scope_len = sts->len - scope_off;
  TRY(wa_buf_addc(sts, '\n'));
  TRY(wa_buf_add(sts, hash_hex, 64));

  /* Signature. */
  rc = sign_string(p, region_len, service_len, cache, scratch, sts, out->signature);
  if (rc != SIGV4_OK) return rc;

  /* Authorization header value. */
  TRY(wa_buf_addstr(auth, SIGV4_ALGORITHM " Credential="));
  TRY(wa_buf_add(auth, p->access_key_id, akid_len));
  TRY(wa_buf_addc(auth, '/'));
  TRY(wa_buf_add(auth, sts->data + scope_off, scope_len));
  TRY(wa_buf_addstr(auth, ", SignedHeaders="));
  TRY(wa_buf_add(auth, sh->data, sh->len));
  TRY(wa_buf_addstr(auth, ", Signature="));
  TRY(wa_buf_add(auth, out->signature, 64));

  wa_buf_clear(scratch);
  if (wa_buf_terminate(cr) != 0 || wa_buf_terminate(sts) != 0 || wa_buf_terminate(sh) != 0 ||
      wa_buf_terminate(auth) != 0 || wa_buf_terminate(scratch) != 0)
    return SIGV4_ENOMEM;
  return SIGV4_OK;
}

/* ---- the fixed request of a client's sends ------------------------------ */

void sigv4_fixed_free(sigv4_fixed *f) {
  wa_buf_free(&f->head);
  memset(f, 0, sizeof *f);
}

int sigv4_fixed_init(sigv4_fixed *f, const char *method, const char *path, size_t path_len,
                     const char *content_type, const char *host, size_t host_len, const char *region,
                     const char *service) {
  sigv4_request req;
  sigv4_header h;
  wa_buf scratch = WA_BUF_INIT;
  int rc = SIGV4_ENOMEM;
  wa_buf_clear(&f->head);
  f->region_len = check_word(region, SIGV4_REGION_MAX, '/', '\0');
  f->service_len = check_word(service, SIGV4_SERVICE_MAX, '/', '\0');
  if (f->region_len == 0 || f->service_len == 0 || check_word(method, 0, '\0', '\0') == 0 ||
      (path_len != 0 && path[0] != '/'))
    return SIGV4_EINVAL;
  memcpy(f->region, region, f->region_len + 1);
  memcpy(f->service, service, f->service_len + 1);
  h.name = "content-type", h.name_len = 12, h.value = content_type, h.value_len = strlen(content_type);
  if (!valid_header(&h)) return SIGV4_EINVAL;
  h.name = "host", h.name_len = 4, h.value = host, h.value_len = host_len;
  if (!valid_header(&h)) return SIGV4_EINVAL;
  memset(&req, 0, sizeof req);
  req.path = path;
  req.path_len = path_len;
  req.normalize_path = 1;
  req.double_encode = 1;
  if (wa_buf_addstr(&f->head, method) || wa_buf_addc(&f->head, '\n') ||
      append_canonical_uri(&req, &scratch, &f->head) || wa_buf_addstr(&f->head, "\n\ncontent-type:") ||
      append_header_value(&f->head, content_type, strlen(content_type)) || wa_buf_addstr(&f->head, "\nhost:") ||
      append_header_value(&f->head, host, host_len) || wa_buf_addstr(&f->head, "\nx-amz-date:"))
    goto out;
  rc = SIGV4_OK;
out:
  wa_buf_free(&scratch);
  return rc;
}

#define SH_BASE "content-type;host;x-amz-date"
#define SH_TOKEN SH_BASE ";x-amz-security-token"

static int sign_fixed(const sigv4_fixed *f, const char *akid, const char *secret, size_t secret_len,
                      const char *token, size_t token_len, const char *amz_date, const char *payload_hash,
                      sigv4_key_cache *cache, sigv4_out *out) {
  wa_buf *cr = &out->canonical_request, *sts = &out->string_to_sign;
  wa_buf *sh = &out->signed_headers, *auth = &out->authorization;
  const char *signed_headers = token ? SH_TOKEN : SH_BASE;
  size_t akid_len, scope_off, scope_len, i;
  char hash_hex[65];
  sigv4_params p;
  int rc;

  if (f->head.len == 0 || !valid_amz_date(amz_date)) return SIGV4_EINVAL;
  akid_len = check_word(akid, 0, '/', ',');
  if (akid_len == 0 || (secret == NULL && secret_len != 0) || secret_len > SIZE_MAX / 2) return SIGV4_EINVAL;
  for (i = 0; i < 64; i++)
    if (!is_visible((unsigned char)payload_hash[i])) return SIGV4_EINVAL;
  if (payload_hash[64] != '\0') return SIGV4_EINVAL;
  if (token) {
    sigv4_header h;
    h.name = "x-amz-security-token", h.name_len = 20, h.value = token, h.value_len = token_len;
    if (!valid_header(&h)) return SIGV4_EINVAL;
  }

  /* canonical request: the head, then what changes */
  TRY(wa_buf_reserve(cr, f->head.len + 16 + 2 + (token ? 22 + token_len : 0) + sizeof SH_TOKEN + 66));
  TRY(wa_buf_add(cr, f->head.data, f->head.len));
  TRY(wa_buf_add(cr, amz_date, 16));
  TRY(wa_buf_addc(cr, '\n'));
  if (token) {
    TRY(wa_buf_addstr(cr, "x-amz-security-token:"));
    TRY(append_header_value(cr, token, token_len));
    TRY(wa_buf_addc(cr, '\n'));
  }
  TRY(wa_buf_addc(cr, '\n'));
  TRY(wa_buf_addstr(cr, signed_headers));
  TRY(wa_buf_addc(cr, '\n'));
  TRY(wa_buf_add(cr, payload_hash, 64));
  TRY(wa_buf_addstr(sh, signed_headers));

  /* string to sign */
  if ((cache ? wa_hasher_sha256_hex(&cache->hasher, cr->data, cr->len, hash_hex)
             : wa_sha256_hex(cr->data, cr->len, hash_hex)) != 0)
    return SIGV4_ECRYPTO;
  TRY(wa_buf_reserve(sts, 17 + 17 + 9 + f->region_len + f->service_len + 16 + 65));
  TRY(wa_buf_addstr(sts, SIGV4_ALGORITHM "\n"));
  TRY(wa_buf_add(sts, amz_date, 16));
  TRY(wa_buf_addc(sts, '\n'));
  scope_off = sts->len;
  TRY(wa_buf_add(sts, amz_date, 8));
  TRY(wa_buf_addc(sts, '/'));
  TRY(wa_buf_add(sts, f->region, f->region_len));
  TRY(wa_buf_addc(sts, '/'));
  TRY(wa_buf_add(sts, f->service, f->service_len));
  TRY(wa_buf_addstr(sts, "/" SIGV4_TERMINATOR));
  scope_len = sts->len - scope_off;
  TRY(wa_buf_addc(sts, '\n'));
  TRY(wa_buf_add(sts, hash_hex, 64));

  /* signature */
  p.access_key_id = akid;
  p.secret_access_key = secret;
  p.secret_len = secret_len;
  p.region = f->region;
  p.service = f->service;
  p.amz_date = amz_date;
  rc = sign_string(&p, f->region_len, f->service_len, cache, &out->scratch, sts, out->signature);
  if (rc != SIGV4_OK) return rc;

  /* Authorization */
  TRY(wa_buf_reserve(auth, 29 + akid_len + 1 + scope_len + 16 + sizeof SH_TOKEN + 12 + 64));
  TRY(wa_buf_addstr(auth, SIGV4_ALGORITHM " Credential="));
  TRY(wa_buf_add(auth, akid, akid_len));
  TRY(wa_buf_addc(auth, '/'));
  TRY(wa_buf_add(auth, sts->data + scope_off, scope_len));
  TRY(wa_buf_addstr(auth, ", SignedHeaders="));
  TRY(wa_buf_addstr(auth, signed_headers));
  TRY(wa_buf_addstr(auth, ", Signature="));
  TRY(wa_buf_add(auth, out->signature, 64));
  if (wa_buf_terminate(cr) != 0 || wa_buf_terminate(sts) != 0 || wa_buf_terminate(sh) != 0 ||
      wa_buf_terminate(auth) != 0)
    return SIGV4_ENOMEM;
  return SIGV4_OK;
}

static void reset_buf(wa_buf *b) {
  b->len = 0;
  if (b->data != NULL) b->data[0] = '\0';
}

static void reset_out(sigv4_out *out) {
  reset_buf(&out->canonical_request);
  reset_buf(&out->string_to_sign);
  reset_buf(&out->signed_headers);
  reset_buf(&out->authorization);
  reset_buf(&out->scratch);
  out->signature[0] = '\0';
}

int sigv4_sign(const sigv4_request *req, const sigv4_params *p, sigv4_key_cache *cache,
               sigv4_out *out) {
  int rc;
  if (out == NULL) return SIGV4_EINVAL;
  reset_out(out);
  rc = sign(req, p, cache, out);
  if (rc != SIGV4_OK) reset_out(out);
  return rc;
}

int sigv4_sign_fixed(const sigv4_fixed *f, const char *access_key_id, const char *secret, size_t secret_len,
                     const char *token, size_t token_len, const char *amz_date, const char *payload_hash,
                     sigv4_key_cache *cache, sigv4_out *out) {
  int rc;
  if (f == NULL || out == NULL || payload_hash == NULL || amz_date == NULL) return SIGV4_EINVAL;
  out->canonical_request.len = out->string_to_sign.len = out->signed_headers.len = out->authorization.len = 0;
  rc = sign_fixed(f, access_key_id, secret, secret_len, token, token_len, amz_date, payload_hash, cache, out);
  if (rc != SIGV4_OK) reset_out(out);
  return rc;
}

static void wipe_free(wa_buf *b) {
  wa_wipe(b->data, b->cap);
  wa_buf_free(b);
}

void sigv4_out_free(sigv4_out *out) {
  if (out == NULL) return;
  wipe_free(&out->canonical_request);
  wipe_free(&out->string_to_sign);
  wipe_free(&out->signed_headers);
  wipe_free(&out->authorization);
  wipe_free(&out->scratch);
  wa_wipe(out->signature, sizeof out->signature);
}

void sigv4_cache_clear(sigv4_key_cache *cache) {
  unsigned long derivations;
  if (cache == NULL) return;
  derivations = cache->derivations; /* a statistic, not a secret: kept */
  wa_hasher_free(&cache->hasher);
  wa_wipe(cache, sizeof *cache);
  memset(cache, 0, sizeof *cache);
  cache->derivations = derivations;
}
