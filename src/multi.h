/* Batches: many signed requests in flight on one libcurl multi handle (HTTP/2
 * streams on one connection when the endpoint offers it, else a pool of
 * keep-alive connections). Bytes only: no Lua, no policy. The caller (the
 * Lua binding in lua_batch.c) builds each request into a slot, starts it, runs
 * the multi handle and reads what completed; retries, pacing and ordering
 * are Lua's. A wa_batch lives inside a userdata whose __gc calls
 * wa_batch_free, so nothing leaks whatever happens in Lua meanwhile. */
#ifndef WA_MULTI_H
#define WA_MULTI_H

#include <curl/curl.h>
#include <stddef.h>

#include "buf.h"
#include "http.h"
#include "internal.h"

enum { WA_SLOT_IDLE, WA_SLOT_RUNNING, WA_SLOT_DONE };

typedef struct {
  wa_http http;      /* the slot's easy handle and the answer it got */
  wa_request req;    /* the request it sends */
  int state;
  int added;         /* in the multi handle now */
  int pipewait;      /* CURLOPT_PIPEWAIT as set */
  wa_http_result result; /* once done */
} wa_slot;

typedef struct {
  CURLM *multi;
  wa_slot *slots;
  size_t n_slots;
  size_t *done;      /* FIFO of finished slot indices */
  size_t done_head, done_count;
  size_t running;
  wa_http_config cfg; /* for the easy handles made on first use of a slot */
  char *ca_file, *user_agent; /* owned copies behind cfg */
  wa_sockets socks;  /* the sockets of every slot's connections (cfg.sockets) */
  char errbuf[128];
} wa_batch;

/* 0, or -1 when memory or libcurl failed (then wa_batch_free still applies). */
WA_INTERNAL int wa_batch_init(wa_batch *b, const wa_http_config *cfg, size_t n_slots);

/* Makes the easy handle of slot i if it has none. 0 or -1. */
WA_INTERNAL int wa_batch_slot_ready(wa_batch *b, size_t i);

/* Starts slot i, whose req is built: POST it to url. limit_ms as in
 * wa_http_setup. 0, or -1 with b->errbuf set. */
WA_INTERNAL int wa_batch_start(wa_batch *b, size_t i, const char *url, long limit_ms);

/* Drives the transfers until at least one has finished or timeout_ms passed
 * (0: only what can be done without waiting). Returns how many finished
 * transfers wait to be read, or -1 with b->errbuf set. */
WA_INTERNAL long wa_batch_run(wa_batch *b, long timeout_ms);

/* The oldest finished slot, now idle again (its http holds the answer until
 * it is started again): 1 with *i set, or 0 when none is waiting. */
WA_INTERNAL int wa_batch_next(wa_batch *b, size_t *i);

/* Stops every transfer and forgets finished ones: every slot is idle. */
WA_INTERNAL void wa_batch_abort(wa_batch *b);

/* In a process made by fork() after the batch: lets go of the parent's
 * connections (wa_sockets_disown); a transfer in flight is finished as
 * WA_HTTP_ELOST (queued for wa_batch_next); then starts again with no
 * connection. 0, or -1 when libcurl failed (wa_batch_free still applies). */
WA_INTERNAL int wa_batch_reopen(wa_batch *b);

/* Connections opened by all slots so far. */
WA_INTERNAL unsigned long wa_batch_connects(const wa_batch *b);

WA_INTERNAL void wa_batch_free(wa_batch *b);

#endif
