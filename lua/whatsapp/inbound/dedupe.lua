--- "Seen before?" for SNS MessageIds: a lua_shared_dict (atomic add with a
-- TTL, shared by the workers), a function(key, ttl) -> true when first seen,
-- or by default a bounded memory of this process.
local M = {}

M.MEMORY_ENTRIES = 10000

-- The default: at most max keys, each kept for ttl seconds; when full, the
-- oldest goes first (a ring of keys, so no scan).
local function memory(max, clock)
  local expires, ring, pos = {}, {}, 0
  return function(key, ttl)
    local now = clock()
    local until_ = expires[key]
    if until_ and until_ > now then return false end
    if not until_ then
      pos = pos % max + 1
      local old = ring[pos]
      if old then expires[old] = nil end
      ring[pos] = key
    end
    expires[key] = now + ttl
    return true
  end
end

-- ngx.shared[name]:add: true when added, false when it exists, nil and a
-- message when the dict fails (full of unexpired keys, …).
local function shared(name)
  return function(key, ttl)
    local ngx = rawget(_G, "ngx")
    local dict = ngx and ngx.shared and ngx.shared[name]
    if not dict then return nil, "lua_shared_dict " .. name .. " is not defined" end
    local ok, err = dict:add(key, true, ttl)
    if ok then return true end
    if err == "exists" then return false end
    return nil, err
  end
end

--- opts.dedupe (nil, a dict name or a function) -> function(key, ttl) ->
-- true (first) | false (seen) | nil, message (unavailable)
function M.new(option, clock)
  if type(option) == "function" then return option end
  if type(option) == "string" then return shared(option) end
  return memory(M.MEMORY_ENTRIES, clock)
end

return M
