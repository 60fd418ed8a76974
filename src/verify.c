/* Verifying what others signed (inbound SNS notifications, Meta webhooks):
 * a public key from a PEM certificate, RSA PKCS#1 v1.5 verification with
 * SHA-1 or SHA-256, strict base64 decoding and a constant-time compare.
 * Bytes only: which certificate, which URL, which clock is policy, in Lua
 * (lua/whatsapp/inbound/).
 *
 *   core.x509_pubkey(pem) -> key, { not_before =, not_after =, bits = } | nil, kind, message
 *     kind: "pem" (not one PEM certificate), "key" (not RSA, or unreadable)
 *   key:verify("sha1" | "sha256", data, signature) -> true | false, "mismatch" | "disabled"
 *     (core.rsa_verify(key, ...) is the same call)
 *   core.base64_decode(s) -> bytes | nil (standard alphabet, padded, no whitespace,
 *     unused bits zero: one text for one value)
 *   core.equal(a, b) -> boolean, in time that depends only on the lengths
 *
 * The EVP_PKEY lives in a userdata whose __gc frees it; the certificate and
 * the BIO are freed before any Lua call that may raise. */
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "compat.h"
#include "lua_util.h"
#include "verify.h"

#define PKEY_MT "whatsapp.core.PublicKey"
#define MAX_PEM (64 * 1024)

typedef struct {
  EVP_PKEY *pkey;
} pubkey;

static int pubkey_gc(lua_State *L) {
  pubkey *k = (pubkey *)luaL_checkudata(L, 1, PKEY_MT);
  if (k->pkey) EVP_PKEY_free(k->pkey);
  k->pkey = NULL;
  return 0;
}

static int pubkey_tostring(lua_State *L) {
  luaL_checkudata(L, 1, PKEY_MT);
  lua_pushliteral(L, "whatsapp.core.PublicKey");
  return 1;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm): no
 * timegm (not POSIX), no TZ dependence. */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
  long long era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

static int asn1_epoch(const ASN1_TIME *t, long long *out) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  *out = days_from_civil((long long)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) * 86400LL +
         tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec;
  return 1;
}

/* core.x509_pubkey(pem) */
static int l_x509_pubkey(lua_State *L) {
  size_t n;
  const char *pem = luaL_checklstring(L, 1, &n);
  pubkey *k;
  BIO *bio;
  X509 *x;
  EVP_PKEY *pkey;
  long long nb = 0, na = 0;
  int bits, times_ok;
  if (n == 0 || n > MAX_PEM) return wa_push_failure(L, "pem", "not a PEM certificate (empty or too large)", NULL);
  k = (pubkey *)lua_newuserdata(L, sizeof *k); /* before anything to free: it may raise */
  k->pkey = NULL;
  wa_setmetatable(L, PKEY_MT);
  bio = BIO_new_mem_buf(pem, (int)n);
  if (bio == NULL) return luaL_error(L, "not enough memory");
  x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  BIO_free(bio);
  if (x == NULL) {
    ERR_clear_error();
    return wa_push_failure(L, "pem", "not a PEM certificate", NULL);
  }
  times_ok = asn1_epoch(X509_get0_notBefore(x), &nb) && asn1_epoch(X509_get0_notAfter(x), &na);
  pkey = X509_get_pubkey(x); /* a new reference */
  X509_free(x);
  ERR_clear_error();
  if (!times_ok) {
    EVP_PKEY_free(pkey);
    return wa_push_failure(L, "pem", "the certificate's validity dates cannot be read", NULL);
  }
  if (pkey == NULL) return wa_push_failure(L, "key", "the certificate's public key cannot be read", NULL);
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    EVP_PKEY_free(pkey);
    return wa_push_failure(L, "key", "the certificate's key is not RSA", NULL);
  }
  bits = EVP_PKEY_get_bits(pkey);
  k->pkey = pkey; /* owned by the userdata from here on */
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, (lua_Number)nb); /* exact: below 2^53 */
  lua_setfield(L, -2, "not_before");
  lua_pushnumber(L, (lua_Number)na);
  lua_setfield(L, -2, "not_after");
  lua_pushinteger(L, bits);
  lua_setfield(L, -2, "bits");
  return 2;
}

/* key:verify(alg, data, signature) */
static int l_rsa_verify(lua_State *L) {
  pubkey *k = (pubkey *)luaL_checkudata(L, 1, PKEY_MT);
  const char *alg = luaL_checkstring(L, 2);
  size_t dn, sn;
  const char *data = luaL_checklstring(L, 3, &dn);
  const char *sig = luaL_checklstring(L, 4, &sn);
  const EVP_MD *md;
  EVP_MD_CTX *ctx;
  int rc;
  if (strcmp(alg, "sha1") == 0) md = EVP_sha1();
  else if (strcmp(alg, "sha256") == 0) md = EVP_sha256();
  else return luaL_argerror(L, 2, "\"sha1\" or \"sha256\"");
  if (k->pkey == NULL) return luaL_error(L, "verify: the key is freed");
  ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return luaL_error(L, "not enough memory");
  if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pkey) != 1) {
    /* the algorithm is refused here (a crypto policy without SHA-1) */
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "disabled");
    return 2;
  }
  rc = EVP_DigestVerify(ctx, (const unsigned char *)sig, sn, (const unsigned char *)data, dn);
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  if (rc == 1) { /* only exactly 1 is a valid signature */
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_pushliteral(L, "mismatch");
  return 2;
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

size_t wa_base64_decode_strict(const char *in, size_t n, unsigned char *out) {
  const unsigned char *s = (const unsigned char *)in;
  size_t i, o = 0, pad = 0;
  if (n % 4 != 0) return (size_t)-1;
  if (n >= 1 && s[n - 1] == '=') pad++;
  if (n >= 2 && s[n - 2] == '=') pad++;
  for (i = 0; i < n; i += 4) {
    int v[4], j, last = i + 4 == n;
    for (j = 0; j < 4; j++) {
      if (last && j >= 4 - (int)pad) {
        v[j] = 0;
        continue;
      }
      v[j] = b64_value(s[i + (size_t)j]);
      if (v[j] < 0) return (size_t)-1;
    }
    out[o++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
    if (last && pad == 2) {
      if (v[1] & 0x0f) return (size_t)-1; /* unused bits must be zero */
      break;
    }
    out[o++] = (unsigned char)(((v[1] & 0x0f) << 4) | (v[2] >> 2));
    if (last && pad == 1) {
      if (v[2] & 0x03) return (size_t)-1;
      break;
    }
    out[o++] = (unsigned char)(((v[2] & 0x03) << 6) | v[3]);
  }
  return o;
}

/* core.base64_decode(s) */
static int l_base64_decode(lua_State *L) {
  size_t n, m;
  const char *s = luaL_checklstring(L, 1, &n);
  unsigned char *p = (unsigned char *)lua_newuserdata(L, n / 4 * 3 + 1); /* GC-owned scratch */
  m = wa_base64_decode_strict(s, n, p);
  if (m == (size_t)-1) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, (const char *)p, m);
  return 1;
}

/* core.equal(a, b) */
static int l_equal(lua_State *L) {
  size_t an, bn;
  const char *a = luaL_checklstring(L, 1, &an);
  const char *b = luaL_checklstring(L, 2, &bn);
  lua_pushboolean(L, an == bn && CRYPTO_memcmp(a, b, an) == 0);
  return 1;
}

static const luaL_Reg functions[] = {{"x509_pubkey", l_x509_pubkey},
                                     {"rsa_verify", l_rsa_verify},
                                     {"base64_decode", l_base64_decode},
                                     {"equal", l_equal},
                                     {NULL, NULL}};

static const luaL_Reg methods[] = {{"verify", l_rsa_verify}, {NULL, NULL}};

void wa_verify_open(lua_State *L) {
  wa_open_class(L, PKEY_MT, pubkey_gc, NULL, pubkey_tostring, methods);
  wa_setfuncs(L, functions); /* into the module table on top */
}
