# The commands a newcomer needs (see README.md). Every target installs what is missing first.
PRESET ?= release
BUILD := build/$(PRESET)
CTEST := ctest --test-dir $(BUILD) --output-on-failure --no-tests=error
# Tracked and new (not ignored) files, so a file not yet added is formatted and checked too.
SOURCES = $(shell git ls-files --cached --others --exclude-standard '*.cpp' '*.h')

.PHONY: deps build demo demo-stop test test-unit test-asan test-integration bench format format-check lint clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET)

demo: build
	@bash scripts/demo.sh

demo-stop:
	@bash scripts/demo.sh stop

# The whole suite: formatting, unit tests (release and under ASan/UBSan), integration tests in
# the network-namespace lab. Benchmarks are separate (make bench).
test: build format-check
	@$(MAKE) --no-print-directory test-asan
	@$(CTEST) -L 'unit|fuzz|integration'

test-unit: build
	@$(CTEST) -L unit

test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan --target wardgate_unit_tests config_fuzz dicom_decoder_fuzz hl7_decoder_fuzz \
		hl7_inspector_fuzz uapi_reply_fuzz wg_quick_fuzz
	@ctest --test-dir build/asan --output-on-failure --no-tests=error -L "unit|fuzz"

test-integration: build
	@$(CTEST) -L integration

bench: build
	@$(CTEST) -L bench -V
	@echo "results appended to build/bench-results.jsonl"

format:
	@clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES) && echo "format: clean"

lint: build
	@clang-tidy -p $(BUILD) --quiet $(filter %.cpp,$(SOURCES))

clean:
	@rm -rf build
