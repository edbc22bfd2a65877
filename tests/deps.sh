#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Installs from Debian what kbroker's build, tests and `make run` need.
# Idempotent and silent when everything is present.
set -e

PKGS="build-essential pkg-config kmod cpio xz-utils
linux-image-amd64 linux-headers-amd64 linux-source-6.1
qemu-system-x86 busybox-static
libssl-dev openssl libnl-genl-3-dev libkeyutils-dev keyutils
libdevmapper-dev dmsetup cryptsetup-bin e2fsprogs
kcat librdkafka-dev python3-confluent-kafka python3-kafka zlib1g-dev
liblz4-dev libsnappy-dev libzstd-dev libpcre2-dev
clang libclang-rt-14-dev valgrind systemd man-db python3-yaml
golang-go golang-github-shopify-sarama-dev
libzookeeper-mt-dev zookeeper libmicrohttpd-dev prometheus curl"

# make run MODE=host: the stack on this kernel, so its headers too.
if [ "$MODE" = host ]; then
	"$(dirname "$0")/run-host.sh" --preflight || exit 1
	if [ ! -d "/lib/modules/$(uname -r)/build" ]; then
		hdr=linux-headers-$(uname -r)
		apt-cache show "$hdr" >/dev/null 2>&1 || {
			echo "deps: no $hdr in Debian's archive and no /lib/modules/$(uname -r)/build:" \
				"MODE=host needs the headers of the running kernel" >&2
			exit 1
		}
		PKGS="$PKGS $hdr"
	fi
fi

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
