/* Lua values <-> JSON: our own encoder and decoder (cJSON only finds
 * "messaging_product" in a caller's JSON text), and the UTF-8 and escaping
 * helpers the request body needs. Encoding never raises for bad data: it
 * reports what was wrong and where (a field path such as
 * "interactive.action.buttons[2].title"). */
#ifndef WA_JSON_H
#define WA_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "buf.h"
#include "compat.h"
#include "internal.h"

#define WA_JSON_MAX_DEPTH 64 /* a WhatsApp message nests about 8 deep */

/* Owns what an encode produces until the caller is done with it. Lives inside
 * a userdata, so a Lua error in the middle still frees it (through __gc). */
typedef struct {
  cJSON *tree;
  char *text; /* printed JSON, malloc'd by cJSON */
} wa_json_box;

WA_INTERNAL void wa_json_box_clear(wa_json_box *box);



/* The registry slot of the metatable that marks a table as a JSON array
 * (so an empty one encodes as [] instead of {}). */
WA_INTERNAL void wa_json_set_array_mt(lua_State *L, int idx);
WA_INTERNAL void wa_json_push_array_mt(lua_State *L);

typedef struct {
  char message[256];
  wa_buf field; /* path of the offending value, "" for the root */
} wa_json_error;

/* What one encode or decode works with, kept in a userdata whose __gc (the
 * metatable WA_JSON_SCRATCH_MT, registered by luaopen) frees it all. */
typedef struct {
  wa_json_box box;
  wa_json_error err;
  wa_buf text; /* encoded JSON */
  wa_buf keys; /* the encoder's working space */
} wa_json_scratch;

#define WA_JSON_SCRATCH_MT "whatsapp.core.JsonScratch"
WA_INTERNAL void wa_json_scratch_free(wa_json_scratch *s);

/* Encodes the value at idx into out (cleared first, NUL-terminated after
 * len). When default_product is not NULL and the value is an object without
 * "messaging_product", that member is added. Object keys are sorted so the
 * same table always gives the same bytes; the format is cJSON's unformatted
 * one. keys is working space. Returns 0; on bad data -1 with err filled in;
 * on memory exhaustion -2. Allocates no Lua memory (no finalizer runs). */
WA_INTERNAL int wa_json_encode(lua_State *L, int idx, wa_buf *out, wa_buf *keys, const char *default_product,
                               wa_json_error *err);

/* Takes JSON text from the caller: checks UTF-8 and strict JSON syntax (what
 * cJSON lets through, such as raw control characters in strings, is refused),
 * requires an object, and, when default_product is not NULL and the object
 * has no "messaging_product", writes into out the caller's text with that
 * member spliced in after the opening brace; every other byte is kept. When
 * out stays empty the caller's text is to be sent as it is. Returns 0, -1
 * with err filled in, or -2 on memory exhaustion. */
WA_INTERNAL int wa_json_normalize_text(const char *s, size_t len, wa_json_box *box,
                                       const char *default_product, wa_buf *out, wa_json_error *err);

/* Pushes the Lua value of a JSON text (objects and arrays become tables,
 * arrays carry the array metatable, null becomes the null sentinel, strings
 * keep every byte, an escaped \u0000 too). Returns 0, or -1 with nothing
 * pushed when the text is not JSON. Raises only on memory errors, with
 * nothing left to free. */
WA_INTERNAL int wa_json_decode(lua_State *L, const char *s, size_t len);

/* 1 if s is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
WA_INTERNAL int wa_utf8_valid(const char *s, size_t len);

/* Appends s as a JSON string literal, quotes included, with cJSON's escapes
 * (\" \\ \b \f \n \r \t, \u00xx for the other control characters; every
 * other byte as it is). Returns 0, or -1 on memory exhaustion. */
WA_INTERNAL int wa_json_add_string(wa_buf *b, const char *s, size_t len);

#endif
