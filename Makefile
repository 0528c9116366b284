# SPDX-License-Identifier: MIT
# plugbox - the two commands a newcomer needs: `make demo` and `make test` (and `make quick`,
# the fast tests of the edit loop). All install what is missing (Debian packages, the pinned
# QuickJS source) and build first. `make install` installs (meson install); `make deb` makes
# Debian packages.
#
# Variables:
#   PREFIX=/usr/local              where make install installs (DESTDIR: a staging root)
#   QUICKJS_SRC=/path/to/quickjs   build the engine from another QuickJS source tree
#   BUILD=dir                      build directory (default: build)
#   WERROR=1                       warnings are errors (CI)
#   TEST_ARGS=...                  more options for meson test (CI: --timeout-multiplier)

BUILD ?= build
QUICKJS_SRC ?=
WERROR ?=
MESON ?= meson
NINJA ?= ninja

TEST_ARGS ?=
PREFIX ?= /usr/local
DESTDIR ?=
DEB_DIR ?= $(BUILD)/deb

MESON_OPTS = -Dquickjs_src=$(QUICKJS_SRC) $(if $(WERROR),-Dwerror=true,-Dwerror=false)

FUZZ_SECONDS ?= 600
BENCH_CALLS ?= 1000
# the seed's own data, when shared/ sits beside the project (a plain clone has none)
SEED_TRACK := $(wildcard ../shared/data/track_points.json)

.PHONY: all deps build demo test quick install uninstall deb compat bench bench-gst fuzz fuzz-encode fuzz-wasm clean

all: build

deps:
	@scripts/install-deps.sh

# Configure once; later runs only refresh the options (QUICKJS_SRC, WERROR).
build: deps
	@if [ -f $(BUILD)/build.ninja ]; then \
	    $(MESON) configure $(BUILD) $(MESON_OPTS) >/dev/null; \
	else \
	    $(MESON) setup $(BUILD) $(MESON_OPTS); \
	fi
	$(NINJA) -C $(BUILD)

demo: build
	@echo "== a deterministic 260-point GPS track, made by a script in the sandbox"
	$(BUILD)/plugbox run --raw examples/make_track.js > $(BUILD)/track.json
	@echo "== its length in 140 m units, computed by examples/track_length.js in the sandbox"
	$(BUILD)/plugbox run --time-limit 1000 --data $(BUILD)/track.json examples/track_length.js
	@echo "== a C program embedding the library (examples/embed.c)"
	$(BUILD)/embed
	@echo "== a GStreamer pipeline, every frame through a sandboxed script (examples/frames.js)"
	GST_PLUGIN_PATH=$(BUILD) gst-launch-1.0 -m videotestsrc num-buffers=30 ! video/x-raw,width=320,height=240 ! \
	    plugboxfilter location=examples/frames.js time-limit=20 ! fakesink | grep 'plugbox,'
	@echo "== a zone rule (examples/zone.js) over detections made up by examples/detections.js"
	GST_PLUGIN_PATH=$(BUILD) gst-launch-1.0 -m videotestsrc num-buffers=60 ! video/x-raw,width=640,height=480 ! \
	    plugboxfilter location=examples/detections.js ! plugboxfilter location=examples/zone.js time-limit=50 ! \
	    fakesink | grep 'plugbox,'

# Everything: the suites, then the Debian packages built and checked.
test: build
	$(MESON) test -C $(BUILD) --print-errorlogs $(TEST_ARGS)
	$(MAKE) --no-print-directory deb
	tests/deb.sh $(DEB_DIR)

# The edit loop: unit, C API, pool and command-line tests; no sanitizers, fuzzing, tsan or gst.
quick: build
	$(MESON) test -C $(BUILD) --print-errorlogs --suite unit --suite api --suite cli $(TEST_ARGS)

# The prefix is set at each install (changing it rebuilds nothing); DESTDIR stages.
install: build
	$(MESON) configure $(BUILD) -Dprefix=$(PREFIX) >/dev/null
	$(NINJA) -C $(BUILD)
	$(MESON) install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(DESTDIR))

uninstall:
	$(NINJA) -C $(BUILD) uninstall

# docs/compat.md written again from the probes (tests/compat.sh; make test checks it).
compat: build
	PLUGBOX=$(BUILD)/plugbox tests/compat.sh write docs/compat.md

# Debian packages from the install tree of prefix /usr (scripts/make-deb.sh), in DEB_DIR.
deb: build
	$(MESON) configure $(BUILD) -Dprefix=/usr >/dev/null
	$(NINJA) -C $(BUILD)
	rm -f $(DEB_DIR)/*.deb
	scripts/make-deb.sh $(BUILD) $(DEB_DIR)

# The seed's table on this machine, every row in one run (docs/benchmarks.md holds one). The
# peers' rows need node; quickjs-emscripten (one pinned version) is installed with npm into
# $(BUILD)/bench-peers, and without npm or the network its row is skipped.
bench: build
	$(NINJA) -C $(BUILD) bench track_plugin.wasm
	$(BUILD)/plugbox run --raw examples/make_track.js > $(BUILD)/track.json
	bench/fetch-peers.sh $(BUILD)/bench-peers
	$(BUILD)/bench --calls $(BENCH_CALLS) --node-helper bench/node_bench.js --peers $(BUILD)/bench-peers \
	    --plugin $(BUILD)/track_plugin.wasm --sweep bench/sum_coordinate.js \
	    examples/track_length.js $(BUILD)/track.json $(SEED_TRACK)

# The GStreamer element's per-buffer cost against identity (docs/benchmarks.md holds a run).
bench-gst: build
	bench/gst_bench.sh $(BUILD) 100000

# The differential fuzzer of the JSON decoder, for longer than make test runs it.
fuzz: build
	$(NINJA) -C $(BUILD) json_diff
	mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/json_diff -error_exitcode=1 -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    $(BUILD)/fuzz-corpus fuzz/corpus

# The differential fuzzer of the fast JSON encoder (values built by generated JavaScript),
# for FUZZ_SECONDS; a mismatch stops it and prints the program that built the value.
fuzz-encode: build
	$(NINJA) -C $(BUILD) encode_diff
	mkdir -p $(BUILD)/fuzz-corpus-encode
	$(BUILD)/encode_diff -error_exitcode=1 -max_total_time=$(FUZZ_SECONDS) -max_len=1024 -timeout=60 \
	    $(BUILD)/fuzz-corpus-encode fuzz/corpus-encode

# The fuzzer of the WebAssembly module reader (src/wasmread.c), for FUZZ_SECONDS; its seeds are
# the test modules the build makes from tests/wasm/*.wat.
fuzz-wasm: build
	$(NINJA) -C $(BUILD) wasmread tests/fuzz-seeds-wasm
	mkdir -p $(BUILD)/fuzz-corpus-wasm
	$(BUILD)/wasmread -error_exitcode=1 -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    $(BUILD)/fuzz-corpus-wasm $(BUILD)/tests/fuzz-seeds-wasm

clean:
	rm -rf $(BUILD)
