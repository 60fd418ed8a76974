/* SHA-256, HMAC-SHA-256 and base64 through OpenSSL (no hand-rolled crypto). */
#ifndef WA_CRYPTO_H
#define WA_CRYPTO_H

#include <stddef.h>

#include "internal.h"

/* Each returns 0 on success, -1 on an OpenSSL failure. */
WA_INTERNAL int wa_sha256(const void *data, size_t len, unsigned char out[32]);
/* Writes 64 lowercase hex digits and a NUL. */
WA_INTERNAL int wa_sha256_hex(const void *data, size_t len, char out[65]);
WA_INTERNAL int wa_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                               unsigned char out[32]);
WA_INTERNAL void wa_hex(const unsigned char *in, size_t len, char *out); /* 2*len chars + NUL */

/* Standard base64 with padding, no line breaks. */
static inline size_t wa_base64_len(size_t n) { return 4 * ((n + 2) / 3); }
/* Writes wa_base64_len(n) chars and a NUL into out (which needs one more byte). */
WA_INTERNAL void wa_base64(const unsigned char *in, size_t n, char *out);

/* Reusable OpenSSL state for the send path: the SHA-256 implementation fetched
 * once and a digest context, and an HMAC context keyed with one 32-byte key
 * (the cached SigV4 signing key). Owned by whoever embeds it (a client's key
 * cache, so a userdata's __gc frees it); zeroed memory is a valid empty one,
 * filled on first use. Nothing is global: unloading the module leaves nothing. */
typedef struct {
  struct evp_md_st *md;
  struct evp_md_ctx_st *ctx;
  struct evp_mac_st *mac;
  struct evp_mac_ctx_st *mac_ctx;
  unsigned char key[32]; /* the key mac_ctx holds */
  int keyed;
} wa_hasher;

/* As wa_sha256 / wa_sha256_hex / an HMAC with a 32-byte key, on reused state. */
WA_INTERNAL int wa_hasher_sha256(wa_hasher *h, const void *data, size_t len, unsigned char out[32]);
WA_INTERNAL int wa_hasher_sha256_hex(wa_hasher *h, const void *data, size_t len, char out[65]);
WA_INTERNAL int wa_hasher_hmac(wa_hasher *h, const unsigned char key[32], const void *data, size_t len,
                               unsigned char out[32]);
/* Frees the OpenSSL objects and wipes the key; h is an empty hasher again. */
WA_INTERNAL void wa_hasher_free(wa_hasher *h);

/* Overwrites len bytes in a way the compiler may not optimise out. */
WA_INTERNAL void wa_wipe(void *p, size_t len);

#endif
