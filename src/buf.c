#include "buf.h"

#include <stdlib.h>
#include <string.h>

int wa_buf_grow(wa_buf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (extra > (size_t)-1 - b->len - 1) return -1;
  need = b->len + extra + 1; /* room for a terminating NUL */
  if (need <= b->cap) return 0;
  cap = b->cap ? b->cap : 256;
  while (cap < need) cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
  p = realloc(b->data, cap);
  if (p == NULL) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int wa_buf_terminate(wa_buf *b) {
  if (wa_buf_reserve(b, 0) != 0) return -1;
  b->data[b->len] = '\0';
  return 0;
}

void wa_buf_free(wa_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *wa_strdup(const char *s) {
  char *p;
  size_t n;
  if (s == NULL) return NULL;
  n = strlen(s) + 1;
  p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}
