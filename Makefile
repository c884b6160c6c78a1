# Thin wrapper over CMake and the scripts in scripts/. The README's two
# quick-start commands are `make demo` and `make check`.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= 2

.PHONY: all deps build build-asan check test demo format format-check conformance \
        bench fuzz memcheck install deb clean

all: build

deps:
	scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DA0SNAP_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DA0SNAP_WERROR=ON -DA0SNAP_SANITIZE=ON >/dev/null
	cmake --build $(BUILD_ASAN) -j$(JOBS)

# Everything: unit + e2e under CTest, again under ASan+UBSan, clang-format,
# and the conformance suite (official SDK + OpenAPI validation).
check:
	scripts/check

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

demo:
	scripts/demo

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

format-check:
	scripts/format-check

conformance: deps
	tests/conformance/run

bench: build
	tests/bench/run

fuzz:
	tests/fuzz/run

memcheck: build
	scripts/memcheck

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

# Builds the Debian package and checks it (A0SNAP_DEB_INSTALL=1: dpkg -i it for real).
deb: deps
	scripts/test-deb

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
