/* Shared by the libFuzzer targets in fuzz/ (built by `make fuzz` with clang
 * -fsanitize=fuzzer,address,undefined and linked with the core's C files and
 * Lua 5.4). A finding is a crash, a sanitizer report, a leak, or a broken
 * invariant, which the targets turn into abort() through CHECK. */
#ifndef WA_FUZZ_H
#define WA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/compat.h"
#include "../src/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int luaopen_whatsapp_core(lua_State *L);

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                   \
    }                                                                            \
  } while (0)

/* An exact-size heap copy, so that reading one byte past it is an ASan
 * report (the fuzzer's own buffer may have neighbours we would not notice). */
static inline char *fuzz_copy(const uint8_t *p, size_t n) {
  char *c = (char *)malloc(n ? n : 1);
  CHECK(c != NULL);
  if (n) memcpy(c, p, n);
  return c;
}

/* A fresh state per input, with whatsapp.core loaded (its metatables, the
 * array marker set as the Lua layer sets it), so lua_close() at the end frees
 * everything and LeakSanitizer sees exactly what the core kept. */
static inline lua_State *fuzz_state(void) {
  lua_State *L = luaL_newstate();
  CHECK(L != NULL);
  luaL_requiref(L, "whatsapp.core", luaopen_whatsapp_core, 0);
  lua_pop(L, 1);
  lua_newtable(L); /* the array marker metatable (lua/whatsapp/array.lua) */
  wa_json_set_array_mt(L, -1);
  lua_pop(L, 1);
  return L;
}

/* Runs f in protected mode with one light userdata argument. The core must
 * never raise on data (only on memory), so an error is a finding. */
static inline void fuzz_pcall(lua_State *L, lua_CFunction f, void *ud) {
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, ud);
  if (lua_pcall(L, 1, 0, 0) != 0) {
    fprintf(stderr, "raised: %s\n", lua_tostring(L, -1));
    abort();
  }
}

#endif
