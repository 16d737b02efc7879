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

# The whole suite: formatting, clang-tidy, unit tests (release and under ASan/UBSan), integration tests in
# the network-namespace lab. Benchmarks are separate (make bench).
test: build format-check lint
	@$(MAKE) --no-print-directory test-asan
	@$(CTEST) -L 'unit|fuzz|integration'

test-unit: build
	@$(CTEST) -L unit

test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan --target wardgate_unit_tests config_fuzz dicom_decoder_fuzz hl7_decoder_fuzz \
		hl7_inspector_fuzz uapi_reply_fuzz wg_quick_fuzz netlink_dump_fuzz gateway_section_fuzz \
		packet_summary_fuzz audit_roundtrip_fuzz
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

# clang-tidy 14 with the root .clang-tidy over every module's sources (the module folders: top-level
# folders with a CMakeLists.txt, tests/ aside) and, through the header filter, their headers; in
# parallel over the compile database. Each finding is printed once; any finding fails.
MODULES = $(filter-out tests,$(patsubst %/CMakeLists.txt,%,$(wildcard */CMakeLists.txt)))
empty :=
space := $(empty) $(empty)
MODULE_RE = ^$(CURDIR)/($(subst $(space),|,$(MODULES)))/
LINT_JOBS ?= $(shell nproc)

lint: build
	@echo "lint: clang-tidy over $(MODULES) ($(LINT_JOBS) jobs; log in $(BUILD)/lint.log)"
	@run-clang-tidy-14 -p $(BUILD) -quiet -j $(LINT_JOBS) -header-filter='$(MODULE_RE)' \
		-extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT=1 -extra-arg=-DBOOST_ASIO_HAS_STD_COROUTINE=1 \
		-extra-arg=-fno-color-diagnostics \
		'$(MODULE_RE)' >$(BUILD)/lint.log 2>&1; status=$$?; \
	sed 's/\x1b\[[0-9;]*m//g' $(BUILD)/lint.log | grep -E '^/[^ ]*:[0-9]+:[0-9]+: (warning|error): ' | sort -u \
		| sed 's|^$(CURDIR)/||' >$(BUILD)/lint-findings.txt; \
	cat $(BUILD)/lint-findings.txt; \
	if [ -s $(BUILD)/lint-findings.txt ]; then \
		echo "lint: $$(wc -l <$(BUILD)/lint-findings.txt) findings"; exit 1; fi; \
	if [ $$status -ne 0 ]; then tail -20 $(BUILD)/lint.log; echo "lint: clang-tidy failed"; exit 1; fi; \
	echo "lint: clean"

clean:
	@rm -rf build
