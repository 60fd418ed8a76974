/* The table -> JSON encoder (wa_json_encode, what client:send does with a
 * table). The input is a small program that builds Lua values on a stack:
 * strings of arbitrary bytes (NUL, invalid UTF-8, long runs), integers,
 * floats from raw bits (NaN, infinities, -0), booleans, the null sentinel,
 * tables and array-marked tables, fields with any key type, holes, cycles,
 * nesting thousands deep, and values JSON cannot hold. Every value left on
 * the stack is then encoded, with and without a default messaging_product.
 *
 * Errors are fine; what must hold: no crash, no leak, no Lua error raised
 * (bad data is reported, not thrown), every refusal says why, and every JSON
 * text produced is strict JSON (our own checker takes it when it is an
 * object), decodes again, and an object keeps its messaging_product. */
#include <math.h>

#include "fuzz.h"

#define MAX_STACK 64

typedef struct {
  const uint8_t *p, *end;
} program;

static int next_byte(program *pr) { return pr->p < pr->end ? *pr->p++ : 0; }

static void next_bytes(program *pr, void *out, size_t n) {
  size_t have = (size_t)(pr->end - pr->p);
  memset(out, 0, n);
  if (have > n) have = n;
  memcpy(out, pr->p, have);
  pr->p += have;
}

static int null_gc(lua_State *L) {
  (void)L;
  return 0;
}

/* Stack slot k of the values (1-based from the first value built). */
static int slot(int base, int n, int k) { return base + (n ? k % n : 0); }

static void build(lua_State *L, program *pr, int base) {
  int budget = 20000; /* tables and keys the bulk ops may make: keeps runs fast */
  while (pr->p < pr->end) {
    /* n: how many values are built; no op touches the slots below base */
    int n = lua_gettop(L) - base + 1, op = next_byte(pr) % 18, top = lua_gettop(L);
    if (n >= MAX_STACK && op <= 6) op = 12; /* full: pop instead of push */
    switch (op) {
      case 0: { /* a string of input bytes */
        size_t len = (size_t)next_byte(pr), have = (size_t)(pr->end - pr->p);
        if (len > have) len = have;
        lua_pushlstring(L, (const char *)pr->p, len);
        pr->p += len;
        break;
      }
      case 1: { /* a long string: one byte repeated, up to 64 KB (the specs send megabytes) */
        size_t len = (size_t)next_byte(pr) * 256 + (size_t)next_byte(pr);
        char c = (char)next_byte(pr);
        char *s = (char *)malloc(len ? len : 1);
        CHECK(s != NULL);
        memset(s, c, len);
        lua_pushlstring(L, s, len);
        free(s);
        break;
      }
      case 2: { /* an integer */
        long long v;
        next_bytes(pr, &v, sizeof v);
        if (next_byte(pr) & 1) v = (long long)(int8_t)v; /* small ones too */
        lua_pushinteger(L, (lua_Integer)v);
        break;
      }
      case 3: { /* a float from raw bits: NaN, infinities, -0, subnormals */
        double d;
        next_bytes(pr, &d, sizeof d);
        lua_pushnumber(L, d);
        break;
      }
      case 4: lua_pushboolean(L, next_byte(pr) & 1); break;
      case 5: lua_pushlightuserdata(L, NULL); break; /* whatsapp.null */
      case 6:
        lua_newtable(L);
        if (next_byte(pr) & 1) { /* whatsapp.array */
          wa_json_push_array_mt(L);
          lua_setmetatable(L, -2);
        }
        break;
      case 7: /* t[k] = v with t, k, v the top three */
        if (n >= 3 && lua_istable(L, top - 2) && !lua_isnil(L, top - 1) &&
            !(lua_type(L, top - 1) == LUA_TNUMBER && lua_tonumber(L, top - 1) != lua_tonumber(L, top - 1)))
          lua_rawset(L, top - 2);
        else
          lua_pop(L, n >= 2 ? 2 : n);
        break;
      case 8: /* append the top to the table below it */
        if (n >= 2 && lua_istable(L, top - 1)) lua_rawseti(L, top - 1, (lua_Integer)wa_rawlen(L, top - 1) + 1);
        else if (n >= 1) lua_pop(L, 1);
        break;
      case 9: /* t[i] = v for a small i of either sign: holes, 0, negatives */
        if (n >= 2 && lua_istable(L, top - 1)) lua_rawseti(L, top - 1, (lua_Integer)(int8_t)next_byte(pr));
        else if (n >= 1) lua_pop(L, 1);
        break;
      case 10: { /* a reference: the top table gets a field holding any slot (cycles) */
        int target = slot(base, n, next_byte(pr));
        if (n >= 1 && lua_istable(L, top)) {
          lua_pushvalue(L, target);
          lua_setfield(L, top, next_byte(pr) & 1 ? "self" : "a");
        }
        break;
      }
      case 11: { /* nest the top value: {{...{v}...}}, up to ~10,000 deep */
        int depth = next_byte(pr) * 40 + 1, i;
        if (n < 1) break;
        if (depth > budget) depth = budget;
        budget -= depth;
        for (i = 0; i < depth; i++) {
          lua_createtable(L, 1, 0);
          lua_insert(L, -2);
          if (i & 1) lua_rawseti(L, -2, 1);
          else lua_setfield(L, -2, "n");
        }
        break;
      }
      case 12: if (n >= 1) lua_pop(L, 1); break;
      case 13: if (n >= 1 && n < MAX_STACK) lua_pushvalue(L, slot(base, n, next_byte(pr))); break;
      case 14: /* values JSON cannot hold */
        switch (next_byte(pr) % 4) {
          case 0: lua_pushcfunction(L, null_gc); break;
          case 1: lua_newuserdata(L, 8); break;
          case 2: lua_newthread(L); break;
          default: lua_pushlightuserdata(L, (void *)pr); break;
        }
        break;
      case 15: { /* t[x] = v with a float key x (fractions, NaN skipped) */
        double d;
        next_bytes(pr, &d, sizeof d);
        if (n >= 2 && lua_istable(L, top - 1) && d == d) {
          lua_pushnumber(L, d);
          lua_insert(L, -2);
          lua_rawset(L, top - 1);
        } else if (n >= 1) {
          lua_pop(L, 1);
        }
        break;
      }
      case 16: /* set a metatable that is not the array marker */
        if (n >= 1 && lua_istable(L, top)) {
          lua_newtable(L);
          lua_setmetatable(L, top);
        }
        break;
      default: /* many keys at once: t[string(i)] = i */
        if (n >= 1 && lua_istable(L, top)) {
          int count = next_byte(pr) * 2, i;
          if (count > budget) count = budget;
          budget -= count;
          for (i = 0; i < count; i++) {
            lua_pushinteger(L, i);
            lua_setfield(L, top, lua_tostring(L, -1));
          }
        }
        break;
    }
  }
}

/* 1 when the tree has a whole number of 16 to 19 digits, which may have been
 * a Lua integer: the encoder writes an integer's digits, cJSON its double
 * with %1.15g (an exponent from 1e15 on) or %1.17g; the same value, other
 * bytes. Floats (fractions, and past the integers' range) are compared. */
static int has_big_number(const cJSON *n) {
  for (; n != NULL; n = n->next) {
    if (cJSON_IsNumber(n) && n->valuedouble == floor(n->valuedouble) && fabs(n->valuedouble) >= 1e15 &&
        fabs(n->valuedouble) <= 9223372036854775808.0)
      return 1;
    /* cJSON's %1.15g of these rounds past DBL_MAX; the encoder writes 17 digits */
    if (cJSON_IsNumber(n) && fabs(n->valuedouble) >= 1.797693134862315e308) return 1;
    if (has_big_number(n->child)) return 1;
  }
  return 0;
}

static void check_text(lua_State *L, const char *text, const char *product) {
  size_t len = strlen(text);
  wa_json_box box = {NULL, NULL};
  wa_json_error err;
  wa_buf out = WA_BUF_INIT;
  int rc;
  memset(&err, 0, sizeof err);
  CHECK(len > 0 && wa_utf8_valid(text, len));
  if (text[0] == '{') {
    /* strict JSON, and the product is already in: nothing to splice */
    rc = wa_json_normalize_text(text, len, &box, product, &out, &err);
    if (rc != 0) fprintf(stderr, "refused %s: %s\n", text, err.message);
    CHECK(rc == 0);
    CHECK(out.len == 0);
  }
  wa_json_box_clear(&box);
  wa_buf_free(&out);
  wa_buf_free(&err.field);
  CHECK(wa_json_decode(L, text, len) == 0);
  lua_pop(L, 1);
  {
    /* the encoder writes cJSON's unformatted output without a tree: the same
     * text parsed and printed by cJSON must give the same bytes */
    cJSON *tree = cJSON_ParseWithLength(text, len);
    char *again;
    CHECK(tree != NULL);
    again = cJSON_PrintUnformatted(tree);
    CHECK(again != NULL);
    if (!has_big_number(tree) && strcmp(again, text) != 0) fprintf(stderr, "ours:  %s\ncJSON: %s\n", text, again);
    CHECK(has_big_number(tree) || strcmp(again, text) == 0);
    cJSON_free(again);
    cJSON_Delete(tree);
  }
}

static int run(lua_State *L) {
  program *pr = (program *)lua_touserdata(L, 1);
  const char *product = (next_byte(pr) & 1) ? "whatsapp" : NULL;
  int base = lua_gettop(L) + 2, top, i;
  wa_json_scratch *s = (wa_json_scratch *)lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  wa_setmetatable(L, WA_JSON_SCRATCH_MT);
  CHECK(lua_checkstack(L, MAX_STACK + 32));
  build(L, pr, base);
  top = lua_gettop(L);
  for (i = base; i <= top; i++) {
    int rc, j, seen = 0;
    for (j = base; j < i && !seen; j++) seen = lua_rawequal(L, i, j);
    if (seen) continue; /* a copy of a value already encoded */
    rc = wa_json_encode(L, i, &s->text, &s->keys, product, &s->err);
    CHECK(lua_gettop(L) == top); /* the encoder leaves the stack as it found it */
    CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
      CHECK(s->text.data != NULL && strlen(s->text.data) == s->text.len);
      check_text(L, s->text.data, product);
    } else {
      CHECK(s->err.message[0] != '\0');
      CHECK(s->err.field.data != NULL && strlen(s->err.field.data) == s->err.field.len);
    }
    wa_buf_clear(&s->text);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  program pr;
  lua_State *L = fuzz_state();
  pr.p = data;
  pr.end = data + size;
  fuzz_pcall(L, run, &pr);
  lua_close(L);
  return 0;
}
