/* The system calls of a campaign (see campaign.h): an append-only file with
 * fsync for the journal, the SIGINT/SIGTERM flag, isatty. The descriptor
 * lives in a userdata whose __gc closes it, so a Lua error leaks nothing. */
#include "campaign.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "compat.h"

#define APPENDER_MT "whatsapp.core.Appender"

typedef struct {
  int fd;
} appender;

static int push_errno(lua_State *L, const char *what) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", what, strerror(errno));
  return 2;
}

static appender *check_open(lua_State *L) {
  appender *a = (appender *)luaL_checkudata(L, 1, APPENDER_MT);
  if (a->fd < 0) luaL_error(L, "the file is closed");
  return a;
}

int wa_l_append_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  appender *a = (appender *)lua_newuserdata(L, sizeof *a);
  a->fd = -1;
  wa_setmetatable(L, APPENDER_MT);
  do {
    a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  } while (a->fd < 0 && errno == EINTR);
  if (a->fd < 0) return push_errno(L, path);
  {
    struct stat st;
    if (fstat(a->fd, &st) != 0) return push_errno(L, path);
    if (!S_ISREG(st.st_mode)) {
      close(a->fd);
      a->fd = -1;
      lua_pushnil(L);
      lua_pushfstring(L, "%s: not a regular file", path);
      return 2;
    }
  }
  return 1;
}

static int a_size(lua_State *L) {
  appender *a = check_open(L);
  struct stat st;
  if (fstat(a->fd, &st) != 0) return push_errno(L, "fstat");
  lua_pushnumber(L, (lua_Number)st.st_size);
  return 1;
}

/* a:read(max) -> the whole file | nil, why (more than max bytes, or an
 * error). Read through this descriptor: closing another descriptor of the
 * file would drop the process's fcntl lock on it. */
static int a_read(lua_State *L) {
  appender *a = check_open(L);
  lua_Number max = luaL_checknumber(L, 2);
  struct stat st;
  luaL_Buffer b;
  off_t at = 0;
  char chunk[8192];
  if (fstat(a->fd, &st) != 0) return push_errno(L, "fstat");
  if ((lua_Number)st.st_size > max) {
    lua_pushnil(L);
    lua_pushliteral(L, "too large");
    return 2;
  }
  luaL_buffinit(L, &b);
  for (;;) {
    ssize_t r = pread(a->fd, chunk, sizeof chunk, at);
    if (r < 0) {
      if (errno == EINTR) continue;
      return push_errno(L, "read");
    }
    if (r == 0) break;
    luaL_addlstring(&b, chunk, (size_t)r);
    at += r;
    if ((lua_Number)at > max) {
      lua_pushnil(L);
      lua_pushliteral(L, "too large");
      return 2;
    }
  }
  luaL_pushresult(&b);
  return 1;
}

static int a_truncate(lua_State *L) {
  appender *a = check_open(L);
  lua_Number n = luaL_checknumber(L, 2);
  int rc;
  if (!(n >= 0 && n <= 9007199254740992.0)) return luaL_argerror(L, 2, "size out of range");
  do {
    rc = ftruncate(a->fd, (off_t)n);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return push_errno(L, "ftruncate");
  lua_pushboolean(L, 1);
  return 1;
}

static int a_write(lua_State *L) {
  appender *a = check_open(L);
  size_t len, done = 0;
  const char *text = luaL_checklstring(L, 2, &len);
  while (done < len) {
    ssize_t w = write(a->fd, text + done, len - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return push_errno(L, "write");
    }
    done += (size_t)w;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int a_sync(lua_State *L) {
  appender *a = check_open(L);
  int rc;
  do {
    rc = fsync(a->fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return push_errno(L, "fsync");
  lua_pushboolean(L, 1);
  return 1;
}

/* a:lock() -> true | nil, why: an exclusive lock on the whole file (fcntl,
 * held until the file is closed or the process ends, even by SIGKILL);
 * why is "locked" when another process holds it. */
static int a_lock(lua_State *L) {
  appender *a = check_open(L);
  struct flock fl;
  int rc;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  do {
    rc = fcntl(a->fd, F_SETLK, &fl);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EACCES || errno == EAGAIN) {
      lua_pushnil(L);
      lua_pushliteral(L, "locked");
      return 2;
    }
    return push_errno(L, "fcntl");
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int a_close(lua_State *L) {
  appender *a = (appender *)luaL_checkudata(L, 1, APPENDER_MT);
  if (a->fd >= 0) close(a->fd);
  a->fd = -1;
  return 0;
}

/* ---- signals ---------------------------------------------------------------- */

static volatile sig_atomic_t caught = 0;
static int installed = 0;
static struct sigaction old_int, old_term;

static void on_signal(int sig) {
  if (caught) _exit(3); /* the second one: at once (the journal's records are whole lines) */
  caught = sig;
}

int wa_l_signals_catch(lua_State *L) {
  struct sigaction sa;
  if (!installed) {
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, &old_int) != 0) return push_errno(L, "sigaction");
    if (sigaction(SIGTERM, &sa, &old_term) != 0) {
      sigaction(SIGINT, &old_int, NULL);
      return push_errno(L, "sigaction");
    }
    installed = 1;
  }
  caught = 0;
  lua_pushboolean(L, 1);
  return 1;
}

int wa_l_signals_caught(lua_State *L) {
  if (caught)
    lua_pushinteger(L, (lua_Integer)caught);
  else
    lua_pushboolean(L, 0);
  return 1;
}

int wa_l_signals_release(lua_State *L) {
  if (installed) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    installed = 0;
  }
  caught = 0;
  (void)L;
  return 0;
}

int wa_l_isatty(lua_State *L) {
  lua_Integer fd = luaL_checkinteger(L, 1);
  lua_pushboolean(L, fd >= 0 && fd <= 1024 && isatty((int)fd) == 1);
  return 1;
}

static const luaL_Reg appender_methods[] = {{"size", a_size},   {"truncate", a_truncate}, {"write", a_write},
                                            {"sync", a_sync},   {"lock", a_lock},         {"read", a_read},
                                            {"close", a_close},
                                            {NULL, NULL}};

void wa_campaign_open(lua_State *L) {
  luaL_newmetatable(L, APPENDER_MT);
  lua_newtable(L);
  wa_setfuncs(L, appender_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, a_close);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}
