std = "min"
read_globals = { "jit" }
max_line_length = 120
-- a ratchet: no function may branch more than this (package_spec fails on any warning)
max_cyclomatic_complexity = 20
files["spec/**/*.lua"] = { std = "+busted" }
files["examples/**/*.lua"] = { read_globals = { "arg" } }
exclude_files = { "build" }
-- bin/whatsapp is a Lua script without the .lua suffix: `luacheck bin` checks it too
include_files = { "**/*.lua", "bin/whatsapp", "*.rockspec", ".luacheckrc" }
files["bin/whatsapp"] = { read_globals = { "arg" } }
-- code that only ever runs inside nginx (ngx_lua): ngx is its standard library
files["examples/nginx/*.lua"] = { std = "min+ngx_lua" }
files["spec/support/nginx_handlers.lua"] = { std = "min+ngx_lua" }
files["spec/support/nginx_rate.lua"] = { std = "min+ngx_lua" }
files["spec/support/resp.lua"] = { std = "min+ngx_lua" }
