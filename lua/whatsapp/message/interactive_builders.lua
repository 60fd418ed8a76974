--- The interactive builders of whatsapp.message: interactive (the whole
-- object), buttons, list, cta_url, flow, product, product_list, catalog,
-- location_request, call_permission_request. Installed by message/init.lua,
-- which hands over its shared helpers (B). Validation of what they build is
-- in message/interactive.lua.
return function(B)
  local builder, check_arg, copy, put, seq, envelope, finish =
    B.builder, B.check_arg, B.copy, B.put, B.seq, B.envelope, B.finish
  local fail, join, at, HEADER_MEDIA = B.fail, B.join, B.at, B.HEADER_MEDIA

  --- Any interactive message from its full `interactive` object
  -- (`{type=…, header=…, body={text=…}, footer=…, action=…}`).
  -- @tparam string to recipient
  -- @tparam table interactive the interactive object
  -- @tparam[opt] table opts the common options
  -- @return the message table, or nil and an error
  builder("interactive", 2, nil, function(o, to, interactive)
    check_arg("interactive", "to", to, "string")
    check_arg("interactive", "interactive", interactive, "table")
    return finish(envelope(to, "interactive", copy(interactive), o), o)
  end)

  -- opts.header: "text", a full header object, or {image = link|{id=…}|{link=…}}
  local function header_of(h)
    if type(h) == "string" then return { type = "text", text = h } end
    if h.type ~= nil then return h end
    local kind, n = nil, 0
    for k in pairs(h) do kind, n = k, n + 1 end
    if n ~= 1 or not (HEADER_MEDIA[kind] or kind == "text") then return h end -- validation names what is wrong
    local v = h[kind]
    if HEADER_MEDIA[kind] and type(v) == "string" then v = { link = v } end
    return { type = kind, [kind] = v }
  end

  local function text_of(v)
    if v == nil or type(v) == "table" then return v end
    return { text = v }
  end

  local HEADER_FOOTER = { header = "string|table", footer = "string|table" }

  local function interactive(to, kind, body, action, o)
    local obj = {
      type = kind,
      header = o.header ~= nil and header_of(o.header) or nil,
      body = text_of(body),
      footer = text_of(o.footer),
      action = action,
    }
    return finish(envelope(to, "interactive", obj, o), o)
  end

  --- Reply buttons (1 to 3).
  -- @tparam string to recipient
  -- @tparam string body the message text
  -- @tparam table buttons list of `{id=…, title=…}`, or of strings used as both id and title
  -- @tparam[opt] table opts `header` (text, or `{image=link}` / video / document), `footer`, common options
  -- @return the message table, or nil and an error
  builder("buttons", 3, HEADER_FOOTER, function(o, to, body, buttons)
    check_arg("buttons", "to", to, "string")
    check_arg("buttons", "body", body, "string|table")
    check_arg("buttons", "buttons", buttons, "table")
    local out = {}
    for i = 1, seq(buttons, "interactive.action.buttons") do
      local b = buttons[i]
      if type(b) == "string" then
        out[i] = { type = "reply", reply = { id = b, title = b } }
      elseif type(b) == "table" and b.type == nil and b.reply == nil then
        out[i] = { type = "reply", reply = copy(b) }
      else
        out[i] = b -- a full button object, or something validation refuses by name
      end
    end
    return interactive(to, "button", body, { buttons = out }, o)
  end)

  --- A list message: a button that opens sections of rows (at most 10 rows in all).
  -- @tparam string to recipient
  -- @tparam string body the message text
  -- @tparam string button the label of the button that opens the list
  -- @tparam table sections list of `{title=…, rows={{id=…, title=…, description=…}, …}}`,
  --   or directly a list of rows for one untitled section
  -- @tparam[opt] table opts `header` (text only), `footer`, common options
  -- @return the message table, or nil and an error
  builder("list", 4, HEADER_FOOTER, function(o, to, body, button, sections)
    check_arg("list", "to", to, "string")
    check_arg("list", "body", body, "string|table")
    check_arg("list", "button", button, "string")
    check_arg("list", "sections", sections, "table")
    local first = sections[1]
    if type(first) == "table" and first.rows == nil and first.id ~= nil then
      sections = { { rows = sections } } -- rows given directly
    end
    return interactive(to, "list", body, { button = button, sections = sections }, o)
  end)

  --- A call-to-action URL button.
  -- @tparam string to recipient
  -- @tparam string body the message text
  -- @tparam string display_text the button label
  -- @tparam string url what the button opens (http or https)
  -- @tparam[opt] table opts `header`, `footer`, common options
  -- @return the message table, or nil and an error
  builder("cta_url", 4, HEADER_FOOTER, function(o, to, body, display_text, url)
    check_arg("cta_url", "to", to, "string")
    check_arg("cta_url", "body", body, "string|table")
    check_arg("cta_url", "display_text", display_text, "string")
    check_arg("cta_url", "url", url, "string")
    return interactive(to, "cta_url", body,
      { name = "cta_url", parameters = { display_text = display_text, url = url } }, o)
  end)

  -- short names of the flow parameters
  local FLOW_KEYS = {
    id = "flow_id", name = "flow_name", cta = "flow_cta", token = "flow_token", action = "flow_action",
  }

  --- A WhatsApp Flow.
  -- @tparam string to recipient
  -- @tparam string body the message text
  -- @tparam table flow `id` or `name` (the flow), `cta` (button label), `token`, `action`
  --   ("navigate", the default, or "data_exchange"), `screen` and `data` (first screen, navigate only),
  --   `mode` ("draft"/"published"); the JSON names (flow_id, flow_cta, …) are accepted too
  -- @tparam[opt] table opts `header`, `footer`, common options
  -- @return the message table, or nil and an error
  builder("flow", 3, HEADER_FOOTER, function(o, to, body, flow)
    check_arg("flow", "to", to, "string")
    check_arg("flow", "body", body, "string|table")
    check_arg("flow", "flow", flow, "table")
    local path = "interactive.action.parameters"
    local params = { flow_message_version = "3" }
    local payload
    for k, v in pairs(flow) do
      if k == "screen" or k == "data" then
        payload = payload or {}
        payload[k] = v
      else
        local key = FLOW_KEYS[k] or k -- other keys pass on: validation names unknown ones
        if key ~= "flow_message_version" and params[key] ~= nil then fail(join(path, key), "given twice") end
        params[key] = v
      end
    end
    put(params, "flow_action_payload", payload, path)
    return interactive(to, "flow", body, { name = "flow", parameters = params }, o)
  end)

  --- A single product from a catalog.
  -- @tparam string to recipient
  -- @tparam string catalog_id the catalog
  -- @tparam string product_retailer_id the product's SKU
  -- @tparam[opt] table opts `body`, `footer`, common options (no header on product messages)
  -- @return the message table, or nil and an error
  builder("product", 3, { body = "string|table", footer = "string|table" }, function(o, to, catalog_id, sku)
    check_arg("product", "to", to, "string")
    check_arg("product", "catalog_id", catalog_id, "string")
    check_arg("product", "product_retailer_id", sku, "string")
    return interactive(to, "product", o.body, { catalog_id = catalog_id, product_retailer_id = sku }, o)
  end)

  --- Several products from a catalog, in sections (at most 30 in all).
  -- @tparam string to recipient
  -- @tparam string|table header the header text (required on product lists)
  -- @tparam string body the message text
  -- @tparam string catalog_id the catalog
  -- @tparam table sections list of `{title=…, product_items={"sku1", "sku2"}}` (SKU strings or
  --   `{product_retailer_id=…}`), or directly a list of SKUs for one untitled section
  -- @tparam[opt] table opts `footer`, common options
  -- @return the message table, or nil and an error
  builder("product_list", 5, { footer = "string|table" }, function(o, to, header, body, catalog_id, sections)
    check_arg("product_list", "to", to, "string")
    check_arg("product_list", "header", header, "string|table")
    check_arg("product_list", "body", body, "string|table")
    check_arg("product_list", "catalog_id", catalog_id, "string")
    check_arg("product_list", "sections", sections, "table")
    local first = sections[1]
    if type(first) == "string" or (type(first) == "table" and first.product_retailer_id ~= nil) then
      sections = { { product_items = sections } } -- SKUs given directly
    end
    local out = {}
    for i = 1, seq(sections, "interactive.action.sections") do
      local s = sections[i]
      if type(s) == "table" and type(s.product_items) == "table" then
        s = copy(s)
        local items = {}
        for j = 1, seq(s.product_items, at("interactive.action.sections", i) .. ".product_items") do
          local it = s.product_items[j]
          items[j] = type(it) == "string" and { product_retailer_id = it } or it
        end
        s.product_items = items
      end
      out[i] = s
    end
    local obj = { header = header }
    for k, v in pairs(o) do obj[k] = v end
    return interactive(to, "product_list", body, { catalog_id = catalog_id, sections = out }, obj)
  end)

  --- The business's whole catalog.
  -- @tparam string to recipient
  -- @tparam string body the message text
  -- @tparam[opt] table opts `thumbnail` (product_retailer_id of the thumbnail), `footer`, common options
  -- @return the message table, or nil and an error
  builder("catalog", 2, { thumbnail = "string", footer = "string|table" }, function(o, to, body)
    check_arg("catalog", "to", to, "string")
    check_arg("catalog", "body", body, "string|table")
    local action = { name = "catalog_message" }
    if o.thumbnail ~= nil then action.parameters = { thumbnail_product_retailer_id = o.thumbnail } end
    return interactive(to, "catalog_message", body, action, o)
  end)

  --- Asks the user to share their location.
  -- @tparam string to recipient
  -- @tparam string body the message text
  -- @tparam[opt] table opts `footer`, common options
  -- @return the message table, or nil and an error
  builder("location_request", 2, { footer = "string|table" }, function(o, to, body)
    check_arg("location_request", "to", to, "string")
    check_arg("location_request", "body", body, "string|table")
    return interactive(to, "location_request_message", body, { name = "send_location" }, o)
  end)

  --- Asks the user for permission to call them (WhatsApp Business Calling).
  -- Meta lets the business set only the body: no header, no footer. The body
  -- is optional, though Meta advises one that says why you want to call.
  -- @tparam string to recipient
  -- @tparam[opt] string|table body the message text (nil: none)
  -- @tparam[opt] table opts the common options
  -- @return the message table, or nil and an error
  builder("call_permission_request", 2, nil, function(o, to, body)
    check_arg("call_permission_request", "to", to, "string")
    check_arg("call_permission_request", "body", body, "string|table|nil")
    return interactive(to, "call_permission_request", body, { name = "call_permission_request" }, o)
  end)
end
