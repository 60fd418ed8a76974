/* A tiny Lua module for spec/fork_spec.lua: fork(), waitpid(), alarm() and _exit()
 * (Lua has none of them). Built by the spec for the runtime it runs on. */
#include <lauxlib.h>
#include <lua.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int l_fork(lua_State *L) {
  pid_t pid = fork();
  if (pid < 0) return luaL_error(L, "fork failed");
  lua_pushinteger(L, (lua_Integer)pid);
  return 1;
}

/* wait(pid) -> exit status, or -1 when it did not exit normally */
static int l_wait(lua_State *L) {
  int status = 0;
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  if (waitpid(pid, &status, 0) != pid) return luaL_error(L, "waitpid failed");
  lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 1;
}

/* exit(code): ends this process at once (no atexit handler, no stdio flush:
 * the parent's unwritten output is not written twice) */
static int l_exit(lua_State *L) {
  _exit((int)luaL_optinteger(L, 1, 0));
  return 0;
}

/* alarm(seconds): SIGALRM ends this process then, unless it ended before */
static int l_alarm(lua_State *L) {
  alarm((unsigned)luaL_checkinteger(L, 1));
  return 0;
}

static int l_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

int luaopen_wafork(lua_State *L);
int luaopen_wafork(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_fork);
  lua_setfield(L, -2, "fork");
  lua_pushcfunction(L, l_wait);
  lua_setfield(L, -2, "wait");
  lua_pushcfunction(L, l_exit);
  lua_setfield(L, -2, "exit");
  lua_pushcfunction(L, l_alarm);
  lua_setfield(L, -2, "alarm");
  lua_pushcfunction(L, l_getpid);
  lua_setfield(L, -2, "getpid");
  return 1;
}
