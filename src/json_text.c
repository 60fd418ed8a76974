/* Checking a caller's JSON text (wa_json_normalize_text): strict RFC 8259
 * syntax and UTF-8, an object at the top, and the default messaging_product
 * spliced in when the object has none. */
#include "json.h"

#include <stdio.h>
#include <string.h>

#include "json_scan.h"

/* A strict RFC 8259 reader that only checks: cJSON accepts things Meta would
 * not (raw control characters in strings, "01", "1."), and a message is
 * checked before it leaves the machine. UTF-8 is checked separately. */

static int read_string(wa_json_reader *r) {
  r->p++; /* the opening quote */
  while (r->p < r->end) {
    unsigned c = *r->p++;
    if (c == '"') return 1;
    if (c < 0x20) return r->why = "a control character must be escaped inside a string", 0;
    if (c == '\\') {
      unsigned u, lo;
      if (r->p >= r->end) break;
      c = *r->p++;
      if (c == 'u') {
        if (!wa_json_hex4(r, &u)) return r->why = "bad \\u escape", 0;
        if (u == 0) return r->why = "\\u0000 (NUL) is not allowed", 0;
        if (u >= 0xDC00 && u <= 0xDFFF) return r->why = "lone UTF-16 surrogate in a \\u escape", 0;
        if (u >= 0xD800 && u <= 0xDBFF) {
          if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') return r->why = "lone UTF-16 surrogate in a \\u escape", 0;
          r->p += 2;
          if (!wa_json_hex4(r, &lo) || lo < 0xDC00 || lo > 0xDFFF) return r->why = "lone UTF-16 surrogate in a \\u escape", 0;
        }
      } else if (!strchr("\"\\/bfnrt", (int)c) || c == 0) {
        return r->why = "bad escape in a string", 0;
      }
    }
  }
  return r->why = "unterminated string", 0;
}

static int read_value(wa_json_reader *r, int depth) {
  wa_json_skip_ws(r);
  if (r->p >= r->end) return r->why = "unexpected end", 0;
  switch (*r->p) {
    case '"': return read_string(r);
    case '{':
    case '[': {
      unsigned char close = *r->p == '{' ? '}' : ']';
      if (depth >= WA_JSON_MAX_DEPTH) return r->why = "nesting deeper than 64 levels", 0;
      r->p++;
      wa_json_skip_ws(r);
      if (r->p < r->end && *r->p == close) return r->p++, 1;
      for (;;) {
        if (close == '}') {
          wa_json_skip_ws(r);
          if (r->p >= r->end || *r->p != '"') return r->why = "expected a string key", 0;
          if (!read_string(r)) return 0;
          wa_json_skip_ws(r);
          if (r->p >= r->end || *r->p != ':') return r->why = "expected ':'", 0;
          r->p++;
        }
        if (!read_value(r, depth + 1)) return 0;
        wa_json_skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
          r->p++;
          continue;
        }
        if (r->p < r->end && *r->p == close) return r->p++, 1;
        return r->why = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'", 0;
      }
    }
    case 't':
      if (r->end - r->p >= 4 && memcmp(r->p, "true", 4) == 0) return r->p += 4, 1;
      break;
    case 'f':
      if (r->end - r->p >= 5 && memcmp(r->p, "false", 5) == 0) return r->p += 5, 1;
      break;
    case 'n':
      if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0) return r->p += 4, 1;
      break;
    default:
      if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) return wa_json_read_number(r);
  }
  return r->why = "unexpected character", 0;
}

int wa_json_normalize_text(const char *s, size_t len, wa_json_box *box, const char *default_product,
                           wa_buf *out, wa_json_error *err) {
  wa_json_reader r;
  const unsigned char *open;
  err->message[0] = '\0';
  wa_buf_clear(&err->field);
  wa_buf_terminate(&err->field);
  wa_json_box_clear(box);
  wa_buf_clear(out);
  if (!wa_utf8_valid(s, len)) {
    snprintf(err->message, sizeof err->message, "JSON text is not valid UTF-8");
    return -1;
  }
  r.p = (const unsigned char *)s;
  r.end = r.p + len;
  r.why = NULL;
  wa_json_skip_ws(&r);
  open = r.p;
  if (r.p >= r.end || *r.p != '{') {
    snprintf(err->message, sizeof err->message, "must be a JSON object");
    return -1;
  }
  if (!read_value(&r, 0)) {
    snprintf(err->message, sizeof err->message, "not valid JSON: %s at byte %ld", r.why,
             (long)((const char *)r.p - s) + 1);
    return -1;
  }
  wa_json_skip_ws(&r);
  if (r.p != r.end) {
    snprintf(err->message, sizeof err->message, "not valid JSON: trailing bytes at byte %ld",
             (long)((const char *)r.p - s) + 1);
    return -1;
  }
  if (default_product == NULL) return 0;
  /* cJSON decodes escapes in keys, so "messaging\u005fproduct" counts too */
  box->tree = cJSON_ParseWithLength(s, len);
  if (box->tree == NULL) return -2; /* it passed the strict check: only memory is left */
  if (cJSON_GetObjectItemCaseSensitive(box->tree, "messaging_product") != NULL) {
    wa_json_box_clear(box);
    return 0;
  }
  wa_json_box_clear(box);
  {
    /* splice the member in after '{' so every other byte stays the caller's */
    const unsigned char *after = open + 1;
    size_t head = (size_t)((const char *)after - s);
    r.p = after; /* r is done with: it finds what follows the brace */
    wa_json_skip_ws(&r);
    if (wa_buf_reserve(out, len + strlen(default_product) + 32) || wa_buf_add(out, s, head) ||
        wa_buf_addstr(out, "\"messaging_product\":") ||
        wa_json_add_string(out, default_product, strlen(default_product)) ||
        (*r.p != '}' && wa_buf_addc(out, ',')) || wa_buf_add(out, s + head, len - head))
      return -2;
  }
  return 0;
}
