/* AWS Signature Version 4 (AWS4-HMAC-SHA256), header variant. Bytes only: no
 * Lua, no I/O, no clock (the caller passes the timestamp). Every output goes
 * into caller-owned buffers so a client can reuse them send after send. */
#ifndef WA_SIGV4_H
#define WA_SIGV4_H

#include <stddef.h>

#include "buf.h"
#include "crypto.h"
#include "internal.h"

typedef struct {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} sigv4_header;

typedef struct {
  const char *method;                /* "POST" */
  const char *path;                  /* the path as it goes on the wire (encoded once) */
  size_t path_len;
  const char *query;                 /* raw query string without '?', or NULL */
  size_t query_len;
  const sigv4_header *headers;       /* every header to sign, host and x-amz-date included */
  size_t n_headers;
  const char *payload_hash;          /* 64 lowercase hex digits of SHA-256(body) */
  int normalize_path;                /* drop empty and "." segments, resolve ".." */
  int double_encode;                 /* URI-encode the path once more (every service but S3) */
} sigv4_request;

typedef struct {
  const char *access_key_id;
  const char *secret_access_key;
  size_t secret_len;
  const char *region;
  const char *service;
  const char *amz_date;              /* "YYYYMMDDTHHMMSSZ"; its first 8 chars are the date */
} sigv4_params;

/* The derived signing key for one (secret, date, region, service). A client
 * keeps one so a send costs one HMAC instead of five. */
#define SIGV4_CACHE_SECRET_MAX 256
typedef struct {
  int valid;
  unsigned char key[32];
  char date[9];
  char region[64];
  char service[64];
  size_t secret_len;
  char secret[SIGV4_CACHE_SECRET_MAX];
  unsigned long derivations;         /* how many times a key was derived (for tests) */
  wa_hasher hasher;                  /* OpenSSL state reused send after send */
} sigv4_key_cache;

typedef struct {
  wa_buf canonical_request;
  wa_buf string_to_sign;
  wa_buf signed_headers;             /* "content-type;host;x-amz-date" */
  wa_buf authorization;              /* the whole Authorization header value */
  wa_buf scratch;                    /* internal working space */
  char signature[65];
} sigv4_out;

enum {
  SIGV4_OK = 0,
  SIGV4_ENOMEM = -1,
  SIGV4_EINVAL = -2,                 /* malformed input: bad amz_date, too many headers, ... */
  SIGV4_ECRYPTO = -3
};

/* Signs req. All sigv4_out buffers are cleared and refilled; each is
 * NUL-terminated. cache may be NULL (the key is derived every time). */
WA_INTERNAL int sigv4_sign(const sigv4_request *req, const sigv4_params *p, sigv4_key_cache *cache,
                           sigv4_out *out);

/* A request signed again and again whose method, path, Host and Content-Type
 * stay the same (a client's sends): the fixed head of its canonical request,
 * built once by sigv4_fixed_init with the same rules as sigv4_sign (path
 * normalized and encoded twice, header values trimmed). Signed headers:
 * content-type;host;x-amz-date, plus x-amz-security-token with a token. */
typedef struct {
  wa_buf head; /* "<method>\n<canonical uri>\n\ncontent-type:<type>\nhost:<host>\nx-amz-date:" */
  char region[64], service[64];
  size_t region_len, service_len;
} sigv4_fixed;

/* Returns SIGV4_OK, SIGV4_EINVAL (a word sigv4_sign would refuse) or SIGV4_ENOMEM. */
WA_INTERNAL int sigv4_fixed_init(sigv4_fixed *f, const char *method, const char *path, size_t path_len,
                                 const char *content_type, const char *host, size_t host_len, const char *region,
                                 const char *service);
WA_INTERNAL void sigv4_fixed_free(sigv4_fixed *f);

/* Signs one request of f: the same outputs as sigv4_sign with the headers
 * content-type, host, x-amz-date (and x-amz-security-token when token is
 * not NULL) and the payload hash, for a small part of the work. */
WA_INTERNAL int sigv4_sign_fixed(const sigv4_fixed *f, const char *access_key_id, const char *secret,
                                 size_t secret_len, const char *token, size_t token_len, const char *amz_date,
                                 const char *payload_hash, sigv4_key_cache *cache, sigv4_out *out);

WA_INTERNAL void sigv4_out_free(sigv4_out *out);
/* Wipes the cached key and secret and frees the hasher. */
WA_INTERNAL void sigv4_cache_clear(sigv4_key_cache *cache);

#endif
