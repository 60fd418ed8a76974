--- Is a string exactly one emoji? For reactions, which carry one emoji, or
-- "" to remove the reaction. Pure Lua, no Unicode tables beyond the
-- pictographic ranges in whatsapp.message.rules: a ZWJ sequence (👩‍💻), a flag
-- (two regional indicators), a keycap (1️⃣), a skin tone or a subdivision
-- flag counts as one emoji, as it shows as one.
local rules = require "whatsapp.message.rules"
local codepoints = require "whatsapp.message.codepoints"

local EMOJI_RANGES = rules.EMOJI_RANGES
local function pictographic(cp)
  local lo, hi = 1, #EMOJI_RANGES
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    local r = EMOJI_RANGES[mid]
    if cp < r[1] then hi = mid - 1 elseif cp > r[2] then lo = mid + 1 else return true end
  end
  return false
end

local function regional(cp) return cp >= 0x1F1E6 and cp <= 0x1F1FF end
local function skin_tone(cp) return cp >= 0x1F3FB and cp <= 0x1F3FF end
local function keycap_base(cp) return (cp >= 0x30 and cp <= 0x39) or cp == 0x23 or cp == 0x2A end

-- One emoji element starting at cps[i]; returns the index after it, or nil.
local function emoji_element(cps, i)
  local cp = cps[i]
  if cp == nil then return nil end
  if regional(cp) then -- a flag is two regional indicators
    if cps[i + 1] and regional(cps[i + 1]) then return i + 2 end
    return nil
  end
  if keycap_base(cp) then -- 1️⃣: digit, optional FE0F, U+20E3
    i = i + 1
    if cps[i] == 0xFE0F then i = i + 1 end
    if cps[i] == 0x20E3 then return i + 1 end
    return nil
  end
  if not pictographic(cp) then return nil end
  i = i + 1
  if cps[i] == 0xFE0F or cps[i] == 0xFE0E then i = i + 1 end
  if cps[i] and skin_tone(cps[i]) then i = i + 1 end
  if cps[i] and cps[i] >= 0xE0020 and cps[i] <= 0xE007E then -- tag sequence (subdivision flags)
    while cps[i] and cps[i] >= 0xE0020 and cps[i] <= 0xE007E do i = i + 1 end
    if cps[i] ~= 0xE007F then return nil end
    i = i + 1
  end
  return i
end

--- Exactly one emoji (ZWJ sequences, flags, keycaps and skin tones count as
-- one), or "" which removes a reaction.
local function single_emoji(s)
  local cps = codepoints.decode(s)
  if #cps == 0 then return true end
  local i = emoji_element(cps, 1)
  while i and cps[i] == 0x200D do i = emoji_element(cps, i + 1) end
  return i == #cps + 1
end


return single_emoji
