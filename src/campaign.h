/* What a campaign (whatsapp.campaign) needs of the system, as bytes and OS
 * calls only: a file opened for appending whose writes reach the disk with
 * fsync (the journal), the SIGINT/SIGTERM flag the send loop polls, and
 * isatty. What to write, when to sync and what a signal means are Lua's. */
#ifndef WA_CAMPAIGN_H
#define WA_CAMPAIGN_H

#include <lua.h>

#include "internal.h"

/* core.append_open(path) -> Appender | nil, why
 * Opens (creates, mode 0600) path for reading and appending, close-on-exec. Methods:
 *   a:read(max) -> the whole file | nil, why ("too large": over max bytes)
 *   a:size() -> bytes                 a:truncate(n) -> true | nil, why
 *   a:write(text) -> true | nil, why  (all of text, one write call when it can)
 *   a:sync() -> true | nil, why       (fsync)
 *   a:lock() -> true | nil, why       (exclusive fcntl lock; why "locked": another process has it)
 *   a:close()                         (also done by __gc) */
WA_INTERNAL int wa_l_append_open(lua_State *L);

/* core.signals_catch() installs handlers for SIGINT and SIGTERM: the first
 * signal sets a flag; a second one ends the process at once with _exit(3).
 * core.signals_caught() -> the number of the first signal caught, or false.
 * core.signals_release() puts the previous handlers back and clears the flag. */
WA_INTERNAL int wa_l_signals_catch(lua_State *L);
WA_INTERNAL int wa_l_signals_caught(lua_State *L);
WA_INTERNAL int wa_l_signals_release(lua_State *L);

/* core.isatty(fd) -> boolean */
WA_INTERNAL int wa_l_isatty(lua_State *L);

/* Registers the Appender metatable. */
WA_INTERNAL void wa_campaign_open(lua_State *L);

#endif
