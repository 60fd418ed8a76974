--- A campaign's progress, written to a stream (the command's stderr): on a
-- terminal one line redrawn in place at most 10 times a second (sent,
-- failed, left, messages per second, elapsed and remaining time, a bar);
-- elsewhere a plain line every `interval` seconds (JSON with json = true).
-- Only our own text is written: no byte of the input or of an answer.
local core = require "whatsapp.core"

local monotonic = core.monotonic

local M = {}

local Progress = {}
Progress.__index = Progress

local BAR = 20

local function clock(s)
  s = math.floor(s + 0.5)
  local floor = math.floor
  if s >= 3600 then return string.format("%d:%02d:%02d", floor(s / 3600), floor(s % 3600 / 60), s % 60) end
  return string.format("%d:%02d", floor(s / 60), s % 60)
end

--- opts: out (a file handle), tty (redraw one line), json, interval
-- (seconds between plain lines, default 5), total (lines to send).
function M.new(opts)
  return setmetatable({ out = opts.out, tty = opts.tty, json = opts.json, interval = opts.interval or 5,
    total = opts.total, started = monotonic(), last = nil, drawn = false }, Progress)
end

-- The figures: c holds sent, failed, left (this run's counts).
local function figures(self, c, now)
  local elapsed = now - self.started
  local done = c.sent + c.failed
  local speed = elapsed > 0 and c.sent / elapsed or 0
  local eta = speed > 0 and c.left / speed or nil
  return elapsed, done, speed, eta
end

function Progress:line(c, now)
  local elapsed, done, speed, eta = figures(self, c, now or monotonic())
  if self.json then
    return core.encode { progress = { sent = c.sent, failed = c.failed, left = c.left,
      per_second = math.floor(speed * 10 + 0.5) / 10, elapsed = math.floor(elapsed * 10 + 0.5) / 10,
      remaining = eta and math.floor(eta + 0.5) or core.null } }
  end
  local text = string.format("sent %d  failed %d  left %d  %.1f/s  elapsed %s  remaining %s", c.sent, c.failed,
    c.left, speed, clock(elapsed), eta and clock(eta) or "?")
  if self.tty then
    local all = done + c.left
    local filled = all > 0 and math.floor(BAR * done / all) or BAR
    text = text .. "  [" .. string.rep("#", filled) .. string.rep("-", BAR - filled) .. "]"
  end
  return text
end

--- Draws c (sent, failed, left) if it is time: on a terminal at most every
-- 0.1 s, else every interval seconds. force draws now.
function Progress:update(c, force)
  local now = monotonic()
  local gap = self.tty and 0.1 or self.interval
  if not force and self.last and now - self.last < gap then return end
  if not force and not self.last and not self.tty and now - self.started < gap then return end
  self.last = now
  if self.tty then
    self.out:write("\r", self:line(c, now), "\27[K")
    self.drawn = true
  else
    self.out:write(self:line(c, now), "\n")
  end
  self.out:flush()
end

--- Ends the redrawn line (the summary goes below it).
function Progress:finish(c)
  if self.tty then
    self:update(c, true)
    self.out:write("\n")
    self.out:flush()
  end
end

return M
