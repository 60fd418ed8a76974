/* The SendWhatsAppMessage request: the AWS body around a message already
 * encoded as JSON, its SigV4 signature and its header lines, built into a
 * wa_request that libcurl (http.c, multi.c) or a cosocket sends. No Lua: a
 * refusal fills a wa_failure that the binding turns into nil, kind,
 * message, field. */
#ifndef WA_REQUEST_H
#define WA_REQUEST_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "http.h"
#include "internal.h"
#include "json.h"
#include "sigv4.h"

/* A buffer grown past this size by a big message is given back when a much
 * smaller one uses it: one 2 MB message does not keep megabytes for the
 * client's life, and big messages one after the other reuse their buffers
 * (allocating them again costs page faults). */
#define WA_KEEP_BYTES (256u * 1024)

static inline void wa_trim(wa_buf *b, size_t used) {
  if (b->cap > WA_KEEP_BYTES && used < b->cap / 8) wa_buf_free(b);
}

/* What a client keeps from one send to the next: its signing state and
 * reused buffers. host and max_message_bytes are set by the client. */
typedef struct {
  const char *host; /* the Host header we sign and send (the client's copy) */
  size_t host_len;
  size_t max_message_bytes;
  sigv4_key_cache keys;
  sigv4_fixed fixed; /* the signed part of every send that never changes */
  int fixed_ok;      /* 0: region, service, host or path cannot be signed */
  sigv4_out sig;
  wa_json_scratch json;
  wa_buf text;    /* a caller's JSON text with messaging_product spliced in */
  time_t date_at; /* the second amz_date was formatted for */
  char amz_date[17];
} wa_sender;

/* The strings of a send besides the message, checked by Lua first (and
 * here again, for any other caller). */
typedef struct {
  const char *id, *ver, *akid, *secret, *token; /* token may be NULL */
  size_t id_len, ver_len, akid_len, secret_len, token_len;
  long offset; /* seconds added to the local clock when signing */
} wa_send_args;

/* A refusal: kind "invalid", the message, the field it names. */
typedef struct {
  const char *kind, *message, *field;
  char why[160]; /* message points here when it is formatted */
} wa_failure;

enum { WA_BUILD_OK = 0, WA_BUILD_FAILED = 1, WA_BUILD_OOM = -1 };

/* CR or LF would end a header line early; NUL would end our copy of it. */
WA_INTERNAL int wa_has_crlf(const char *s, size_t n);

/* Appends a, v[0..vlen) and a NUL (one header line of a list). 0 or -1. */
WA_INTERNAL int wa_add_line(wa_buf *b, const char *a, const char *v, size_t vlen);

/* Base64s the message msg[0..msg_len) (JSON text, in s->json.text or
 * s->text or the caller's string) into the AWS body and signs: r gets the
 * body, the header lines ("Expect:" last) and the list over them. Returns
 * WA_BUILD_OK, WA_BUILD_FAILED with *f set, or WA_BUILD_OOM. */
WA_INTERNAL int wa_request_build(wa_sender *s, const char *msg, size_t msg_len, const wa_send_args *a,
                                 wa_request *r, wa_failure *f);

/* Frees what the sender allocated (not host: the client's). */
WA_INTERNAL void wa_sender_free(wa_sender *s);

#endif
