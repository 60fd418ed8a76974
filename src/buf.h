/* A growable byte buffer owned by whoever embeds it (a client userdata, a
 * scratch userdata), and a C string copy. No Lua here: callers that may raise a Lua error keep the
 * buffer inside a userdata so that __gc frees it on every path. */
#ifndef WA_BUF_H
#define WA_BUF_H

#include <stddef.h>
#include <string.h>

#include "internal.h"

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} wa_buf;

#define WA_BUF_INIT {NULL, 0, 0}

/* Each returns 0 on success, -1 when memory ran out (the buffer is unchanged). */
WA_INTERNAL int wa_buf_grow(wa_buf *b, size_t extra); /* the slow path of wa_buf_reserve */

/* Room for extra more bytes and a NUL. The common case (room enough) is inline. */
static inline int wa_buf_reserve(wa_buf *b, size_t extra) {
  if (extra < b->cap - b->len) return 0; /* len + extra + 1 <= cap, without overflow */
  return wa_buf_grow(b, extra);
}

static inline int wa_buf_add(wa_buf *b, const void *p, size_t n) {
  if (n == 0) return 0;
  if (wa_buf_reserve(b, n) != 0) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static inline int wa_buf_addstr(wa_buf *b, const char *s) { return wa_buf_add(b, s, strlen(s)); }

static inline int wa_buf_addc(wa_buf *b, char c) {
  if (wa_buf_reserve(b, 1) != 0) return -1;
  b->data[b->len++] = c;
  return 0;
}
/* Appends a NUL after len without counting it, so data can be used as a C string. */
WA_INTERNAL int wa_buf_terminate(wa_buf *b);

static inline void wa_buf_clear(wa_buf *b) { b->len = 0; }
WA_INTERNAL void wa_buf_free(wa_buf *b);

/* A malloc'd copy of the C string s (NULL for NULL, or when memory ran out). */
WA_INTERNAL char *wa_strdup(const char *s);

#endif
