/* Reading a file named by configuration, and running credential_process,
 * without ever blocking for good or holding unbounded bytes (see file.h).
 * Everything a call opens, allocates or starts sits in a userdata (a "box")
 * whose __gc closes, frees and kills it, so a Lua error on the way (out of
 * memory while pushing a string) leaks nothing. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define BOX_MT "whatsapp.core.file_box"
#define N_FDS 6
#define MAX_BYTES 1073741824.0 /* the largest cap a caller may ask for (1 GiB) */

typedef struct {
  int fd[N_FDS]; /* descriptors this call holds (-1: none) */
  pid_t pid;     /* a child not reaped yet (0: none) */
  wa_buf out, err, status;
} box;

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Kills a child still running (its whole process group) and reaps it. */
static void reap(box *b, int *wstatus, int kill_it) {
  int st = 0;
  pid_t r;
  if (b->pid <= 0) return;
  if (kill_it) {
    kill(-b->pid, SIGKILL);
    kill(b->pid, SIGKILL);
  }
  do {
    r = waitpid(b->pid, &st, 0);
  } while (r < 0 && errno == EINTR);
  /* ECHILD: someone else reaped it (nginx's SIGCHLD handler reaps every
   * child of a worker); the status then comes from the status pipe only */
  if (r == b->pid && wstatus) *wstatus = st;
  b->pid = 0;
}

static void box_release(box *b) {
  size_t i;
  for (i = 0; i < N_FDS; i++) close_fd(&b->fd[i]);
  reap(b, NULL, 1);
  wa_buf_free(&b->out);
  wa_buf_free(&b->err);
  wa_buf_free(&b->status);
}

static int box_gc(lua_State *L) {
  box_release((box *)luaL_checkudata(L, 1, BOX_MT));
  return 0;
}

static box *new_box(lua_State *L) {
  box *b = (box *)lua_newuserdata(L, sizeof *b);
  wa_buf empty = WA_BUF_INIT;
  size_t i;
  for (i = 0; i < N_FDS; i++) b->fd[i] = -1;
  b->pid = 0;
  b->out = b->err = b->status = empty;
  if (luaL_newmetatable(L, BOX_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

static int fail(lua_State *L, const char *kind, const char *detail) {
  lua_pushnil(L);
  lua_pushstring(L, kind);
  lua_pushstring(L, detail);
  return 3;
}

static int sys_fail(lua_State *L, int e) {
  return fail(L, e == ENOENT || e == ENOTDIR ? "missing" : "error", strerror(e));
}

static const char *what_is(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

static size_t check_cap(lua_State *L, int arg) {
  lua_Number n = luaL_checknumber(L, arg);
  if (!(n >= 0 && n <= MAX_BYTES)) luaL_argerror(L, arg, "must be a number of bytes in [0, 2^30]");
  return (size_t)n;
}

int wa_l_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t max = check_cap(L, 2);
  struct stat st;
  box *b;
  int e;
  /* refused before opening: opening a FIFO waits for a writer, a device may act */
  if (stat(path, &st) != 0) return sys_fail(L, errno);
  if (!S_ISREG(st.st_mode)) return fail(L, "not_regular", what_is(st.st_mode));
  b = new_box(L);
  do {
    b->fd[0] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  } while (b->fd[0] < 0 && errno == EINTR);
  if (b->fd[0] < 0) return sys_fail(L, errno);
  /* what was opened is what counts (the path may have changed meanwhile) */
  if (fstat(b->fd[0], &st) != 0) {
    e = errno;
    box_release(b);
    return sys_fail(L, e);
  }
  if (!S_ISREG(st.st_mode)) {
    box_release(b);
    return fail(L, "not_regular", what_is(st.st_mode));
  }
  if (max == 0) {
    box_release(b);
    lua_pushliteral(L, "");
    return 1;
  }
  if (st.st_size < 0 || (unsigned long long)st.st_size > (unsigned long long)max) {
    box_release(b);
    return fail(L, "too_large", "");
  }
  /* read up to max + 1 bytes: a file that grew (or a /proc file, size 0)
   * is caught by what is read, not by what stat said */
  for (;;) {
    size_t room;
    ssize_t n;
    if (wa_buf_reserve(&b->out, b->out.len < 65536 ? 65536 : b->out.len) != 0) {
      box_release(b);
      return fail(L, "error", "out of memory");
    }
    room = b->out.cap - b->out.len - 1;
    if (room > max + 1 - b->out.len) room = max + 1 - b->out.len;
    n = read(b->fd[0], b->out.data + b->out.len, room);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      e = errno;
      box_release(b);
      return sys_fail(L, e);
    }
    if (n == 0) break;
    b->out.len += (size_t)n;
    if (b->out.len > max) {
      box_release(b);
      return fail(L, "too_large", "");
    }
  }
  close_fd(&b->fd[0]);
  lua_pushlstring(L, b->out.data ? b->out.data : "", b->out.len);
  box_release(b);
  return 1;
}

/* ---- run_process ---------------------------------------------------------- */

enum { OUT_R, OUT_W, ERR_R, ERR_W, ST_R, ST_W };

/* The child's program: the command in its own shell with fd 3 closed, then
 * its exit status on fd 3. The status pipe tells when the command is over
 * (whatever its own children still hold open) and what it exited with, even
 * where waitpid cannot (nginx reaps a worker's children itself). */
static const char SCRIPT[] = "/bin/sh -c \"$1\" 3>&-; echo $? >&3";

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child(const int fd[N_FDS], const char *command) {
  struct sigaction sa;
  sigset_t none;
  int out, err, st;
  setpgid(0, 0);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);
  sigaction(SIGCHLD, &sa, NULL);
  /* out of the way of 1, 2 and 3 first (the pipes may have got low numbers) */
  out = fcntl(fd[OUT_W], F_DUPFD_CLOEXEC, 10);
  err = fcntl(fd[ERR_W], F_DUPFD_CLOEXEC, 10);
  st = fcntl(fd[ST_W], F_DUPFD_CLOEXEC, 10);
  if (out < 0 || err < 0 || st < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || dup2(st, 3) < 0) _exit(127);
  execl("/bin/sh", "sh", "-c", SCRIPT, "sh", command, (char *)NULL);
  _exit(127);
}

/* Reads what is there on fd i (non-blocking) into its buffer. Returns 1 at
 * end of file, 2 when stdout went past out_max, 0 otherwise, -1 on error. */
static int drain(box *b, int i, size_t out_max, size_t err_max) {
  char chunk[16384];
  for (;;) {
    ssize_t n = read(b->fd[i], chunk, sizeof chunk);
    wa_buf *to;
    size_t keep, cap;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    if (n == 0) {
      close_fd(&b->fd[i]);
      return 1;
    }
    to = i == OUT_R ? &b->out : i == ERR_R ? &b->err : &b->status;
    cap = i == OUT_R ? out_max + 1 : i == ERR_R ? err_max : 32;
    keep = to->len >= cap ? 0 : cap - to->len;
    if (keep > (size_t)n) keep = (size_t)n;
    if (wa_buf_add(to, chunk, keep) != 0) return -1;
    if (i == OUT_R && b->out.len > out_max) return 2;
  }
}

/* Waits for the child's output until the status pipe closes, time runs out
 * or stdout passes its cap: "exited", "timeout", "too_large" or NULL (error). */
static const char *collect(box *b, double deadline, size_t out_max, size_t err_max) {
  for (;;) {
    struct pollfd p[3];
    int idx[3], n = 0, i, r;
    double left = deadline - now_ms();
    if (b->fd[ST_R] < 0) {
      /* the command is over: what it wrote is in the pipes; take that and go
       * (a child it left behind may hold them open for good) */
      if (b->fd[OUT_R] >= 0 && drain(b, OUT_R, out_max, err_max) == 2) return "too_large";
      if (b->fd[ERR_R] >= 0) drain(b, ERR_R, out_max, err_max);
      return "exited";
    }
    if (left <= 0) return "timeout";
    for (i = OUT_R; i <= ST_R; i += 2) {
      if (b->fd[i] < 0) continue;
      p[n].fd = b->fd[i];
      p[n].events = POLLIN;
      p[n].revents = 0;
      idx[n++] = i;
    }
    r = poll(p, (nfds_t)n, left > 1e9 ? 1000000000 : (int)left + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return NULL;
    for (i = 0; i < n; i++) {
      if (p[i].revents == 0) continue;
      r = drain(b, idx[i], out_max, err_max);
      if (r == 2) return "too_large";
      if (r < 0) return NULL;
    }
  }
}

int wa_l_run_process(lua_State *L) {
  size_t len;
  const char *command = luaL_checklstring(L, 1, &len);
  lua_Number timeout_ms = luaL_checknumber(L, 2);
  size_t out_max = check_cap(L, 3), err_max = check_cap(L, 4);
  const char *outcome;
  box *b;
  int i, wstatus = -1, status = -1;
  double deadline;
  if (strlen(command) != len) return luaL_argerror(L, 1, "must not contain NUL");
  if (!(timeout_ms > 0)) return luaL_argerror(L, 2, "must be a number of milliseconds > 0");
  deadline = now_ms() + timeout_ms;
  b = new_box(L);
  for (i = 0; i < N_FDS; i += 2) {
    int p[2];
    if (pipe(p) != 0) {
      int e = errno;
      box_release(b);
      lua_pushnil(L);
      lua_pushstring(L, strerror(e));
      return 2;
    }
    b->fd[i] = p[0];
    b->fd[i + 1] = p[1];
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
  }
  b->pid = fork();
  if (b->pid < 0) {
    int e = errno;
    b->pid = 0;
    box_release(b);
    lua_pushnil(L);
    lua_pushstring(L, strerror(e));
    return 2;
  }
  if (b->pid == 0) child(b->fd, command);
  setpgid(b->pid, b->pid); /* as the child does: whichever runs first */
  close_fd(&b->fd[OUT_W]);
  close_fd(&b->fd[ERR_W]);
  close_fd(&b->fd[ST_W]);
  outcome = collect(b, deadline, out_max, err_max);
  /* killed unless it ended of itself; then reaped */
  reap(b, &wstatus, outcome == NULL || strcmp(outcome, "exited") != 0);
  if (outcome == NULL) {
    box_release(b);
    lua_pushnil(L);
    lua_pushliteral(L, "reading its output failed");
    return 2;
  }
  if (wa_buf_terminate(&b->status) == 0 && b->status.len > 0) {
    char *end;
    long v = strtol(b->status.data, &end, 10);
    if (end != b->status.data && v >= 0 && v <= 255) status = (int)v;
  }
  if (status < 0 && wstatus >= 0 && WIFEXITED(wstatus)) status = WEXITSTATUS(wstatus);
  lua_pushstring(L, outcome);
  lua_pushlstring(L, b->out.data ? b->out.data : "", b->out.len > out_max ? out_max : b->out.len);
  lua_pushlstring(L, b->err.data ? b->err.data : "", b->err.len);
  lua_pushinteger(L, status);
  box_release(b);
  return 4;
}
