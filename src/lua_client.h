/* The Client userdata of whatsapp.core (lua_client.c): one curl handle, one
 * signing-key cache, reused buffers. Its fields are read by the Batch
 * binding too (batch:add builds with the client's signer, client:batch
 * copies its settings). */
#ifndef WA_LUA_CLIENT_H
#define WA_LUA_CLIENT_H

#include "http.h"
#include "internal.h"
#include "lua_util.h"
#include "request.h"

struct wa_client {
  wa_guard guard; /* busy/close: see wa_guarded() */
  wa_http http;
  wa_sockets socks; /* the sockets of http's connections (see wa_check_client) */
  int open;
  char *url;     /* endpoint + /v1/whatsapp/send */
  char *path;    /* the path part of url, as signed */
  char *host;    /* the Host header we sign and send */
  char *region;
  char *service;
  char *ca_file;
  char *user_agent;
  char *product; /* the messaging_product a message without one gets, or NULL */
  wa_sender s;    /* signing state and buffers of send, prepare and batch:add */
  wa_request req; /* the request of send and prepare */
  wa_buf nodes;   /* the header list of request() */
  unsigned long requests;
};

/* The client at idx, ready for a call: open and not inside another call
 * (raises otherwise); in a process forked after it was made, with new
 * connections. Call after every argument is converted (a conversion may run
 * the GC, and a finalizer may close this client), then mark it busy. */
WA_INTERNAL wa_client *wa_check_client(lua_State *L, int idx);

/* The end of a guarded call: releases the client if close() came meanwhile. */
WA_INTERNAL void wa_client_leave(wa_client *c);

/* Encodes the message at a->msg and builds the request into r with the
 * client's signer: 0, or the count of the failure it pushed; raises when
 * memory runs out. Runs inside a guarded call. */
WA_INTERNAL int wa_client_build(lua_State *L, wa_client *c, const send_args *a, wa_request *r);

/* core.new_client{...} */
WA_INTERNAL int wa_l_new_client(lua_State *L);

/* Registers the Client metatable. */
WA_INTERNAL void wa_client_open(lua_State *L);

#endif
