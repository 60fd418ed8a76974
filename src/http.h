/* libcurl transport: one easy handle per client, reused so the connection and
 * the TLS session stay alive between sends. No Lua here. */
#ifndef WA_HTTP_H
#define WA_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#include "buf.h"
#include "internal.h"

#define WA_HTTP_MAX_RESPONSE (4u << 20) /* default cap: this API answers with a few hundred bytes */

/* The sockets of a handle's connections (of a client, or of all a batch's
 * handles), tracked so that a process made by fork() can let go of them
 * without a byte on them: both processes would otherwise share one
 * connection and read each other's answers. */
typedef struct {
  int *fd;
  size_t n, cap;
  unsigned long generation; /* forks counted when the sockets became this process's */
} wa_sockets;

/* Starts tracking in this process (before any socket is opened). */
WA_INTERNAL void wa_sockets_init(wa_sockets *s);

/* 1 when this is not the process the sockets belong to (a fork() happened). */
WA_INTERNAL int wa_sockets_forked(const wa_sockets *s);

/* In a forked process: every tracked descriptor now refers to /dev/null, so
 * that closing the connections (TLS close_notify, HTTP/2 GOAWAY) writes
 * nothing to the sockets the parent still uses; the sockets are this
 * process's from now on. Then close the handles and make new ones. */
WA_INTERNAL void wa_sockets_disown(wa_sockets *s);

WA_INTERNAL void wa_sockets_free(wa_sockets *s);

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
  char *applied_url;   /* a copy of the URL libcurl holds now (set again only when it changes) */
  int applied_method;  /* what the method options say now (see http.c) */
  unsigned long connects; /* connections this handle opened */
  const char *ca_file, *user_agent; /* the settings, owned by whoever owns this (for wa_http_reopen) */
  wa_sockets *sockets;              /* where its sockets are tracked, or NULL */
  char errbuf[CURL_ERROR_SIZE];
} wa_http;

typedef enum {
  WA_HTTP_OK = 0,       /* an answer arrived (any status) */
  WA_HTTP_ECONNECT,     /* could not connect, connection dropped, DNS failed */
  WA_HTTP_ETIMEOUT_CONNECT, /* a time limit hit before the request went out */
  WA_HTTP_ETIMEOUT,     /* a time limit hit after the request went out */
  WA_HTTP_ELOST,        /* the connection failed after the request went out */
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
  wa_sockets *sockets;  /* NULL: sockets not tracked; else opened and closed through it */
} wa_http_config;

/* 0 on success; -1 when libcurl could not make a handle. */
#define WA_HTTP_RECV_BUFFER 1024L /* CURLOPT_BUFFERSIZE: libcurl's smallest (see wa_http_init) */
WA_INTERNAL int wa_http_init(wa_http *h, const wa_http_config *cfg);
WA_INTERNAL void wa_http_close(wa_http *h);

/* Closes the handle (and so its connections) but keeps the last answer
 * (status, body, headers, errbuf) for whoever still reads it; wa_http_close
 * frees the rest. */
WA_INTERNAL void wa_http_drop_handle(wa_http *h);

/* Closes the handle (and so its connections) and makes a new one with the
 * same settings; the counters stay. 0, or -1 when libcurl could not make
 * one (then h has no handle: wa_http_close still applies). */
WA_INTERNAL int wa_http_reopen(wa_http *h);

/* One request ready to go: its body, its header lines (NUL-separated) and
 * the header list linked over them. Reused request after request. */
typedef struct {
  wa_buf body;
  wa_buf lines;
  wa_buf nodes;
  struct curl_slist *list;
} wa_request;

WA_INTERNAL void wa_request_free(wa_request *r);

/* Links the NUL-separated "Name: value" lines of `lines` into a header list
 * whose nodes live in `nodes` (no allocation per line; libcurl only reads the
 * list). Both buffers must stay unchanged until the transfer is over.
 * Returns the list, or NULL when memory ran out (or there is no line). */
WA_INTERNAL struct curl_slist *wa_http_list(wa_buf *nodes, const wa_buf *lines);

/* Sets the handle up for one request without running it (the caller runs it
 * with curl_easy_perform or a multi handle, then calls wa_http_finish).
 * headers: a list that outlives the transfer. body may be NULL for no body;
 * it is not copied. limit_ms > 0 caps both time limits for this request (what
 * is left of a caller's deadline); 0 keeps the configured ones. Returns 0, or
 * -1 with h->errbuf set. */
WA_INTERNAL int wa_http_setup(wa_http *h, const char *method, const char *url, struct curl_slist *headers,
                              const char *body, size_t body_len, long limit_ms);

/* Reads the outcome of the transfer set up by wa_http_setup: on WA_HTTP_OK,
 * h->status, h->body and h->headers hold the answer; otherwise h->errbuf
 * says why. */
WA_INTERNAL wa_http_result wa_http_finish(wa_http *h, CURLcode rc);

/* wa_http_setup, curl_easy_perform, wa_http_finish. */
WA_INTERNAL wa_http_result wa_http_perform(wa_http *h, const char *method, const char *url,
                                           struct curl_slist *headers, const char *body, size_t body_len,
                                           long limit_ms);

/* The answer headers a send looks at, from one walk over h->headers; each is
 * copied NUL-terminated (cut to its size); `present` has bit 1 << WA_ANSWER_x
 * set for each one found. */
enum { WA_ANSWER_REQUEST_ID, WA_ANSWER_ERROR_TYPE, WA_ANSWER_DATE, WA_ANSWER_RETRY_AFTER };
typedef struct {
  int present;
  char request_id[128], error_type[256], date[64], retry_after[32];
} wa_http_answer;
WA_INTERNAL void wa_http_answer_headers(const wa_http *h, wa_http_answer *a);

/* Walks the response headers: start with *pos = 0; each call sets name and
 * value (trimmed, not NUL-terminated) and returns 1, or 0 at the end. */
WA_INTERNAL int wa_http_next_header(const wa_http *h, size_t *pos, const char **name,
                                    size_t *name_len, const char **value, size_t *value_len);

/* Finds a response header (case-insensitive name); its value, trimmed, is
 * copied into out (NUL-terminated, cut to out_size - 1). Returns the full
 * length of the value, or -1 when absent. */
WA_INTERNAL long wa_http_header(const wa_http *h, const char *name, char *out, size_t out_size);

#endif
