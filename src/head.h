/* The head of an HTTP/1.x answer (status line and header fields) as the
 * OpenResty transport reads it off a cosocket: core.parse_head(bytes). The
 * caller caps how much it reads (64 KiB) and how long; this only parses. */
#ifndef WA_HEAD_H
#define WA_HEAD_H

#include <stddef.h>

#include "compat.h"
#include "internal.h"

/* What wa_head_scan returns besides 1 (a whole head). */
enum { WA_HEAD_MORE = 0, WA_HEAD_BAD_STATUS = -1, WA_HEAD_BAD_FIELD = -2 };

typedef struct {
  int status;    /* 100..999 */
  int minor;     /* HTTP/1.<minor>: 0 or 1 */
  size_t length; /* bytes of the head, its blank line included */
  size_t fields; /* header fields (an obs-fold continues its field) */
} wa_head;

typedef struct {
  const char *name, *value; /* in the copy the scan writes (dst) */
  size_t name_len, value_len;
  size_t index; /* order of arrival: repeated fields are joined in it */
} wa_head_field;

/* Scans the head at the start of src[0..n): WA_HEAD_MORE when the blank line
 * ending it has not come yet and nothing before it is wrong (a prefix that
 * cannot start an answer is malformed at once), a WA_HEAD_BAD_* when it is
 * malformed, else 1 with h filled. With out (room for the h->fields of a
 * first scan) and dst (room for n bytes; call it with n = that h->length) it
 * also copies the head to dst and fills out with fields pointing into dst: names lower-cased, values
 * trimmed, each obs-fold turned into spaces (RFC 9112 5.2). */
WA_INTERNAL int wa_head_scan(const char *src, size_t n, wa_head *h, char *dst, wa_head_field *out);

/* core.parse_head(bytes) -> status, {lower-cased name = value}, length, minor
 *   | false (the head is not complete yet) | nil, "malformed ..."
 * Repeated fields are joined with ", " in arrival order. */
WA_INTERNAL int wa_l_parse_head(lua_State *L);

/* The common answer to a send, whole in the bytes read so far: one final 2xx
 * answer (not 204) with a Content-Length that ends exactly where the bytes
 * end (at most max), no Transfer-Encoding, no field repeated among
 * Content-Length, Connection and Date, no obs-fold, and a body that
 * wa_just_message_id takes. */
typedef struct {
  const char *id, *date; /* in src; date NULL when absent */
  size_t id_len, date_len;
  int keep; /* the connection may be reused (HTTP/1.1 without close, 1.0 with keep-alive) */
} wa_send_answer;

/* 1 with a filled, or 0: anything else (the general reader judges it). */
WA_INTERNAL int wa_send_answer_scan(const char *src, size_t n, size_t max, wa_send_answer *a);

/* core.send_answer(bytes, max) -> true, id, date | nil, keep | false */
WA_INTERNAL int wa_l_send_answer(lua_State *L);

#endif
