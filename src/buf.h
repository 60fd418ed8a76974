/* A growable byte buffer owned by whoever embeds it (a client userdata, a
 * scratch userdata). No Lua here: callers that may raise a Lua error keep the
 * buffer inside a userdata so that __gc frees it on every path. */
#ifndef WA_BUF_H
#define WA_BUF_H

#include <stddef.h>

#include "internal.h"

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} wa_buf;

#define WA_BUF_INIT {NULL, 0, 0}

/* Each returns 0 on success, -1 when memory ran out (the buffer is unchanged). */
WA_INTERNAL int wa_buf_reserve(wa_buf *b, size_t extra);
WA_INTERNAL int wa_buf_add(wa_buf *b, const void *p, size_t n);
WA_INTERNAL int wa_buf_addstr(wa_buf *b, const char *s);
WA_INTERNAL int wa_buf_addc(wa_buf *b, char c);
/* Appends a NUL after len without counting it, so data can be used as a C string. */
WA_INTERNAL int wa_buf_terminate(wa_buf *b);

static inline void wa_buf_clear(wa_buf *b) { b->len = 0; }
WA_INTERNAL void wa_buf_free(wa_buf *b);

#endif
