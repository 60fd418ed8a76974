# whatsapp: build the C core for Lua 5.4 and LuaJIT, test both, run the demo.
#   make deps    install what is missing (Debian 12 packages; needs root or sudo)
#   make         build build/lua5.4/whatsapp/core.so and build/luajit/whatsapp/core.so
#   make test    deps + build + the whole suite on both runtimes
#   make demo    deps + build + send one message through the local stand-in
#                (or for real, with AWS credentials, WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_TO set)
#   make bench   the benchmark of BENCHMARKS.md (needs a quiet machine; Node and npm for the JS SDK peer)

SRC := src/core.c src/sigv4.c src/json.c src/http.c src/crypto.c src/buf.c src/batch.c
HDR := $(wildcard src/*.h)

CC ?= cc
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c99 -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L \
	-DOPENSSL_API_COMPAT=0x30000000L -DOPENSSL_NO_DEPRECATED $(WARN) $(CFLAGS)
LIBS := -lcurl -lcrypto -lcjson
LDFLAGS ?=

LUA54_INC := /usr/include/lua5.4
LUAJIT_INC := /usr/include/luajit-2.1

DEB_PACKAGES := gcc make pkg-config lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev lua-busted \
	lua-check luarocks libcurl4-openssl-dev libssl-dev libcjson-dev python3-botocore openssl nginx \
	libnginx-mod-http-lua curl

.PHONY: all deps test check demo lint bench bench-deps bench-standin clean

all: build/lua5.4/whatsapp/core.so build/luajit/whatsapp/core.so

build/lua5.4/whatsapp/core.so: $(SRC) $(HDR) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(LUA54_INC) -shared -o $@ $(SRC) $(LDFLAGS) $(LIBS)

build/luajit/whatsapp/core.so: $(SRC) $(HDR) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(LUAJIT_INC) -shared -o $@ $(SRC) $(LDFLAGS) $(LIBS)

# Installs only what is missing, so it is quick and quiet on a ready machine.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: deps all
	@bash spec/run.sh

# The whole suite against an ASan+UBSan build of the core. The sanitizer
# runtimes are preloaded, so programs the specs spawn (the finalizer hammer,
# luarocks builds) run under them too. Leak checking is valgrind's job: the
# interpreters exit without freeing their states.
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow \
	-fno-sanitize-recover=all
check: deps
	@for rt in lua5.4 luajit; do \
	  inc=$(LUA54_INC); [ $$rt = luajit ] && inc=$(LUAJIT_INC); \
	  mkdir -p build/asan/$$rt/whatsapp; \
	  $(CC) $(filter-out -O2,$(ALL_CFLAGS)) $(SAN_FLAGS) -I$$inc -shared \
	    -o build/asan/$$rt/whatsapp/core.so $(SRC) $(LIBS) || exit 1; \
	done
	@WA_BUILD=build/asan ASAN_OPTIONS=detect_leaks=0 \
	  WA_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  bash spec/run.sh

lint:
	luacheck -q lua spec examples bench

demo: deps all
	@bash examples/demo.sh

clean:
	rm -rf build

# The libcurl ceilings and OpenSSL alone (bench/ceiling.c): not part of the module.
build/bench/ceiling: bench/ceiling.c Makefile
	@mkdir -p $(@D)
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) -O2 -o $@ bench/ceiling.c -lcurl -lcrypto

# Node and npm for the JS SDK peer (bench/package.json pins it; npm ci installs it in bench/node_modules)
bench-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }

bench: deps bench-deps all build/bench/ceiling
	@bash bench/run.sh

# sends/s of a 10,000-message loop against the stand-in, next to a botocore peer
bench-standin: deps all
	@bash bench/standin.sh 10000
