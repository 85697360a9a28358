#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Starts the system services the integration tests and the demo need on a
# machine without systemd as PID 1: the system D-Bus, virtlogd and libvirtd.
# Does nothing for a service that already runs.
set -euo pipefail

if ! pgrep -x dbus-daemon >/dev/null || [ ! -S /run/dbus/system_bus_socket ]; then
  mkdir -p /run/dbus
  rm -f /run/dbus/pid
  dbus-daemon --system --fork
fi
# one in this mount namespace: the lab's hosts run virtlogd processes of their
# own in theirs, which pgrep sees too (and a dead one leaves its socket behind)
own_virtlogd() {
  local p
  for p in $(pgrep -x virtlogd); do
    [ "$(readlink "/proc/$p/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ] && return 0
  done
  return 1
}
own_virtlogd || virtlogd -d
if ! virsh -q -c qemu:///system uri >/dev/null 2>&1; then
  pgrep -x libvirtd >/dev/null && pkill -x libvirtd && sleep 1 || true
  libvirtd -d
  for _ in $(seq 1 50); do
    virsh -q -c qemu:///system uri >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
virsh -q -c qemu:///system uri >/dev/null
echo "services: dbus, virtlogd, libvirtd running"
