/* Linkage for functions shared between the core's C files. The shared object
 * exports one symbol, luaopen_whatsapp_core; everything else is file-static or
 * hidden with WA_INTERNAL so nothing leaks into the host's symbol table
 * (nginx loads many modules into one process). spec/build_spec.lua checks it. */
#ifndef WA_INTERNAL_H
#define WA_INTERNAL_H

#if defined(__GNUC__) || defined(__clang__)
#define WA_INTERNAL __attribute__((visibility("hidden")))
#else
#define WA_INTERNAL
#endif

#endif
