/* libcurl transport: one easy handle per client, reused so the connection and
 * the TLS session stay alive between sends. No Lua here. */
#ifndef WA_HTTP_H
#define WA_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#include "buf.h"
#include "internal.h"

#define WA_HTTP_MAX_RESPONSE (4u << 20) /* default cap: this API answers with a few hundred bytes */

typedef struct {
  CURL *easy;
  wa_buf body;    /* response body */
  wa_buf headers; /* response header lines of the final answer, as received */
  long status;
  long http_version;   /* of the last answer: 10, 11, 20 */
  size_t max_response;
  int too_large;
  long connect_timeout_ms, timeout_ms; /* the configured limits */
  long applied_connect_ms, applied_ms; /* the limits libcurl holds now */
  char errbuf[CURL_ERROR_SIZE];
} wa_http;

typedef enum {
  WA_HTTP_OK = 0,       /* an answer arrived (any status) */
  WA_HTTP_ECONNECT,     /* could not connect, connection dropped, DNS failed */
  WA_HTTP_ETIMEOUT_CONNECT, /* a time limit hit before the request went out */
  WA_HTTP_ETIMEOUT,     /* a time limit hit after the request went out */
  WA_HTTP_ETLS,         /* handshake or certificate verification failed */
  WA_HTTP_ERESPONSE,    /* the answer was malformed or too large */
  WA_HTTP_EOTHER
} wa_http_result;

typedef struct {
  long connect_timeout_ms;
  long timeout_ms;
  const char *ca_file;  /* NULL: the system store */
  const char *user_agent;
  size_t max_response;  /* 0: WA_HTTP_MAX_RESPONSE */
} wa_http_config;

/* 0 on success; -1 when libcurl could not make a handle. */
WA_INTERNAL int wa_http_init(wa_http *h, const wa_http_config *cfg);
WA_INTERNAL void wa_http_close(wa_http *h);

/* Sends one request. header_lines are complete "Name: value" lines. body may
 * be NULL for no body. limit_ms > 0 caps both time limits for this request
 * (what is left of a caller's deadline); 0 keeps the configured ones. On
 * WA_HTTP_OK, h->status, h->body and h->headers hold the answer; otherwise
 * h->errbuf says why. */
WA_INTERNAL wa_http_result wa_http_perform(wa_http *h, const char *method, const char *url,
                                           const char *const *header_lines, size_t n_lines,
                                           const char *body, size_t body_len, long limit_ms);

/* Walks the response headers: start with *pos = 0; each call sets name and
 * value (trimmed, not NUL-terminated) and returns 1, or 0 at the end. */
WA_INTERNAL int wa_http_next_header(const wa_http *h, size_t *pos, const char **name,
                                    size_t *name_len, const char **value, size_t *value_len);

/* Finds a response header (case-insensitive name); its value, trimmed, is
 * copied into out (NUL-terminated, cut to out_size - 1). Returns the full
 * length of the value, or -1 when absent. */
WA_INTERNAL long wa_http_header(const wa_http *h, const char *name, char *out, size_t out_size);

#endif
