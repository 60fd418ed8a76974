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

/* Overwrites len bytes in a way the compiler may not optimise out. */
WA_INTERNAL void wa_wipe(void *p, size_t len);

#endif
