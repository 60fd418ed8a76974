#include "multi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int make_multi(wa_batch *b) {
  b->multi = curl_multi_init();
  if (b->multi == NULL) return -1;
  /* HTTP/1.1: up to one connection a slot; HTTP/2: streams on one connection */
  curl_multi_setopt(b->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)b->n_slots);
  curl_multi_setopt(b->multi, CURLMOPT_MAXCONNECTS, (long)b->n_slots); /* keep them all between transfers */
  curl_multi_setopt(b->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  return 0;
}

int wa_batch_init(wa_batch *b, const wa_http_config *cfg, size_t n_slots) {
  memset(b, 0, sizeof *b);
  if (n_slots == 0 || n_slots > 100000) return -1;
  b->cfg = *cfg;
  b->ca_file = wa_strdup(cfg->ca_file);
  b->user_agent = wa_strdup(cfg->user_agent);
  if ((cfg->ca_file && !b->ca_file) || (cfg->user_agent && !b->user_agent)) return -1;
  b->cfg.ca_file = b->ca_file;
  b->cfg.user_agent = b->user_agent;
  b->slots = calloc(n_slots, sizeof *b->slots);
  b->done = calloc(n_slots, sizeof *b->done);
  if (b->slots == NULL || b->done == NULL) return -1;
  b->n_slots = n_slots;
  wa_sockets_init(&b->socks);
  b->cfg.sockets = &b->socks;
  return make_multi(b);
}

int wa_batch_reopen(wa_batch *b) {
  size_t i;
  wa_sockets_disown(&b->socks);
  /* a transfer the fork cut in two is finished here, lost (the process
   * driving it must hear of every one it started); finished ones stay queued */
  for (i = 0; i < b->n_slots; i++) {
    wa_slot *s = &b->slots[i];
    if (s->state != WA_SLOT_RUNNING) continue;
    if (s->added) curl_multi_remove_handle(b->multi, s->http.easy);
    s->added = 0;
    s->state = WA_SLOT_DONE;
    s->result = WA_HTTP_ELOST;
    snprintf(s->http.errbuf, sizeof s->http.errbuf,
             "the process forked while the request was in flight; it may have been delivered");
    b->done[(b->done_head + b->done_count) % b->n_slots] = i;
    b->done_count++;
  }
  b->running = 0;
  /* the handles go (made again on first use); a finished answer not read yet stays */
  for (i = 0; i < b->n_slots; i++) wa_http_drop_handle(&b->slots[i].http);
  curl_multi_cleanup(b->multi);
  b->multi = NULL;
  return make_multi(b);
}

int wa_batch_slot_ready(wa_batch *b, size_t i) {
  wa_slot *s = &b->slots[i];
  if (s->http.easy != NULL) return 0;
  wa_http_close(&s->http); /* an answer kept by wa_batch_reopen, read by now */
  if (wa_http_init(&s->http, &b->cfg) != 0) return -1;
  curl_easy_setopt(s->http.easy, CURLOPT_PRIVATE, (void *)s);
  return 0;
}

int wa_batch_start(wa_batch *b, size_t i, const char *url, long limit_ms) {
  wa_slot *s = &b->slots[i];
  if (s->state != WA_SLOT_IDLE || s->http.easy == NULL) {
    strcpy(b->errbuf, "slot not ready");
    return -1;
  }
  /* Over TLS, wait for a connection being made to say whether it speaks
   * HTTP/2 (then this transfer is one more stream on it) instead of opening
   * one more; plain http is HTTP/1.1 here, where waiting would serialize. */
  {
    int tls = strncmp(url, "https:", 6) == 0 || strncmp(url, "HTTPS:", 6) == 0;
    if (tls != s->pipewait) {
      curl_easy_setopt(s->http.easy, CURLOPT_PIPEWAIT, tls ? 1L : 0L);
      s->pipewait = tls;
    }
  }
  if (wa_http_setup(&s->http, "POST", url, s->req.list, s->req.body.data, s->req.body.len, limit_ms) != 0) {
    strcpy(b->errbuf, "out of memory");
    return -1;
  }
  if (curl_multi_add_handle(b->multi, s->http.easy) != CURLM_OK) {
    strcpy(b->errbuf, "libcurl refused the transfer");
    return -1;
  }
  s->added = 1;
  s->state = WA_SLOT_RUNNING;
  b->running++;
  return 0;
}

/* Moves what libcurl finished to the done queue. */
static void collect(wa_batch *b) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(b->multi, &left)) != NULL) {
    wa_slot *s;
    char *p = NULL;
    size_t i;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
    s = (wa_slot *)(void *)p;
    if (s == NULL || s->state != WA_SLOT_RUNNING) continue;
    i = (size_t)(s - b->slots);
    s->result = wa_http_finish(&s->http, msg->data.result);
    curl_multi_remove_handle(b->multi, s->http.easy);
    s->added = 0;
    s->state = WA_SLOT_DONE;
    b->running--;
    b->done[(b->done_head + b->done_count) % b->n_slots] = i;
    b->done_count++;
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

long wa_batch_run(wa_batch *b, long timeout_ms) {
  int still;
  double until = timeout_ms > 0 ? now_ms() + (double)timeout_ms : 0;
  for (;;) {
    if (curl_multi_perform(b->multi, &still) != CURLM_OK) {
      strcpy(b->errbuf, "curl_multi_perform failed");
      return -1;
    }
    collect(b);
    if (b->done_count > 0 || b->running == 0 || timeout_ms <= 0) break;
    {
      double left = until - now_ms();
      if (left <= 0) break;
      if (curl_multi_poll(b->multi, NULL, 0, (int)(left < 1 ? 1 : left), NULL) != CURLM_OK) {
        strcpy(b->errbuf, "curl_multi_poll failed");
        return -1;
      }
    }
  }
  return (long)b->done_count;
}

int wa_batch_next(wa_batch *b, size_t *i) {
  if (b->done_count == 0) return 0;
  *i = b->done[b->done_head];
  b->done_head = (b->done_head + 1) % b->n_slots;
  b->done_count--;
  b->slots[*i].state = WA_SLOT_IDLE;
  return 1;
}

void wa_batch_abort(wa_batch *b) {
  size_t i;
  for (i = 0; i < b->n_slots; i++) {
    wa_slot *s = &b->slots[i];
    if (s->added) curl_multi_remove_handle(b->multi, s->http.easy);
    s->added = 0;
    s->state = WA_SLOT_IDLE;
  }
  b->running = 0;
  b->done_head = b->done_count = 0;
}

unsigned long wa_batch_connects(const wa_batch *b) {
  unsigned long n = 0;
  size_t i;
  for (i = 0; i < b->n_slots; i++) n += b->slots[i].http.connects;
  return n;
}

void wa_batch_free(wa_batch *b) {
  size_t i;
  if (wa_sockets_forked(&b->socks)) wa_sockets_disown(&b->socks); /* see wa_sockets_disown */
  if (b->slots != NULL) {
    if (b->multi != NULL) wa_batch_abort(b);
    for (i = 0; i < b->n_slots; i++) {
      wa_http_close(&b->slots[i].http);
      wa_request_free(&b->slots[i].req);
    }
  }
  if (b->multi != NULL) curl_multi_cleanup(b->multi);
  free(b->slots);
  free(b->done);
  free(b->ca_file);
  free(b->user_agent);
  wa_sockets_free(&b->socks); /* after the multi handle: closing its connections uses it */
  memset(b, 0, sizeof *b);
}
