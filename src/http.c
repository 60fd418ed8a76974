#include "http.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  wa_http *h = (wa_http *)ud;
  size_t len = size * n;
  if (h->body.len + len > h->max_response) {
    h->too_large = 1;
    return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
  }
  return wa_buf_add(&h->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  wa_http *h = (wa_http *)ud;
  size_t len = size * n;
  /* A new status line starts a new answer (after a 100 Continue, say):
   * keep only the headers of the final one. */
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) wa_buf_clear(&h->headers);
  if (h->headers.len + len > 64 * 1024) return 0;
  return wa_buf_add(&h->headers, p, len) == 0 ? len : 0;
}

/* ---- sockets a fork can let go of ---- */

/* Bumped in the child of every fork() (pthread_atfork): a process knows it
 * is not the one that made its connections without a system call per send
 * (getpid() is one since glibc 2.25, and costs microseconds in a sandbox).
 * glibc drops the handler when this library is unloaded. */
static volatile unsigned long fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void) {
  fork_generation++;
}

static void register_atfork(void) {
  (void)pthread_atfork(NULL, NULL, on_fork_child);
}

void wa_sockets_init(wa_sockets *s) {
  (void)pthread_once(&atfork_once, register_atfork);
  s->generation = fork_generation;
}

int wa_sockets_forked(const wa_sockets *s) {
  return s->generation != fork_generation;
}

void wa_sockets_disown(wa_sockets *s) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  size_t i;
  for (i = 0; i < s->n; i++) {
    if (null >= 0 && dup2(null, s->fd[i]) >= 0) {
      (void)fcntl(s->fd[i], F_SETFD, FD_CLOEXEC);
    } else {
      /* no /dev/null: drop this process's reference; what libcurl then
       * writes to the number fails with EBADF, and it is not closed twice */
      (void)close(s->fd[i]);
      s->fd[i] = -1;
    }
  }
  if (null >= 0) (void)close(null);
  s->generation = fork_generation;
}

void wa_sockets_free(wa_sockets *s) {
  free(s->fd);
  s->fd = NULL;
  s->n = s->cap = 0;
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  wa_sockets *s = (wa_sockets *)ud;
  int fd;
  (void)purpose;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    int *grown = (int *)realloc(s->fd, cap * sizeof *grown);
    if (grown == NULL) return CURL_SOCKET_BAD;
    s->fd = grown;
    s->cap = cap;
  }
  /* close-on-exec: a credential_process or any child the host program
   * starts does not inherit the service's connections */
  fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if (fd < 0) return CURL_SOCKET_BAD;
  s->fd[s->n++] = fd;
  return fd;
}

static int close_socket(void *ud, curl_socket_t fd) {
  wa_sockets *s = (wa_sockets *)ud;
  size_t i;
  for (i = 0; i < s->n; i++) {
    if (s->fd[i] == fd) {
      s->fd[i] = s->fd[--s->n];
      return close(fd);
    }
  }
  /* closed already by wa_sockets_disown (where /dev/null could not be opened) */
  for (i = 0; i < s->n; i++) {
    if (s->fd[i] == -1) {
      s->fd[i] = s->fd[--s->n];
      return 0;
    }
  }
  return close(fd);
}

int wa_http_init(wa_http *h, const wa_http_config *cfg) {
  CURL *c;
  memset(h, 0, sizeof *h);
  c = curl_easy_init();
  if (c == NULL) return -1;
  h->easy = c;
  h->max_response = cfg->max_response ? cfg->max_response : WA_HTTP_MAX_RESPONSE;
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM: safe in threads */
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
  /* Peer verification is always on; there is deliberately no option to turn it off. */
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  /* libcurl mallocs its receive buffer (16 KiB by default) at the start of
   * every transfer and frees it at the end. With many transfers in flight
   * those buffers sit at the top of the heap, glibc gives the memory back
   * when they are freed together and the next ones fault it in again (one
   * page fault per message in a batch). The service's answers are a few
   * hundred bytes: a 1 KiB buffer stays in malloc's caches. */
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, WA_HTTP_RECV_BUFFER);
  h->connect_timeout_ms = h->applied_connect_ms = cfg->connect_timeout_ms;
  h->timeout_ms = h->applied_ms = cfg->timeout_ms;
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
  if (cfg->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
  if (cfg->user_agent) curl_easy_setopt(c, CURLOPT_USERAGENT, cfg->user_agent);
  h->ca_file = cfg->ca_file;
  h->user_agent = cfg->user_agent;
  h->sockets = cfg->sockets;
  if (cfg->sockets) {
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, (void *)cfg->sockets);
    curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, (void *)cfg->sockets);
  }
  return 0;
}

void wa_http_drop_handle(wa_http *h) {
  if (h->easy) curl_easy_cleanup(h->easy);
  h->easy = NULL;
  free(h->applied_url);
  h->applied_url = NULL;
}

int wa_http_reopen(wa_http *h) {
  wa_http_config cfg;
  unsigned long connects = h->connects;
  long version = h->http_version;
  cfg.connect_timeout_ms = h->connect_timeout_ms;
  cfg.timeout_ms = h->timeout_ms;
  cfg.ca_file = h->ca_file;
  cfg.user_agent = h->user_agent;
  cfg.max_response = h->max_response;
  cfg.sockets = h->sockets;
  wa_http_close(h);
  if (wa_http_init(h, &cfg) != 0) return -1;
  h->connects = connects;
  h->http_version = version;
  return 0;
}

void wa_http_close(wa_http *h) {
  wa_http_drop_handle(h);
  wa_buf_free(&h->body);
  wa_buf_free(&h->headers);
}

/* Whether the request started going out (libcurl's pretransfer time is set). */
static int request_went_out(wa_http *h) {
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(h->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  return pretransfer != 0;
}

static wa_http_result classify(wa_http *h, CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      /* Did the request go out? (CONNECT_TIME is 0 on a reused connection, so
       * it cannot tell.) Before: nothing was sent. After: it may have been. */
      return request_went_out(h) ? WA_HTTP_ETIMEOUT : WA_HTTP_ETIMEOUT_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return WA_HTTP_ECONNECT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      /* as for timeouts: once the request went out, it may have been acted on */
      return request_went_out(h) ? WA_HTTP_ELOST : WA_HTTP_ECONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
      return WA_HTTP_ETLS;
    case CURLE_WRITE_ERROR:
      if (h->too_large) {
        snprintf(h->errbuf, sizeof h->errbuf, "the answer is larger than %lu bytes",
                 (unsigned long)h->max_response);
        return WA_HTTP_ERESPONSE;
      }
      return WA_HTTP_EOTHER;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return WA_HTTP_ERESPONSE;
    default:
      return WA_HTTP_EOTHER;
  }
}

void wa_request_free(wa_request *r) {
  wa_wipe(r->lines.data, r->lines.cap); /* the Authorization and security token lines */
  wa_buf_free(&r->lines);
  wa_buf_free(&r->body);
  wa_buf_free(&r->nodes);
  r->list = NULL;
}

struct curl_slist *wa_http_list(wa_buf *nodes, const wa_buf *lines) {
  size_t n = 0, i = 0;
  struct curl_slist *list;
  while (i < lines->len) {
    n++;
    i += strlen(lines->data + i) + 1;
  }
  if (n == 0) return NULL;
  wa_buf_clear(nodes);
  if (n > ((size_t)-1 - 1) / sizeof *list || wa_buf_reserve(nodes, n * sizeof *list) != 0) return NULL;
  list = (struct curl_slist *)(void *)nodes->data; /* malloc'd memory: aligned for any type */
  nodes->len = n * sizeof *list;
  for (i = 0, n = 0; i < lines->len; n++) {
    list[n].data = lines->data + i;
    list[n].next = NULL;
    if (n > 0) list[n - 1].next = &list[n];
    i += strlen(lines->data + i) + 1;
  }
  return list;
}

/* What the method options hold, so the common case (POST after POST) sets nothing. */
enum { METHOD_NONE, METHOD_POST, METHOD_GET, METHOD_HEAD, METHOD_CUSTOM };

int wa_http_setup(wa_http *h, const char *method, const char *url, struct curl_slist *headers,
                  const char *body, size_t body_len, long limit_ms) {
  CURL *c = h->easy;
  long connect_ms = h->connect_timeout_ms, total_ms = h->timeout_ms;
  int m;

  if (limit_ms > 0 && limit_ms < connect_ms) connect_ms = limit_ms;
  if (limit_ms > 0 && limit_ms < total_ms) total_ms = limit_ms;
  if (connect_ms != h->applied_connect_ms) { /* set only when it changes: the common case costs nothing */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    h->applied_connect_ms = connect_ms;
  }
  if (total_ms != h->applied_ms) {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
    h->applied_ms = total_ms;
  }

  wa_buf_clear(&h->body);
  wa_buf_clear(&h->headers);
  h->status = 0;
  h->too_large = 0;
  h->errbuf[0] = '\0';
  /* libcurl parses a URL it is given: give it one only when it changes */
  if (h->applied_url == NULL || strcmp(h->applied_url, url) != 0) {
    char *copy = wa_strdup(url);
    if (copy == NULL) {
      strcpy(h->errbuf, "out of memory");
      return -1;
    }
    if (curl_easy_setopt(c, CURLOPT_URL, copy) != CURLE_OK) {
      free(copy);
      strcpy(h->errbuf, "out of memory");
      return -1;
    }
    free(h->applied_url);
    h->applied_url = copy;
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (body != NULL) {
    m = strcmp(method, "POST") == 0 ? METHOD_POST : METHOD_CUSTOM;
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    if (m != h->applied_method || m == METHOD_CUSTOM) {
      curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m == METHOD_POST ? NULL : method);
    }
  } else {
    m = strcmp(method, "GET") == 0 ? METHOD_GET : strcmp(method, "HEAD") == 0 ? METHOD_HEAD : METHOD_CUSTOM;
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_NOBODY, m == METHOD_HEAD ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m == METHOD_CUSTOM ? method : NULL);
  }
  h->applied_method = m;
  return 0;
}

wa_http_result wa_http_finish(wa_http *h, CURLcode rc) {
  long v = 0;
  curl_easy_getinfo(h->easy, CURLINFO_NUM_CONNECTS, &v);
  h->connects += (unsigned long)v;
  if (rc != CURLE_OK) {
    wa_http_result r = classify(h, rc);
    if (h->errbuf[0] == '\0') {
      strncpy(h->errbuf, curl_easy_strerror(rc), sizeof h->errbuf - 1);
      h->errbuf[sizeof h->errbuf - 1] = '\0';
    }
    return r;
  }
  curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
  v = 0;
  curl_easy_getinfo(h->easy, CURLINFO_HTTP_VERSION, &v);
  h->http_version = v == CURL_HTTP_VERSION_2_0 ? 20 : v == CURL_HTTP_VERSION_1_0 ? 10 : 11;
  if (wa_buf_terminate(&h->body) != 0) {
    strcpy(h->errbuf, "out of memory");
    return WA_HTTP_EOTHER;
  }
  return WA_HTTP_OK;
}

wa_http_result wa_http_perform(wa_http *h, const char *method, const char *url, struct curl_slist *headers,
                               const char *body, size_t body_len, long limit_ms) {
  wa_http_result r;
  if (wa_http_setup(h, method, url, headers, body, body_len, limit_ms) != 0) return WA_HTTP_EOTHER;
  r = wa_http_finish(h, curl_easy_perform(h->easy));
  curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, NULL); /* the caller's list may go now */
  curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, NULL);
  return r;
}

int wa_http_next_header(const wa_http *h, size_t *pos, const char **name, size_t *name_len,
                        const char **value, size_t *value_len) {
  const char *base = h->headers.data, *end, *p;
  if (base == NULL || *pos >= h->headers.len) return 0; /* none yet: NULL + 0 is undefined */
  end = base + h->headers.len;
  p = base + *pos;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end, *colon = memchr(p, ':', (size_t)(le - p));
    *pos = (size_t)((eol ? eol + 1 : end) - base);
    if (colon && colon > p && !(le - p >= 5 && memcmp(p, "HTTP/", 5) == 0)) {
      const char *v = colon + 1, *ve = le;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      *name = p;
      *name_len = (size_t)(colon - p);
      *value = v;
      *value_len = (size_t)(ve - v);
      return 1;
    }
    p = eol ? eol + 1 : end;
  }
  return 0;
}

long wa_http_header(const wa_http *h, const char *name, char *out, size_t out_size) {
  size_t pos = 0, nlen = strlen(name), n, vn;
  const char *k, *v;
  while (wa_http_next_header(h, &pos, &k, &n, &v, &vn)) {
    if (n == nlen && strncasecmp(k, name, nlen) == 0) {
      if (out_size > 0) {
        size_t m = vn < out_size - 1 ? vn : out_size - 1;
        memcpy(out, v, m);
        out[m] = '\0';
      }
      return (long)vn;
    }
  }
  return -1;
}

void wa_http_answer_headers(const wa_http *h, wa_http_answer *a) {
  static const struct {
    const char *name;
    size_t len, offset, size;
  } want[] = {
      {"x-amzn-RequestId", 16, offsetof(wa_http_answer, request_id), sizeof a->request_id},
      {"x-amzn-ErrorType", 16, offsetof(wa_http_answer, error_type), sizeof a->error_type},
      {"Date", 4, offsetof(wa_http_answer, date), sizeof a->date},
      {"x-amz-retry-after", 17, offsetof(wa_http_answer, retry_after), sizeof a->retry_after},
  };
  size_t pos = 0, n, vn, i;
  const char *k, *v;
  a->present = 0;
  while (wa_http_next_header(h, &pos, &k, &n, &v, &vn)) {
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
      /* the first of repeated headers wins, as wa_http_header has it */
      if (n == want[i].len && !(a->present & (1 << i)) && strncasecmp(k, want[i].name, n) == 0) {
        char *out = (char *)a + want[i].offset;
        size_t m = vn < want[i].size - 1 ? vn : want[i].size - 1;
        memcpy(out, v, m);
        out[m] = '\0';
        a->present |= 1 << i;
        break;
      }
    }
  }
}
