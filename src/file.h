/* Files named by configuration and the credential_process command: the bytes
 * only (regular-file checks, size caps, a child process with a time limit and
 * capped output). What to read, the limits and the messages are Lua's
 * (whatsapp.credentials.common, whatsapp.credentials.process). */
#ifndef WA_FILE_H
#define WA_FILE_H

#include <lua.h>

#include "internal.h"

/* core.read_file(path, max) -> text | nil, kind, detail
 * kind: "missing" (no such file), "not_regular" (detail: "a directory",
 * "a FIFO", ...), "too_large" (more than max bytes), "error" (detail: the
 * system's words). Never blocks on a FIFO or a device: it is refused before
 * any byte is read. max 0 checks the file without reading it (-> ""). */
WA_INTERNAL int wa_l_read_file(lua_State *L);

/* core.run_process(command, timeout_ms, stdout_max, stderr_max)
 * runs /bin/sh -c command in its own process group, stdin inherited, and
 * -> outcome, stdout, stderr, status | nil, why-it-did-not-start
 * outcome: "exited" (status: the exit status, -1 when unknown), "timeout"
 * (still running after timeout_ms: the group was killed), "too_large"
 * (more than stdout_max bytes on stdout: the group was killed). stderr keeps
 * its first stderr_max bytes; the rest is read and dropped. */
WA_INTERNAL int wa_l_run_process(lua_State *L);

#endif
