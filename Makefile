# whatsapp: build the C core for Lua 5.4 and LuaJIT, test both, run the demo.
#   make deps    install what is missing (Debian 12 packages; needs root or sudo)
#   make         build build/lua5.4/whatsapp/core.so and build/luajit/whatsapp/core.so
#   make test    deps + build + the whole suite on both runtimes
#   make demo    deps + build + send one message through the local stand-in
#                (or for real, with AWS credentials, WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_TO set)
#   make rock    build/whatsapp-<version>-1.src.rock, the source rock a release uploads (offline)
#   make bench   the benchmark of BENCHMARKS.md (needs a quiet machine; Node and npm for the JS SDK peer)
#   make bench-resty  its OpenResty section alone (nginx + ngx_lua driven by wrk)

SRC := src/lua_core.c src/lua_client.c src/lua_batch.c src/lua_util.c src/request.c src/sigv4.c src/json.c src/json_encode.c src/json_decode.c src/json_text.c src/http.c src/crypto.c src/buf.c src/multi.c src/head.c src/file.c src/campaign.c src/verify.c
HDR := $(wildcard src/*.h)

# The version: the release rockspec's `local VERSION` (its one source of truth)
RELEASE_ROCKSPEC := $(firstword $(wildcard rockspecs/whatsapp-*-1.rockspec))
VERSION := $(shell sed -n 's/^local VERSION = "\(.*\)"$$/\1/p' $(RELEASE_ROCKSPEC))
ROCK := build/whatsapp-$(VERSION)-1.src.rock

CC ?= cc
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c99 -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L -DWA_VERSION='"$(VERSION)"' \
	-DOPENSSL_API_COMPAT=0x30000000L -DOPENSSL_NO_DEPRECATED $(WARN) $(CFLAGS)
LIBS := -lcurl -lcrypto -lcjson
LDFLAGS ?=

LUA54_INC := /usr/include/lua5.4
LUAJIT_INC := /usr/include/luajit-2.1

DEB_PACKAGES := gcc make pkg-config lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev lua-busted \
	lua-check luarocks libcurl4-openssl-dev libssl-dev libcjson-dev python3-botocore openssl nginx \
	libnginx-mod-http-lua curl \
	redis-server lua-redis zip unzip

# what make bench needs on top (make test does not install them): wrk drives nginx in bench/resty.sh
BENCH_PACKAGES := wrk

# what make valgrind, fuzz and check need on top (make test does not install them)
CHECK_PACKAGES := valgrind clang libclang-rt-dev

.PHONY: all deps deps-check test check asan valgrind fuzz soak demo lint bench bench-deps bench-resty bench-standin clean rock

all: build/lua5.4/whatsapp/core.so build/luajit/whatsapp/core.so

build/lua5.4/whatsapp/core.so: $(SRC) $(HDR) Makefile $(RELEASE_ROCKSPEC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(LUA54_INC) -shared -o $@ $(SRC) $(LDFLAGS) $(LIBS)

build/luajit/whatsapp/core.so: $(SRC) $(HDR) Makefile $(RELEASE_ROCKSPEC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(LUAJIT_INC) -shared -o $@ $(SRC) $(LDFLAGS) $(LIBS)

# Installs only what is missing, so it is quick and quiet on a ready machine.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PACKAGES))

deps-check: deps
	$(call install_missing,$(CHECK_PACKAGES))

# The source rock a release uploads (build/whatsapp-<version>-1.src.rock),
# made offline from the checkout: the release rockspec and an archive of the
# tracked files as they are here, which is what `luarocks pack` makes.
# Installing it fetches nothing: `luarocks install ./whatsapp-<version>-1.src.rock`.
rock:
	@rm -rf build/rock $(ROCK) && mkdir -p build/rock/whatsapp-$(VERSION)
	@git ls-files -z | xargs -0 tar cf - | tar xf - -C build/rock/whatsapp-$(VERSION)
	@tar czf build/rock/whatsapp-$(VERSION).tar.gz -C build/rock whatsapp-$(VERSION)
	@cp $(RELEASE_ROCKSPEC) build/rock/
	@cd build/rock && zip -q -X ../$(notdir $(ROCK)) $(notdir $(RELEASE_ROCKSPEC)) whatsapp-$(VERSION).tar.gz
	@rm -rf build/rock
	@echo $(ROCK)

test: deps all
	@bash spec/run.sh

# Everything that hunts memory and undefined-behaviour bugs, one after the
# other, failing on the first finding: the suite under ASan+UBSan, the suite
# under valgrind, and each fuzz target for CHECK_FUZZ_SECONDS. Not run by CI
# (make test); takes a few minutes.
CHECK_FUZZ_SECONDS ?= 15
check: deps-check
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory valgrind
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

# The whole suite against an ASan+UBSan build of the core. The sanitizer
# runtimes are preloaded, so programs the specs spawn (the finalizer hammer,
# luarocks builds) run under them too. Leak checking is valgrind's job (make
# valgrind): preloaded, LeakSanitizer would also judge every shell, luarocks
# and gcc the specs start.
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow \
	-fno-sanitize-recover=all
asan: deps all
	@for rt in lua5.4 luajit; do \
	  inc=$(LUA54_INC); [ $$rt = luajit ] && inc=$(LUAJIT_INC); \
	  mkdir -p build/asan/$$rt/whatsapp; \
	  $(CC) $(filter-out -O2,$(ALL_CFLAGS)) $(SAN_FLAGS) -I$$inc -shared \
	    -o build/asan/$$rt/whatsapp/core.so $(SRC) $(LIBS) || exit 1; \
	done
	@WA_BUILD=build/asan ASAN_OPTIONS=detect_leaks=0 \
	  WA_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  bash spec/run.sh

# The whole suite with each runtime (and the finalizer hammer) under valgrind
# memcheck: fails on an invalid access or a definite leak. No suppressions;
# spec/support/valgrind.sh says why none is needed and what runs under it.
valgrind: deps-check all
	@bash spec/support/valgrind.sh

# libFuzzer targets (fuzz/*.c): the response parser, the table->JSON encoder,
# the strict JSON text checker, the SigV4 canonicaliser and the cosocket
# transport's head parser (core.parse_head), each linked with
# the core's C files and Lua 5.4 and run for FUZZ_SECONDS (fuzz/run.sh).
FUZZ_TARGETS := response encode json_text sigv4 head
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=c99 -D_POSIX_C_SOURCE=200809L -DOPENSSL_API_COMPAT=0x30000000L -DOPENSSL_NO_DEPRECATED \
	-fvisibility=hidden $(WARN) -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

build/fuzz/%: fuzz/%.c fuzz/fuzz.h $(SRC) $(HDR) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(LUA54_INC) -o $@ $< $(SRC) -llua5.4 $(LIBS) -lm

fuzz: deps-check $(addprefix build/fuzz/,$(FUZZ_TARGETS))
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" bash fuzz/run.sh

lint:
	luacheck -q lua spec examples bench bin

demo: deps all
	@bash examples/demo.sh

clean:
	rm -rf build

# 100,000 sends through one client per runtime: fails when RSS grows by more
# than 1 MiB after the warm-up (bench/soak.lua). Takes about a minute per runtime.
soak: deps all
	@bash bench/soak.sh 100000

# The libcurl ceilings and OpenSSL alone (bench/ceiling.c): not part of the module.
build/bench/ceiling: bench/ceiling.c Makefile
	@mkdir -p $(@D)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) -O2 -o $@ bench/ceiling.c -lcurl -lcrypto

# Node and npm for the JS SDK peer (bench/package.json pins it; npm ci installs it in bench/node_modules)
bench-deps:
	$(call install_missing,$(BENCH_PACKAGES))
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }

bench: deps bench-deps all build/bench/ceiling
	@bash bench/run.sh

# the OpenResty section of make bench alone (bench/resty.sh; BENCH_RESTY_BASE=<rev> adds that commit's module)
bench-resty: deps all
	$(call install_missing,$(BENCH_PACKAGES))
	@bash bench/resty.sh

# sends/s of a 10,000-message loop against the stand-in, next to a botocore peer
bench-standin: deps all
	@bash bench/standin.sh 10000
