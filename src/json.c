/* What the JSON files share: the registry slot of the array metatable, the
 * encode/decode scratch and its freeing, the UTF-8 check, and the byte
 * scanner of json_scan.h (json_encode.c writes JSON, json_text.c checks a
 * caller's JSON text, json_decode.c reads JSON into Lua values). */
#include "json.h"

#include <string.h>

#include "json_scan.h"

static const char ARRAY_MT_KEY = 'a'; /* its address keys the registry slot */

void wa_json_set_array_mt(lua_State *L, int idx) {
  idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
  lua_pushlightuserdata(L, (void *)&ARRAY_MT_KEY);
  lua_pushvalue(L, idx);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void wa_json_push_array_mt(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&ARRAY_MT_KEY);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

void wa_json_box_clear(wa_json_box *box) {
  if (box->tree) cJSON_Delete(box->tree);
  if (box->text) cJSON_free(box->text);
  box->tree = NULL;
  box->text = NULL;
}

void wa_json_scratch_free(wa_json_scratch *s) {
  wa_json_box_clear(&s->box);
  wa_buf_free(&s->err.field);
  wa_buf_free(&s->text);
  wa_buf_free(&s->keys);
}

/* ---- UTF-8 ------------------------------------------------------------ */

int wa_utf8_valid(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str, *end = s + len;
  while (s < end) {
    unsigned c = *s;
    if (c < 0x80) {
      /* ASCII runs go 8 bytes at a time */
      while (end - s >= 8) {
        unsigned long long w;
        memcpy(&w, s, 8);
        if (w & 0x8080808080808080ULL) break;
        s += 8;
      }
      while (s < end && *s < 0x80) s++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      if (end - s < 2 || (s[1] & 0xC0) != 0x80) return 0;
      s += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      if (end - s < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80) return 0;
      s += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      if (end - s < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
          (s[3] & 0xC0) != 0x80)
        return 0;
      s += 4;
    } else {
      return 0;
    }
  }
  return 1;
}

/* ---- scanning JSON text ----------------------------------------------- */

int wa_json_hex4(wa_json_reader *r, unsigned *out) {
  unsigned v = 0;
  int i;
  if (r->end - r->p < 4) return 0;
  for (i = 0; i < 4; i++) {
    unsigned c = r->p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return 0;
  }
  r->p += 4;
  *out = v;
  return 1;
}

static int digits(wa_json_reader *r) {
  const unsigned char *start = r->p;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
  return r->p > start;
}

int wa_json_read_number(wa_json_reader *r) {
  if (*r->p == '-') r->p++;
  if (r->p < r->end && *r->p == '0') r->p++;
  else if (!digits(r)) return r->why = "bad number", 0;
  if (r->p < r->end && *r->p == '.') {
    r->p++;
    if (!digits(r)) return r->why = "bad number", 0;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
    if (!digits(r)) return r->why = "bad number", 0;
  }
  return 1;
}
