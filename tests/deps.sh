#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what amigo needs to build, test and run its lab on Debian 12.
# `tests/deps.sh --bench` also installs the reference forecasters the
# benchmarks compare against.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config
  libvirt-dev libglib2.0-dev libjson-glib-dev libsystemd-dev
  libgsl-dev libopenblas-dev libcmocka-dev
  # sanitizers, fuzzing
  clang-14 libclang-rt-14-dev libfuzzer-14-dev valgrind
  # lab and integration tests: libvirt, QEMU (TCG), guest image parts
  qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-daemon-driver-qemu
  libvirt-clients dbus busybox-static linux-image-cloud-amd64
  iproute2 util-linux procps psmisc kmod e2fsprogs python3
  # replay plots
  gnuplot-nox
  # Prometheus export: promtool checks the textfile, node_exporter serves it
  prometheus prometheus-node-exporter
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(r-cran-forecast linux-perf)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
