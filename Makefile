# pvebot - one Makefile. Sources are found by folder, so a new part or a
# new test is picked up without editing this file.
#
#   make            bin/pvebot
#   make demo       runs the demo (console chat + Proxmox simulator + SQLite)
#   make test       all tests; ends with "N passed, N failed"
#   make test SAN=1 the same under AddressSanitizer + UBSan
#   make fuzz       libFuzzer targets (clang)
#   make deps       installs the Debian packages that are missing

CC	?= cc
PKGS	 = libwebsockets libcurl jansson yaml-0.1 sqlite3 openssl
DEBS	 = build-essential pkg-config libwebsockets-dev libcurl4-openssl-dev \
	   libjansson-dev libyaml-dev libsqlite3-dev libsensors-dev \
	   libssl-dev libhttp-parser-dev openssh-client openssh-server \
	   ca-certificates tzdata

SAN	?= 0
ifeq ($(SAN),1)
BUILD	 = build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	   -fno-omit-frame-pointer
OPT	 = -O1 -g
else
BUILD	 = build/rel
SANFLAGS =
OPT	 = -O2 -g
endif

WARN	 = -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
	   -Wno-unused-parameter
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS	+= -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS) -Iinclude \
	   $(PKG_CFLAGS) -MMD -MP
LDLIBS	 = $(PKG_LIBS) -lhttp_parser -lsensors -lpthread -lm
LDFLAGS	+= $(SANFLAGS)

SRCS	 := $(shell find src -name '*.c' ! -path src/main.c | sort)
OBJS	 := $(SRCS:%.c=$(BUILD)/%.o)
LIB	 := $(BUILD)/libpvebot.a
FAKE_SRCS := $(shell find tests/lib tests/fakes -name '*.c' 2>/dev/null | sort)
FAKE_OBJS := $(FAKE_SRCS:%.c=$(BUILD)/%.o)
FAKELIB	 := $(BUILD)/libfakes.a
TEST_SRCS := $(shell find tests/unit tests/e2e -name 'test_*.c' | sort)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
PVEBOT	 := $(BUILD)/pvebot

.PHONY: all deps demo test tests fuzz bench clean check-deps

all: bin/pvebot

bin/pvebot: build/rel/pvebot
	@mkdir -p bin
	cp $< $@

$(PVEBOT): $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FAKELIB): $(FAKE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -Itests -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(FAKELIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(FAKELIB) $(LIB) $(LDLIBS)

tests: $(PVEBOT) $(TEST_BINS)

deps:
	@sh tests/deps.sh $(DEBS)

# A sub-make, so pkg-config runs after deps installed the libraries.
demo: deps
	@$(MAKE) --no-print-directory bin/pvebot
	bin/pvebot demo

test: deps
	@$(MAKE) --no-print-directory -j2 tests SAN=$(SAN)
	@PVEBOT=$(PVEBOT) TESTBIN=$(BUILD)/tests sh tests/run.sh $(TEST_BINS)

FUZZ_SRCS := $(shell find tests/fuzz -name 'fuzz_*.c' 2>/dev/null | sort)
fuzz: deps
	@sh tests/fuzz.sh $(FUZZ_SRCS)

clean:
	rm -rf build bin

-include $(OBJS:.o=.d) $(FAKE_OBJS:.o=.d) $(BUILD)/src/main.d \
	$(TEST_BINS:=.d)
