/* The byte scanner both JSON readers share (json_text.c checks a caller's
 * text strictly, json_decode.c turns a server's text into Lua values): a
 * position in the text, RFC 8259 white space, \uXXXX digits and the number
 * grammar. The helpers live in json.c. */
#ifndef WA_JSON_SCAN_H
#define WA_JSON_SCAN_H

#include "internal.h"

typedef struct {
  const unsigned char *p, *end;
  const char *why; /* what the strict checker found wrong (the decoder only needs yes or no) */
} wa_json_reader;

static inline void wa_json_skip_ws(wa_json_reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

/* Four hex digits at r->p into *out, moving past them; 0 (r->p unmoved) when
 * there are not four. */
WA_INTERNAL int wa_json_hex4(wa_json_reader *r, unsigned *out);

/* Moves r->p past a number in RFC 8259's grammar (r->p at '-' or a digit);
 * 0 with r->why set when the bytes there are not one. */
WA_INTERNAL int wa_json_read_number(wa_json_reader *r);

#endif
