/* The Batch userdata of whatsapp.core (lua_batch.c): many requests in
 * flight on a libcurl multi handle (multi.c). */
#ifndef WA_LUA_BATCH_H
#define WA_LUA_BATCH_H

#include "internal.h"
#include "lua_util.h"
#include "multi.h"

/* A Batch userdata owns its multi handle, easy handles and request buffers
 * (multi.c). It holds no pointer to the client: each add() is given the
 * client, whose encoder and signer build the request into a slot; libcurl
 * keeps its own copies of the URL and settings. Lua decides what to add when
 * (retries, pacing); this only moves bytes. */
struct wa_batch_ud {
  wa_guard guard; /* busy/close: see wa_guarded() */
  wa_batch b;
  int open;
  long http_version; /* of the last answer */
};

/* The end of a guarded call: releases the batch if close() came meanwhile. */
WA_INTERNAL void wa_batch_leave(wa_batch_ud *u);

/* client:batch(slots), a method of the Client. */
WA_INTERNAL int wa_l_client_batch(lua_State *L);

/* Registers the Batch metatable. */
WA_INTERNAL void wa_batch_open(lua_State *L);

#endif
