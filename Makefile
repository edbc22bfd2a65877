# SPDX-License-Identifier: GPL-2.0
#
# kbroker: the two commands are `make run` and `make check`; both install
# what they need first (`make deps`).  See README.md.

# make run MODE=host runs the stack on this kernel, so builds for it.
ifeq ($(MODE),host)
KVER ?= $(shell uname -r)
endif
KVER ?= $(shell for v in $$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V -r); do \
		[ -d /lib/modules/$$v/build ] && echo $$v && break; done)
KDIR ?= /lib/modules/$(KVER)/build
B := $(CURDIR)/build
export KVER B

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRC))
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	-Idaemon -Iinclude -Itests/unit $(shell pkg-config --cflags libnl-genl-3.0 openssl 2>/dev/null)
UNIT_LIBS := $(shell pkg-config --libs libnl-genl-3.0 openssl libkeyutils zlib liblz4 snappy libzstd libpcre2-8 2>/dev/null) -lzookeeper_mt -lpthread -lm

all: module daemon

deps:
	@tests/deps.sh

module:
	@test -n "$(KVER)" || { echo "no kernel with both /boot/vmlinuz-VER and headers; run make deps" >&2; exit 1; }
	@test -d $(KDIR) || { echo "no headers for kernel $(KVER) in $(KDIR); run make deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

daemon:
	$(MAKE) -C daemon O=$(B)/daemon

$(B)/tests/unit/%: tests/unit/%.c $(B)/daemon/libkbroker.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(B)/daemon/libkbroker.a $(UNIT_LIBS)

unit-build: daemon $(UNIT_BIN)

# Guest tests: kselftest programs run inside the QEMU guest.
KST_SRC := $(wildcard tests/kselftest/*.c)
KST_BIN := $(patsubst tests/kselftest/%.c,$(B)/tests/kselftest/%,$(KST_SRC))
KST_CFLAGS := -O1 -g -Wall -D_GNU_SOURCE -I$(B)/ksrc/tools/testing/selftests \
	-Iinclude -Itests/kselftest

$(B)/tests/kselftest/%: tests/kselftest/%.c $(wildcard tests/kselftest/*.h) $(B)/ksrc/.done
	@mkdir -p $(dir $@)
	$(CC) $(KST_CFLAGS) -o $@ $< -lpthread

$(B)/ksrc/.done:
	@tests/ksrc.sh

guest-build: all $(KST_BIN)

# The guest suite alone (ONLY=glob picks tests by name).
guest: guest-build
	@rm -f $(B)/results.guest
	@tests/guest/run.sh $(B)/results.guest $(if $(ONLY),kbroker.only=$(ONLY))
	@tests/summary.sh $(B)/results.guest

# Kernel-tree helpers (kselftest_harness.h, checkpatch.pl) extracted from
# Debian's linux-source into build/, never into git.
ksrc:
	@tests/ksrc.sh

checkpatch: ksrc
	@tests/checkpatch.sh

check: deps
	@tests/check.sh

# The request-decoder fuzzer for FUZZ_SECONDS (default 600), from its seeds.
fuzz: deps
	$(MAKE) -C tests/fuzz run

bench: deps all
	@tests/bench.sh

# make run BROKERS=3: a cluster on this machine (tests/run-cluster.sh).
# Each script is the recipe itself, so a SIGTERM to make reaches it.
export BROKERS
run: deps all
	@$(if $(filter-out 1,$(BROKERS)),tests/run-cluster.sh,$(if $(filter host,$(MODE)),tests/run-host.sh,tests/run.sh))

# Installs for a broker host; DESTDIR and PREFIX as usual.  The module is
# installed as source for DKMS, which builds it for every kernel.
PREFIX ?= /usr
VERSION := 0.1.0
SRCDIR := $(PREFIX)/src/kbroker-$(VERSION)
UDEV_RULES := $(wildcard udev/*.rules)

install: daemon
	install -D -m 0755 $(B)/daemon/kbrokerd $(DESTDIR)$(PREFIX)/sbin/kbrokerd
	install -D -m 0755 $(B)/daemon/kbrokerctl $(DESTDIR)$(PREFIX)/sbin/kbrokerctl
	install -D -m 0644 daemon/systemd/kbrokerd.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/kbrokerd.service
	install -D -m 0644 daemon/systemd/kbroker.sysusers \
		$(DESTDIR)$(PREFIX)/lib/sysusers.d/kbroker.conf
	install -D -m 0644 daemon/systemd/kbroker.tmpfiles \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d/kbroker.conf
	$(foreach r,$(UDEV_RULES),install -D -m 0644 $(r) $(DESTDIR)$(PREFIX)/lib/udev/rules.d/$(notdir $(r));)
	install -D -m 0644 Documentation/man/kbrokerd.8 $(DESTDIR)$(PREFIX)/share/man/man8/kbrokerd.8
	install -D -m 0644 Documentation/man/kbrokerctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/kbrokerctl.8
	install -D -m 0644 Documentation/man/kbroker.properties.5 \
		$(DESTDIR)$(PREFIX)/share/man/man5/kbroker.properties.5
	@# Never overwrite an operator's configuration.
	test -e $(DESTDIR)/etc/kbroker/kbroker.properties || \
		install -D -m 0640 daemon/kbroker.properties $(DESTDIR)/etc/kbroker/kbroker.properties
	install -D -m 0644 dkms.conf $(DESTDIR)$(SRCDIR)/dkms.conf
	install -D -m 0644 Kbuild $(DESTDIR)$(SRCDIR)/Kbuild
	install -D -m 0644 include/uapi/linux/kbroker.h $(DESTDIR)$(SRCDIR)/include/uapi/linux/kbroker.h
	$(foreach f,$(wildcard kmod/*.c kmod/*.h),install -D -m 0644 $(f) $(DESTDIR)$(SRCDIR)/$(f);)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(B)

.PHONY: install all deps module daemon unit-build guest-build guest ksrc checkpatch check fuzz bench run clean
