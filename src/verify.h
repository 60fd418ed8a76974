/* Verifying what others signed: RSA from a PEM certificate, strict base64,
 * constant-time compare (verify.c). */
#ifndef WA_VERIFY_H
#define WA_VERIFY_H

#include <stddef.h>

#include "compat.h"
#include "internal.h"

/* Registers the PublicKey metatable and adds x509_pubkey, rsa_verify,
 * base64_decode and equal to the module table on top of the stack. */
WA_INTERNAL void wa_verify_open(lua_State *L);

/* Standard base64, padded, no whitespace, unused bits zero: the number of
 * bytes written to out (which holds n / 4 * 3), or (size_t)-1. */
WA_INTERNAL size_t wa_base64_decode_strict(const char *in, size_t n, unsigned char *out);

#endif
