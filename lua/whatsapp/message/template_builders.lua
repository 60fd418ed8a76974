--- The template builder of whatsapp.message, with its helpers: parameters,
-- buttons, carousel cards, the short form of components, button indexes as
-- strings. Installed by message/init.lua, which hands over its shared
-- helpers (B). Validation of what it builds is in message/template.lua.
local codepoints = require "whatsapp.message.codepoints"
local validate = require "whatsapp.message.validate"

return function(B)
  local builder, check_arg, copy, seq, envelope, finish =
    B.builder, B.check_arg, B.copy, B.seq, B.envelope, B.finish
  local fail, join, at, HEADER_MEDIA = B.fail, B.join, B.at, B.HEADER_MEDIA

  local PARAM_KINDS = { "text", "currency", "date_time", "image", "video", "document", "location", "product" }
  local IS_PARAM_KEY = { type = true, parameter_name = true }
  for _, k in ipairs(PARAM_KINDS) do IS_PARAM_KEY[k] = true end

  -- One parameter: a string (text), a full parameter object, or a table with
  -- one parameter key whose type is then implied: {currency = {…}},
  -- {image = "https://…"} (a link), {text = "…", parameter_name = "…"}.
  local function param(p)
    if type(p) ~= "table" then return { type = "text", text = p } end
    if p.type ~= nil then return p end
    local kind
    for _, k in ipairs(PARAM_KINDS) do
      if p[k] ~= nil then
        if kind then return p end -- two kinds: validation says type is required
        kind = k
      end
    end
    if not kind then return p end
    local out = copy(p)
    out.type = kind
    if HEADER_MEDIA[kind] and type(p[kind]) == "string" then out[kind] = { link = p[kind] } end
    return out
  end

  -- Is t one parameter rather than a list or a map of named parameters?
  local function single_param(t)
    for k in pairs(t) do
      if not IS_PARAM_KEY[k] then return false end
    end
    return next(t) ~= nil
  end

  -- The parameters of a header or body: one value, a list (positional), or a
  -- map name -> value (named parameters, sorted by name for stable output).
  local function params(v, path)
    if type(v) ~= "table" or single_param(v) then return { param(v) } end
    if v[1] ~= nil then
      local out = {}
      for i = 1, seq(v, path) do out[i] = param(v[i]) end
      return out
    end
    local names = {}
    for k in pairs(v) do
      if type(k) ~= "string" then fail(path, "must be a list of parameters or a map of named ones, not both") end
      names[#names + 1] = k
    end
    table.sort(names)
    local out = {}
    for i, name in ipairs(names) do
      local p = param(v[name])
      if p == v[name] then p = copy(p) end
      if p.parameter_name ~= nil and p.parameter_name ~= name then
        fail(join(path, name), "parameter_name differs from its key")
      end
      p.parameter_name = name
      out[i] = p
    end
    return out
  end

  local SUB_TYPES = { "quick_reply", "url", "copy_code", "flow", "catalog", "mpm" }

  -- A template button: a full component, or {<sub_type> = value, index = n}
  -- with index defaulting to its position (0-based).
  local function button(b, i, path)
    if type(b) ~= "table" then
      fail(path, 'must be a table such as {quick_reply = "PAYLOAD"} or {url = "suffix"}, or false to skip an index')
    end
    if b.type ~= nil then return b end
    local sub
    for _, s in ipairs(SUB_TYPES) do
      if b[s] ~= nil then
        if sub then fail(path, "one sub_type per button (got " .. sub .. " and " .. s .. ")") end
        sub = s
      end
    end
    if not sub then fail(path, "needs one of " .. table.concat(SUB_TYPES, ", ")) end
    local v = b[sub]
    local p
    if sub == "quick_reply" then
      p = { type = "payload", payload = v }
    elseif sub == "url" then
      p = { type = "text", text = v }
    elseif sub == "copy_code" then
      p = { type = "coupon_code", coupon_code = v }
    elseif sub == "catalog" and type(v) == "string" then
      p = { type = "action", action = { thumbnail_product_retailer_id = v } }
    elseif sub == "flow" and type(v) == "string" then
      p = { type = "action", action = { flow_token = v } }
    else
      p = { type = "action", action = v }
    end
    local out = { type = "button", sub_type = sub, index = tostring(i - 1), parameters = { p } }
    for k, x in pairs(b) do
      if k ~= sub then out[k] = x end -- index, and unknown keys for validation to name
    end
    return out
  end

  local function buttons(list, path, out)
    for i = 1, seq(list, path) do
      if list[i] ~= false then out[#out + 1] = button(list[i], i, at(path, i)) end
    end
  end

  local SHORT_COMPONENTS = {
    header = true, body = true, buttons = true, limited_time_offer = true, carousel = true, otp = true,
  }

  local components -- cards hold components too

  local function card(c, i, path)
    if type(c) ~= "table" then fail(path, "must be a table {header=…, body=…, buttons=…}") end
    if c.components ~= nil then
      if c.card_index ~= nil then return c end
      local out = copy(c)
      out.card_index = i - 1
      return out
    end
    local short, rest = {}, {}
    for k, v in pairs(c) do
      if k == "header" or k == "body" or k == "buttons" then short[k] = v else rest[k] = v end
    end
    rest.card_index = c.card_index or (i - 1)
    rest.components = components(short, path)
    return rest
  end

  -- The short form {header=…, body=…, buttons=…, limited_time_offer=…,
  -- carousel=…, otp=…} as the list of component objects Meta takes.
  function components(c, path)
    for k in pairs(c) do
      if not SHORT_COMPONENTS[k] then
        fail(join(path, tostring(k)), "unknown component (header, body, buttons, limited_time_offer, carousel, otp)")
      end
    end
    local out = {}
    if c.header ~= nil then out[#out + 1] = { type = "header", parameters = params(c.header, join(path, "header")) } end
    if c.limited_time_offer ~= nil then
      local lto = c.limited_time_offer
      if type(lto) ~= "table" then lto = { expiration_time_ms = lto } end
      out[#out + 1] = { type = "limited_time_offer",
        parameters = { { type = "limited_time_offer", limited_time_offer = lto } } }
    end
    if c.otp ~= nil then
      -- authentication templates: the code fills the body and the copy-code /
      -- one-tap button (a url button at index 0)
      local op = join(path, "otp")
      if c.body ~= nil or c.buttons ~= nil then fail(op, "fills the body and button 0: give no body or buttons") end
      if type(c.otp) ~= "string" then fail(op, "must be a string (got " .. type(c.otp) .. ")") end
      local n = codepoints.len(c.otp)
      if not n then fail(op, "not valid UTF-8") end
      local rule = validate.limit_rule("otp_code", n)
      if rule then fail(op, rule) end
      out[#out + 1] = { type = "body", parameters = { { type = "text", text = c.otp } } }
      out[#out + 1] = { type = "button", sub_type = "url", index = "0",
        parameters = { { type = "text", text = c.otp } } }
    end
    if c.body ~= nil then out[#out + 1] = { type = "body", parameters = params(c.body, join(path, "body")) } end
    if c.carousel ~= nil then
      local cp = join(path, "carousel")
      if type(c.carousel) ~= "table" then fail(cp, "must be a list of cards") end
      local cards = {}
      for i = 1, seq(c.carousel, cp) do cards[i] = card(c.carousel[i], i, at(cp, i)) end
      out[#out + 1] = { type = "carousel", cards = cards }
    end
    if c.buttons ~= nil then
      if type(c.buttons) ~= "table" then fail(join(path, "buttons"), "must be a list of buttons") end
      buttons(c.buttons, join(path, "buttons"), out)
    end
    if #out == 0 then return nil end
    return out
  end

  -- t, or a copy of t with t[key] = v when that changes it
  local function with(t, key, v)
    if t[key] == v then return t end
    local out = copy(t)
    out[key] = v
    return out
  end

  -- Meta types a template button's index as a string: a number given for
  -- one (an integer 0..9; anything else is left for validation to name) is
  -- sent as its digits, also with validate = false. What changes is copied:
  -- the caller's tables stay as they are.
  local function index_string(v)
    if type(v) == "number" and v % 1 == 0 and v >= 0 and v <= 9 then return string.format("%d", v) end
    return v
  end

  local string_indexes -- carousel cards hold components too

  local function card_string_indexes(c)
    if type(c) ~= "table" then return c end
    return with(c, "components", string_indexes(c.components))
  end

  local function component_string_index(c)
    if type(c) ~= "table" then return c end
    if c.type == "button" then return with(c, "index", index_string(c.index)) end
    if c.type == "carousel" and type(c.cards) == "table" then
      local cards
      for k, entry in pairs(c.cards) do
        local fixed = card_string_indexes(entry)
        if fixed ~= entry then
          cards = cards or copy(c.cards)
          cards[k] = fixed
        end
      end
      if cards then return with(c, "cards", cards) end
    end
    return c
  end

  function string_indexes(list)
    if type(list) ~= "table" then return list end
    local out
    for k, c in pairs(list) do
      local fixed = component_string_index(c)
      if fixed ~= c then
        out = out or copy(list)
        out[k] = fixed
      end
    end
    return out or list
  end

  local function template_arity(_, name) return type(name) == "table" and 2 or 4 end

  --- A template message.
  --   message.template(to, "order_update", "en_US", { body = { "Jane" } })
  --   message.template(to, { name = …, language = { code = … }, components = { … } })  -- the JSON object
  -- components: the list of component objects Meta takes, or the short form
  --   header = a parameter (string, {image = link}, {location = {…}}, …)
  --   body = list of parameters, or a map name -> value for named parameters
  --   buttons = list of {quick_reply = payload} / {url = suffix} / {copy_code = code} / {flow = {…}} /
  --             {catalog = sku} / {mpm = {…}}, index = position unless given; false skips an index
  -- A button index given as a number is sent as a string ("0"), in every form.
  --   limited_time_offer = expiration time in ms;  carousel = list of {header=, body=, buttons=}
  --   otp = code (authentication templates: body text and the url button 0)
  -- A parameter is a string (text), `{currency = {fallback_value=, code=, amount_1000=}}`,
  -- `{date_time = {fallback_value=}}`, `{image|video|document = link or {id=…}}`,
  -- `{location = {…}}`, or a full parameter object.
  -- @tparam string to recipient
  -- @tparam string|table name template name, or the whole template object
  -- @tparam string|table language code ("en_US") or `{code=…, policy=…}`
  -- @tparam[opt] table components as above
  -- @tparam[opt] table opts the common options
  -- @return the message table, or nil and an error
  builder("template", template_arity, nil, function(o, to, name, language, components_in)
    check_arg("template", "to", to, "string")
    check_arg("template", "name", name, "string|table")
    if type(name) == "table" then
      local tpl = copy(name)
      tpl.components = string_indexes(tpl.components)
      return finish(envelope(to, "template", tpl, o), o)
    end
    check_arg("template", "language", language, "string|table")
    check_arg("template", "components", components_in, "table|nil")
    local tpl = { name = name, language = type(language) == "string" and { code = language } or language }
    local c = components_in
    if c ~= nil and next(c) ~= nil then
      -- a list is the full form; a map the short form
      tpl.components = string_indexes(c[1] ~= nil and c or components(c, "template.components"))
    end
    return finish(envelope(to, "template", tpl, o), o)
  end)
end
