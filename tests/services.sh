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
# by its socket: the lab's hosts run virtlogd processes of their own in
# their namespaces, which pgrep sees too
[ -S /run/libvirt/virtlogd-sock ] || virtlogd -d
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
