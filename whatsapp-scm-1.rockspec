rockspec_format = "3.0"
package = "whatsapp"
version = "scm-1"
source = {
  -- `luarocks make` builds from the checkout and never fetches this; it is
  -- set for real when the project is published.
  url = "git+https://example.invalid/whatsapp.git",
}
description = {
  summary = "Send WhatsApp messages through AWS End User Messaging Social",
  detailed = [[
A Lua module with a C core (SigV4 with OpenSSL, JSON with cJSON, HTTP with libcurl)
that calls SendWhatsAppMessage, uploads media and finds phone numbers, and a
`whatsapp` command. Works on Lua 5.4 and LuaJIT 2.1.
]],
  license = "MIT",
  labels = { "aws", "whatsapp", "sigv4" },
}
dependencies = { "lua >= 5.1" }
external_dependencies = {
  -- Debian keeps curl/curl.h under the multiarch include dir, which LuaRocks 3.8
  -- does not search: check the library only, the compiler finds the header.
  CURL = { library = "curl" },
  OPENSSL = { header = "openssl/evp.h", library = "crypto" },
  CJSON = { header = "cjson/cJSON.h", library = "cjson" },
}
build = {
  type = "builtin",
  modules = {
    ["whatsapp"] = "lua/whatsapp/init.lua",
    ["whatsapp.argv"] = "lua/whatsapp/argv.lua",
    ["whatsapp.array"] = "lua/whatsapp/array.lua",
    ["whatsapp.attempts"] = "lua/whatsapp/attempts.lua",
    ["whatsapp.batch"] = "lua/whatsapp/batch.lua",
    ["whatsapp.campaign"] = "lua/whatsapp/campaign/init.lua",
    ["whatsapp.campaign.command"] = "lua/whatsapp/campaign/command.lua",
    ["whatsapp.campaign.input"] = "lua/whatsapp/campaign/input.lua",
    ["whatsapp.campaign.journal"] = "lua/whatsapp/campaign/journal.lua",
    ["whatsapp.campaign.progress"] = "lua/whatsapp/campaign/progress.lua",
    ["whatsapp.campaign.results"] = "lua/whatsapp/campaign/results.lua",
    ["whatsapp.cli"] = "lua/whatsapp/cli.lua",
    ["whatsapp.client"] = "lua/whatsapp/client.lua",
    ["whatsapp.config"] = "lua/whatsapp/config.lua",
    ["whatsapp.credentials"] = "lua/whatsapp/credentials/init.lua",
    ["whatsapp.credentials.common"] = "lua/whatsapp/credentials/common.lua",
    ["whatsapp.credentials.container"] = "lua/whatsapp/credentials/container.lua",
    ["whatsapp.credentials.environment"] = "lua/whatsapp/credentials/environment.lua",
    ["whatsapp.credentials.files"] = "lua/whatsapp/credentials/files.lua",
    ["whatsapp.credentials.imds"] = "lua/whatsapp/credentials/imds.lua",
    ["whatsapp.credentials.ini"] = "lua/whatsapp/credentials/ini.lua",
    ["whatsapp.credentials.process"] = "lua/whatsapp/credentials/process.lua",
    ["whatsapp.credentials.profile"] = "lua/whatsapp/credentials/profile.lua",
    ["whatsapp.credentials.sts"] = "lua/whatsapp/credentials/sts.lua",
    ["whatsapp.credentials.web_identity"] = "lua/whatsapp/credentials/web_identity.lua",
    ["whatsapp.credentials.xml"] = "lua/whatsapp/credentials/xml.lua",
    ["whatsapp.errors"] = "lua/whatsapp/errors.lua",
    ["whatsapp.inbound"] = "lua/whatsapp/inbound/init.lua",
    ["whatsapp.inbound.cert"] = "lua/whatsapp/inbound/cert.lua",
    ["whatsapp.inbound.dedupe"] = "lua/whatsapp/inbound/dedupe.lua",
    ["whatsapp.inbound.events"] = "lua/whatsapp/inbound/events.lua",
    ["whatsapp.inbound.nginx"] = "lua/whatsapp/inbound/nginx.lua",
    ["whatsapp.inbound.reply"] = "lua/whatsapp/inbound/reply.lua",
    ["whatsapp.inbound.sns"] = "lua/whatsapp/inbound/sns.lua",
    ["whatsapp.message"] = "lua/whatsapp/message/init.lua",
    ["whatsapp.message.checks"] = "lua/whatsapp/message/checks.lua",
    ["whatsapp.message.codepoints"] = "lua/whatsapp/message/codepoints.lua",
    ["whatsapp.message.emoji"] = "lua/whatsapp/message/emoji.lua",
    ["whatsapp.message.interactive"] = "lua/whatsapp/message/interactive.lua",
    ["whatsapp.message.interactive_builders"] = "lua/whatsapp/message/interactive_builders.lua",
    ["whatsapp.message.media"] = "lua/whatsapp/message/media.lua",
    ["whatsapp.message.rules"] = "lua/whatsapp/message/rules.lua",
    ["whatsapp.message.template"] = "lua/whatsapp/message/template.lua",
    ["whatsapp.message.template_builders"] = "lua/whatsapp/message/template_builders.lua",
    ["whatsapp.message.validate"] = "lua/whatsapp/message/validate.lua",
    ["whatsapp.options"] = "lua/whatsapp/options.lua",
    ["whatsapp.params"] = "lua/whatsapp/params.lua",
    ["whatsapp.rate"] = "lua/whatsapp/rate/init.lua",
    ["whatsapp.rate.memory"] = "lua/whatsapp/rate/memory.lua",
    ["whatsapp.rate.redis"] = "lua/whatsapp/rate/redis.lua",
    ["whatsapp.rate.shared_dict"] = "lua/whatsapp/rate/shared_dict.lua",
    ["whatsapp.retry"] = "lua/whatsapp/retry.lua",
    ["whatsapp.send_later"] = "lua/whatsapp/send_later.lua",
    ["whatsapp.senders"] = "lua/whatsapp/senders.lua",
    ["whatsapp.service.accounts"] = "lua/whatsapp/service/accounts.lua",
    ["whatsapp.service.call"] = "lua/whatsapp/service/call.lua",
    ["whatsapp.service.media"] = "lua/whatsapp/service/media.lua",
    ["whatsapp.service.model"] = "lua/whatsapp/service/model.lua",
    ["whatsapp.service.operations"] = "lua/whatsapp/service/operations.lua",
    ["whatsapp.service.send"] = "lua/whatsapp/service/send.lua",
    ["whatsapp.time"] = "lua/whatsapp/time.lua",
    ["whatsapp.transport"] = "lua/whatsapp/transport/init.lua",
    ["whatsapp.transport.answer"] = "lua/whatsapp/transport/answer.lua",
    ["whatsapp.transport.http"] = "lua/whatsapp/transport/http.lua",
    ["whatsapp.transport.resty"] = "lua/whatsapp/transport/resty.lua",
    ["whatsapp.url"] = "lua/whatsapp/url.lua",
    ["whatsapp.core"] = {
      sources = { "src/lua_core.c", "src/lua_client.c", "src/lua_batch.c", "src/lua_util.c", "src/request.c",
        "src/sigv4.c", "src/json.c", "src/json_encode.c", "src/json_decode.c", "src/json_text.c", "src/http.c",
        "src/crypto.c", "src/buf.c", "src/multi.c", "src/head.c", "src/file.c",
        "src/campaign.c", "src/verify.c" },
      defines = { "_POSIX_C_SOURCE=200809L", "OPENSSL_API_COMPAT=0x30000000L", "OPENSSL_NO_DEPRECATED",
        'WA_VERSION="scm"' },
      libraries = { "curl", "crypto", "cjson" },
      incdirs = { "$(OPENSSL_INCDIR)", "$(CJSON_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)", "$(CJSON_LIBDIR)" },
    },
  },
  install = {
    -- a Lua script: LuaRocks wraps it to run with this tree's interpreter and paths
    bin = { whatsapp = "bin/whatsapp" },
  },
}
test = {
  type = "command",
  command = "make test",
}
