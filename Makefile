# SPDX-License-Identifier: MIT
# Thin wrapper over CMake presets; see README.md.
.PHONY: all build deps run test asan-test bench clean

JOBS ?= $(shell nproc)

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

run: build
	./build/switchboard serve

test: build
	ctest --preset release -j $(JOBS)

asan-test: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

clean:
	rm -rf build build-asan build-debug
