# plugbox - the two commands a newcomer needs: `make demo` and `make test`.
# Both install what is missing (Debian packages, the pinned QuickJS source) and build first.
#
# Variables:
#   QUICKJS_SRC=/path/to/quickjs   build the engine from another QuickJS source tree
#   BUILD=dir                      build directory (default: build)
#   WERROR=1                       warnings are errors (CI)

BUILD ?= build
QUICKJS_SRC ?=
WERROR ?=
MESON ?= meson
NINJA ?= ninja

MESON_OPTS = -Dquickjs_src=$(QUICKJS_SRC) $(if $(WERROR),-Dwerror=true,-Dwerror=false)

.PHONY: all deps build demo test clean

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

test: build
	$(MESON) test -C $(BUILD) --print-errorlogs

clean:
	rm -rf $(BUILD)
