#!/bin/bash
# Runs as the first process of one lab host, already inside the host's own
# network namespace and fresh (private) mount and UTS namespaces:
#   ip netns exec amigo-lab-HOST unshare --mount --uts --propagation private \
#       bash lab-host-init.sh HOST ADDR HOSTDIR CGROUP_LIST WORKLOAD PREFIX
# Sets up the host's cgroups, /run, libvirt directories and hostname, starts
# dbus-daemon, virtlogd, libvirtd (TCP, no auth) and the UDP sink for guests,
# then stays alive as the namespace keeper (sleep).  Started and stopped only
# by tests/lab/amigo-lab.
set -euo pipefail
host=$1 hd=$3 cglist=$4 workload=$5 prefix=${6:-amigo-lab}
cgname=$prefix-$host

fail() {
	echo "lab-host-init $host: $*" >&2
	echo "$*" >"$hd/failed"
	exit 1
}
trap 'fail "setup failed at line $LINENO"' ERR

echo $$ >"$hd/keeper.pid"

# Close every inherited descriptor but stdio: the host's daemons live on
# after the caller, and must not hold its files or locks open (255 is
# the script itself).
fds=$(ls /proc/$$/fd)
for fd in $fds; do
	((fd > 2 && fd != 255)) || continue; exec {fd}>&-
done

# --- cgroups: this host sees only its own sub-cgroup of each hierarchy ------
mount -t tmpfs -o mode=755 amigo-lab-cgroup /sys/fs/cgroup
if [[ $(head -c 2 "$cglist") == v2 ]]; then
	# cgroup v2 (best effort, see docs/lab.md): bind the host's sub-tree.
	mkdir -p /sys/fs/cgroup/.raw
	mount -t cgroup2 none /sys/fs/cgroup/.raw
	mkdir -p "/sys/fs/cgroup/.raw/$cgname/init"
	echo $$ >"/sys/fs/cgroup/.raw/$cgname/init/cgroup.procs"
	mount --bind "/sys/fs/cgroup/.raw/$cgname" /sys/fs/cgroup
else
	mkdir /sys/fs/cgroup/.raw
	while IFS='|' read -r name opts; do
		[[ -n $name ]] || continue
		mkdir -p "/sys/fs/cgroup/.raw/$name" "/sys/fs/cgroup/$name"
		mount -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/.raw/$name"
		mount --bind "/sys/fs/cgroup/.raw/$name/$cgname" "/sys/fs/cgroup/$name"
		umount "/sys/fs/cgroup/.raw/$name"
		rmdir "/sys/fs/cgroup/.raw/$name"
		echo $$ >"/sys/fs/cgroup/$name/cgroup.procs"
	done <"$cglist"
	rmdir /sys/fs/cgroup/.raw
	# the usual symlinks (cpu,cpuacct -> cpu ...), when the machine has them
	while IFS='|' read -r link target; do
		[[ -n $link ]] && ln -sfn "$target" "/sys/fs/cgroup/$link"
	done <"$cglist.links"
fi

# --- private /run and libvirt state -----------------------------------------
mount -t tmpfs -o mode=755 amigo-lab-run /run
mkdir -p /run/lock /run/libvirt /run/dbus /run/user
mount --bind "$hd/lib" /var/lib/libvirt
mount --bind "$hd/cache" /var/cache/libvirt
mount --bind "$hd/log" /var/log/libvirt
mount --bind "$hd/etc" /etc/libvirt
hostname "$host"

if command -v dbus-daemon >/dev/null; then
	dbus-daemon --system --fork --nopidfile 2>/dev/null || true
fi
virtlogd -d
libvirtd -d --listen
setsid "$workload" sink 7777 >>/var/log/libvirt/amigo-sink.log 2>&1 </dev/null &

trap - ERR
touch "$hd/ready"
exec -a "$prefix-keeper-$host" sleep infinity
