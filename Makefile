# pvebot - one Makefile. Sources are found by folder, so a new part or a
# new test is picked up without editing this file.
#
#   make            bin/pvebot
#   make demo       runs the demo (console chat + Proxmox simulator + SQLite)
#   make test       all tests; ends with "N passed, N failed"
#   make test SAN=1 the same under AddressSanitizer + UBSan
#   make fuzz       libFuzzer targets (clang)
#   make deps       installs the Debian packages that are missing
#   make check-deps says which build dependencies are missing
#   make install    PREFIX=/usr/local DESTDIR= (docs/install.md)
#   make deb        pvebot_VERSION_ARCH.deb with dpkg-buildpackage
#
# Packagers: CPPFLAGS, CFLAGS and LDFLAGS are honoured and come after the
# project's own flags, so they can override them; CFLAGS defaults to
# -O2 -g (-O1 -g with SAN=1). Hardening is on by default (HARDEN=0 turns
# it off): stack protector, stack clash protection, PIE, full RELRO
# (-z relro -z now), and _FORTIFY_SOURCE=2 when optimising without the
# sanitizers (ASan checks those calls itself) and when the given flags do
# not set _FORTIFY_SOURCE already. Test-only include paths (-Itests
# -Itests/lib) are used for tests/ objects only. A change of flags or
# install paths rebuilds everything (see $(FLAGS_STAMP)).

CC	?= cc
PKGS	 = libwebsockets libcurl jansson yaml-0.1 sqlite3 libpq openssl
DEBS	 = build-essential pkg-config libwebsockets-dev libcurl4-openssl-dev \
	   libjansson-dev libyaml-dev libsqlite3-dev libpq-dev libsensors-dev \
	   libssl-dev libhttp-parser-dev openssh-client openssh-server \
	   ca-certificates tzdata groff-base
VERSION	:= $(shell sed -n 's/^\#define PVEBOT_VERSION "\(.*\)"/\1/p' \
	   include/util.h)

# Install paths. SYSCONFDIR stays /etc for every PREFIX: the daemon's
# default config is $(SYSCONFDIR)/pvebot/bot.conf.
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
DATADIR	?= $(PREFIX)/share
PKGDATADIR ?= $(DATADIR)/pvebot
MANDIR	?= $(DATADIR)/man
DOCDIR	?= $(DATADIR)/doc/pvebot
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL	?= install

SAN	?= 0
HARDEN	?= 1
ifeq ($(SAN),1)
BUILD	 = build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	   -fno-omit-frame-pointer
CFLAGS	?= -O1 -g
else
BUILD	 = build/rel
SANFLAGS =
CFLAGS	?= -O2 -g
endif

ifeq ($(HARDEN),1)
HARDEN_CFLAGS  = -fstack-protector-strong -fstack-clash-protection -fPIE
HARDEN_LDFLAGS = -pie -Wl,-z,relro -Wl,-z,now
ifeq ($(SAN),0)
ifneq ($(filter -O -O1 -O2 -O3 -Os -Og -Ofast -Oz,$(CFLAGS)),)
ifeq ($(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),)
HARDEN_CPPFLAGS = -D_FORTIFY_SOURCE=2
endif
endif
endif
endif

WARN	 = -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
	   -Wno-unused-parameter
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
PATH_DEFS = -DPVEBOT_PKGDATADIR='"$(PKGDATADIR)"' \
	    -DPVEBOT_SYSCONFDIR='"$(SYSCONFDIR)"'
ALL_CPPFLAGS = -D_GNU_SOURCE -Iinclude $(PATH_DEFS) $(HARDEN_CPPFLAGS) \
	   $(CPPFLAGS) $(PKG_CFLAGS)
ALL_CFLAGS = -std=c11 $(WARN) $(HARDEN_CFLAGS) $(SANFLAGS) $(CFLAGS) \
	   -MMD -MP
ALL_LDFLAGS = $(HARDEN_LDFLAGS) $(SANFLAGS) $(LDFLAGS)
TEST_CPPFLAGS = -Itests/lib -Itests -Isrc/store
LDLIBS	 = $(PKG_LIBS) -lhttp_parser -lsensors -lpthread -lm

SRCS	 := $(shell find src -name '*.c' ! -path src/main.c | sort)
OBJS	 := $(SRCS:%.c=$(BUILD)/%.o)
LIB	 := $(BUILD)/libpvebot.a
FAKE_SRCS := $(shell find tests/lib tests/fakes -name '*.c' 2>/dev/null | sort)
FAKE_OBJS := $(FAKE_SRCS:%.c=$(BUILD)/%.o)
FAKELIB	 := $(BUILD)/libfakes.a
TEST_SRCS := $(shell find tests/unit tests/e2e -name 'test_*.c' | sort)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
# Run a second time on PostgreSQL by `make test` when it is installed
# (tests/run.sh, tests/pg.sh): the tests whose databases come from
# tests/lib/t_db.h. Paths under $(BUILD)/tests. On SQLite only: the fuzz
# targets, test_demo (`pvebot demo` has no password file), the tests
# that open no database. Longest first: run.sh runs three at a time.
PG_TEST_BINS := e2e/test_crash e2e/test_telegram_faults e2e/test_jobs \
	   e2e/test_webhooks e2e/test_telegram_e2e e2e/test_leader_e2e \
	   e2e/test_prov_e2e unit/test_telegram unit/test_matrix \
	   e2e/test_schedules e2e/test_matrix_e2e e2e/test_nodes \
	   e2e/test_monitor e2e/test_ssh_e2e e2e/test_never_waits \
	   unit/test_discord_msg e2e/test_operations e2e/test_backup_ops \
	   e2e/test_promises unit/test_store e2e/test_consent \
	   e2e/test_monitor_gpu e2e/test_discord_e2e e2e/test_cli \
	   e2e/test_monitor_health e2e/test_monitor_digest unit/test_prov \
	   unit/test_chat_feed e2e/test_ratelimit_e2e \
	   e2e/test_monitor_sensors unit/test_leader
# Drivers of `make bench` (tests/bench/bench_*.c): built by bench only.
BENCH_SRCS := $(shell find tests/bench -name 'bench_*.c' 2>/dev/null | sort)
BENCH_BINS := $(BENCH_SRCS:tests/%.c=$(BUILD)/tests/%)
PVEBOT	 := $(BUILD)/pvebot
# Every compile and link line, recorded: when it changes (other flags, an
# install path), everything that depends on it is built again.
FLAGS_STAMP := $(BUILD)/.flags

.PHONY: all deps demo test tests fuzz bench clean check-deps install \
	uninstall deb FORCE

all: bin/pvebot

bin/pvebot: build/rel/pvebot
	@mkdir -p bin
	cp $< $@

# The release binary from a SAN=1 make (make install SAN=1, make demo).
ifeq ($(SAN),1)
build/rel/pvebot: FORCE
	@$(MAKE) --no-print-directory SAN=0 build/rel/pvebot
endif

$(FLAGS_STAMP): FORCE
	$(shell mkdir -p $(BUILD))$(file >$@.new,$(CC) $(ALL_CPPFLAGS) \
	    $(ALL_CFLAGS) $(TEST_CPPFLAGS) $(ALL_LDFLAGS) $(LDLIBS))
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

$(PVEBOT): $(BUILD)/src/main.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(BUILD)/src/main.o $(LIB) $(LDLIBS)

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FAKELIB): $(FAKE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/src/%.o: src/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CPPFLAGS) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(FAKELIB) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(FAKELIB) $(LIB) $(LDLIBS)

tests: $(PVEBOT) $(TEST_BINS)

deps:
	@sh tests/deps.sh $(DEBS)

# Figures, not a test: see tests/bench/bench.sh and docs/performance.md.
# valgrind counts the instructions (callgrind).
bench:
	@sh tests/deps.sh $(DEBS) valgrind
	@$(MAKE) --no-print-directory bin/pvebot $(BENCH_BINS)
	@BENCHBIN=$(BUILD)/tests/bench sh tests/bench/bench.sh

check-deps:
	@CC="$(CC)" sh tests/check-deps.sh $(PKGS)

# A sub-make, so pkg-config runs after deps installed the libraries.
demo: deps
	@$(MAKE) --no-print-directory bin/pvebot
	bin/pvebot demo

test: deps
	@$(MAKE) --no-print-directory -j2 tests SAN=$(SAN)
	@PVEBOT=$(PVEBOT) TESTBIN=$(BUILD)/tests PG_TESTS="$(PG_TEST_BINS)" \
	    sh tests/run.sh $(TEST_BINS)

FUZZ_SRCS := $(shell find tests/fuzz -name 'fuzz_*.c' 2>/dev/null | sort)
fuzz: deps
	@sh tests/fuzz.sh $(FUZZ_SRCS)

# The installed /etc/pvebot/bot.conf is bot.conf.example with the
# catalogue and policies at their installed places; it is installed only
# when absent, so a reinstall never overwrites a configuration. The
# package (debian/) ships it as a conffile instead.
ETCDIR	 = $(SYSCONFDIR)/pvebot
SED_PATHS = -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@PKGDATADIR@|$(PKGDATADIR)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'
ETC_CONF = -e 's|^commands: commands .*|commands: $(PKGDATADIR)/commands|' \
	   -e 's|^\# local_commands: local-commands .*|local_commands: $(ETCDIR)/commands  \# yours, over the catalogue|' \
	   -e 's|^policies: policies .*|policies: $(ETCDIR)/policies|'
# The policies a new install starts from: the shipped default rules, and
# a users.yaml with nobody in it (policies/users.yaml has the demo's).
ETC_POLICIES = $(filter-out policies/users.yaml,$(wildcard policies/*.yaml)) \
	   dist/users.yaml

install: bin/pvebot
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGDATADIR)/commands \
	    $(DESTDIR)$(PKGDATADIR)/policies $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0755 bin/pvebot $(DESTDIR)$(BINDIR)/pvebot
	$(INSTALL) -m 0644 commands/*.yaml $(DESTDIR)$(PKGDATADIR)/commands/
	$(INSTALL) -m 0644 policies/*.yaml $(DESTDIR)$(PKGDATADIR)/policies/
	$(INSTALL) -m 0644 man/pvebot.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 man/pvebot.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 dist/pvebot.bash-completion \
	    $(DESTDIR)$(BASHCOMPDIR)/pvebot
	sed $(SED_PATHS) dist/pvebot.service.in \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/pvebot.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/pvebot.service
	$(INSTALL) -m 0644 dist/pvebot.sysusers $(DESTDIR)$(SYSUSERSDIR)/pvebot.conf
	$(INSTALL) -m 0644 dist/pvebot.tmpfiles $(DESTDIR)$(TMPFILESDIR)/pvebot.conf
	$(INSTALL) -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 bot.conf.example $(DESTDIR)$(DOCDIR)/examples/
	$(INSTALL) -d $(DESTDIR)$(ETCDIR)/commands $(DESTDIR)$(ETCDIR)/policies
	sed $(ETC_CONF) bot.conf.example >build/bot.conf.installed
	@for k in 'commands: $(PKGDATADIR)/commands' \
	    'local_commands: $(ETCDIR)/commands' 'policies: $(ETCDIR)/policies'; do \
	    grep -q "^$$k" build/bot.conf.installed || \
	    { echo "bot.conf.example: no line to turn into '$$k'" >&2; exit 1; }; \
	done
	@if [ ! -e $(DESTDIR)$(ETCDIR)/bot.conf ]; then \
	    echo "install build/bot.conf.installed $(DESTDIR)$(ETCDIR)/bot.conf"; \
	    $(INSTALL) -m 0644 build/bot.conf.installed \
	    $(DESTDIR)$(ETCDIR)/bot.conf; \
	fi
	@for f in $(ETC_POLICIES); do \
	    t=$(DESTDIR)$(ETCDIR)/policies/$${f##*/}; \
	    [ -e "$$t" ] || { echo "install $$f $$t"; \
	    $(INSTALL) -m 0644 "$$f" "$$t"; }; \
	done
	$(INSTALL) -m 0644 dist/local-commands.README \
	    $(DESTDIR)$(ETCDIR)/commands/README

# What install put in place, except /etc/pvebot (your configuration).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pvebot $(DESTDIR)$(MANDIR)/man5/pvebot.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/pvebot.8 $(DESTDIR)$(BASHCOMPDIR)/pvebot \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/pvebot.service \
	    $(DESTDIR)$(SYSUSERSDIR)/pvebot.conf \
	    $(DESTDIR)$(TMPFILESDIR)/pvebot.conf
	rm -rf $(DESTDIR)$(PKGDATADIR) $(DESTDIR)$(DOCDIR)

# The package is built from a copy of the tree in build/deb, so the
# checkout stays clean; the .deb lands in this folder. Like `make deps`,
# it first installs what is missing (the build tools too).
DEB_TOOLS = debhelper dpkg-dev
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
deb:
	@sh tests/deps.sh $(DEBS) $(DEB_TOOLS)
	rm -rf build/deb
	mkdir -p build/deb/pvebot-$(VERSION)
	tar -cf - --exclude=./build --exclude=./bin --exclude=./.git \
	    --exclude='./*.deb' . | tar -C build/deb/pvebot-$(VERSION) -xf -
	cd build/deb/pvebot-$(VERSION) && dpkg-buildpackage -us -uc -b
	cp build/deb/pvebot_$(VERSION)_$(DEB_ARCH).deb .
	@echo "built pvebot_$(VERSION)_$(DEB_ARCH).deb"

clean:
	rm -rf build bin

-include $(OBJS:.o=.d) $(FAKE_OBJS:.o=.d) $(BUILD)/src/main.d \
	$(TEST_BINS:=.d) $(BENCH_BINS:=.d)
