# The two commands a new user needs: `make run` and `make test`. Both install what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 15

.PHONY: all deps build run test test-sanitize bench fuzz clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	@scripts/run

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	@$(MAKE) --no-print-directory test-sanitize
	@scripts/fuzz $(FUZZ_SMOKE_SECONDS)

# The unit and CLI tests (label `unit`) again under AddressSanitizer + UndefinedBehaviorSanitizer; any report fails.
test-sanitize: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAFTERCARE_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS) -L unit

bench:
	@scripts/bench

# Long fuzzing runs (FUZZ_SECONDS per target).
fuzz: deps
	@scripts/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-*
