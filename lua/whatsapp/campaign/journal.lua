--- A campaign's journal: an append-only file of JSON records, one a line,
-- keyed by the input's line number and the SHA-256 of the line's message
-- bytes. A "start" record is written before an attempt (and reaches the
-- disk, fsync, before the request does); an outcome record ("sent" with the
-- message id, "failed" with the error, "ambiguous" when the attempt may have
-- delivered) after it. Reading it back gives each line's last state; a rerun
-- decides from that what to send (decide).
local core = require "whatsapp.core"

local encode, decode = core.encode, core.decode
local format = string.format

local M = {}

M.MAX_BYTES = 1024 * 1024 * 1024 -- 1 GiB: millions of records

local Journal = {}
Journal.__index = Journal

local EVENTS = { start = true, sent = true, failed = true, ambiguous = true }

-- One record into the state of its line; nil, or what is wrong with it.
local function apply(states, r)
  if type(r) ~= "table" or type(r.line) ~= "number" or r.line < 1 or r.line % 1 ~= 0
    or type(r.hash) ~= "string" or not EVENTS[r.event] then
    return "is not a record of a campaign journal"
  end
  local st = states[r.line]
  if not st then
    st = { hash = r.hash, attempts = 0 }
    states[r.line] = st
  elseif st.hash ~= r.hash then
    return "names line " .. r.line .. " with another hash than before"
  end
  st.event = r.event
  if r.event == "start" then
    st.attempts = tonumber(r.attempt) or st.attempts + 1
    st.resent = r.resend == true
  else
    st.message_id, st.code, st.status, st.field, st.message, st.retry =
      r.message_id, r.code, r.status, r.field, r.message, r.retry == true
  end
  return nil
end

--- Opens the journal at path (creating it), reads its records back and
-- drops a torn last record (a crash mid-write: no line break at its end).
-- Holds a lock on it until closed (or the process ends). Returns the
-- journal, or nil and what is wrong (a record broken in the middle, a file
-- that cannot be opened, another run holding it).
function M.open(path)
  local file, why = core.append_open(path)
  if not file then return nil, "cannot open the journal " .. why end
  -- one run per journal: a second one at the same time would send twice
  local locked, lerr = file:lock()
  if not locked then
    file:close()
    return nil, lerr == "locked" and ("the journal " .. path .. " is in use by another run of this campaign")
      or ("cannot lock the journal " .. path .. ": " .. lerr)
  end
  -- read through the same descriptor: closing another one would drop the lock
  local text, rerr = file:read(M.MAX_BYTES)
  if not text then
    file:close()
    return nil, "cannot read the journal " .. path .. ": " .. rerr
  end
  local self = setmetatable({ path = path, file = file, states = {}, torn = false }, Journal)
  local keep = #text
  if keep > 0 and text:sub(-1) ~= "\n" then
    keep = (text:match("^.*()\n") or 0) -- just after the last line break (0: none)
    self.torn = true
    local ok, terr = file:truncate(keep)
    if not ok then
      file:close()
      return nil, "cannot drop the torn last record of " .. path .. ": " .. terr
    end
    text = text:sub(1, keep)
  end
  local n = 0
  for line in text:gmatch("([^\n]*)\n") do
    n = n + 1
    local problem = apply(self.states, (decode(line)))
    if problem then
      file:close()
      return nil, "the journal " .. path .. " is damaged: its line " .. n .. " " .. problem
    end
  end
  self.records = n
  return self
end

--- The first line of items whose hash differs from the journal's (the
-- input changed under it), or a line the journal has that the input lacks:
-- nil when none, else the line number and what differs.
function Journal:changed_line(items)
  local seen = {}
  for _, item in ipairs(items) do
    local st = self.states[item.line]
    seen[item.line] = true
    if st and st.hash ~= item.hash then
      return item.line, "its message differs from the one the journal recorded"
    end
  end
  local worst
  for line in pairs(self.states) do
    if not seen[line] and (not worst or line < worst) then worst = line end
  end
  if worst then return worst, "the journal has a record of it, the input has no valid message there" end
  return nil
end

--- What a rerun does with a line (its state st, or nil): "send" (never
-- attempted, or failed with an error worth retrying), "done" (sent),
-- "final" (failed for good), "ambiguous" (an attempt that may have
-- delivered: sent again only with resend_ambiguous, then "resend").
function M.decide(st, resend_ambiguous)
  if not st then return "send" end
  local e = st.event
  if e == "sent" then return "done" end
  if e == "failed" then return st.retry and "send" or "final" end
  return resend_ambiguous and "resend" or "ambiguous"
end

--- Writes the start records of items (a list) and syncs them to the disk;
-- resend[k] true marks an item sent again after an ambiguous attempt.
function Journal:start(items, attempts, resend)
  local parts = {}
  for k, item in ipairs(items) do
    parts[k] = format('{"attempt":%d,"event":"start","hash":"%s","line":%d%s}\n', attempts[k], item.hash,
      item.line, resend and resend[k] and ',"resend":true' or "")
  end
  local ok, why = self.file:write(table.concat(parts))
  if ok then ok, why = self.file:sync() end
  if not ok then return nil, "cannot write the journal " .. self.path .. ": " .. why end
  return true
end

--- Appends an outcome: "sent" (message_id) or "failed"/"ambiguous" (err,
-- retry). Written at once (a crash of the process keeps it); sync makes it
-- durable.
function Journal:outcome(item, event, message_id, err, retry)
  local text
  if event == "sent" then
    text = format('{"event":"sent","hash":"%s","line":%d,"message_id":%s}\n', item.hash, item.line,
      encode(message_id))
  else
    text = encode { event = event, hash = item.hash, line = item.line, code = err.code, status = err.status,
      field = err.field, message = err.message, retry = retry or nil } .. "\n"
  end
  local ok, why = self.file:write(text)
  if not ok then return nil, "cannot write the journal " .. self.path .. ": " .. why end
  return true
end

function Journal:sync()
  local ok, why = self.file:sync()
  if not ok then return nil, "cannot write the journal " .. self.path .. ": " .. why end
  return true
end

function Journal:close()
  self.file:close()
end

return M
