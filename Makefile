# The two front doors. Everything else is a detail of these.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test clean bench

all: build

deps:
	@sh packaging/deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: deps
	@[ -f $(BUILD_DIR)/build.ninja ] || cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts ferryd on localhost with its database under ./var.
run: build
	@mkdir -p var
	$(BUILD_DIR)/app/ferryd --config packaging/dev.toml

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600 -LE deb

clean:
	rm -rf $(BUILD_DIR)

# --- Debian packages (issue 5). `make deb` builds ferry_<version>_<arch>.deb into build-deb/;
# `make deb ARCH=arm64` or `make deb ARCH=armhf` (or `make deb-arm64`, `make deb-armhf`)
# cross-builds it in a sysroot of that architecture and smoke-tests the result under qemu-user.
# Neither is part of `make test`; `make test-deb` runs the packaging tests (build, inspect,
# install/reload/stop/purge on this machine: needs root).
ARCH ?=

.PHONY: deb deb-arm64 deb-armhf test-deb

deb:
	@if [ -n "$(ARCH)" ] && [ "$(ARCH)" != "$$(dpkg-architecture -qDEB_BUILD_ARCH)" ]; then \
	  sh packaging/deps.sh deb cross && sh packaging/cross/build-cross.sh $(ARCH); \
	else \
	  sh packaging/deps.sh deb && sh packaging/build-deb.sh; \
	fi

deb-arm64:
	$(MAKE) deb ARCH=arm64

deb-armhf:
	$(MAKE) deb ARCH=armhf

test-deb: configure
	@sh packaging/deps.sh deb
	cd $(BUILD_DIR) && ctest --output-on-failure -L packaging --timeout 1800
