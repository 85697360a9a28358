#!/bin/bash
# Does libvirt accept live tunable changes while a migration holds the
# domain's job, on the destination (paused, incoming) and on the source?
# And does a direct cgroup write on the destination survive the end of the
# migration? Prints one line per attempt: side, what, start and end in
# seconds after the migration started, exit status and libvirt's message.
# Run as root under the lab lock:
#   flock /work/lab.lock tests/lab/probe-tunables-migration.sh
# Uses its own lab (AMIGO_LAB_ID, default 5) and takes it down at the end.
set -u
here=$(cd "$(dirname "$0")" && pwd)
lab=$here/amigo-lab
export AMIGO_LAB_ID=${AMIGO_LAB_ID:-5}
name=${PROBE_GUEST:-tun1}
bw=${PROBE_BANDWIDTH:-8}
# both: libvirt set calls and direct cgroup writes during the migration;
# direct: only the direct writes (does libvirt itself reset them?);
# libvirt: only the libvirt set calls.
mode=${PROBE_MODE:-both}
((EUID == 0)) || { echo "needs root"; exit 77; }

"$lab" down >/dev/null 2>&1
trap '"$lab" down >/dev/null 2>&1' EXIT
"$lab" up >/dev/null || { echo "lab up failed"; exit 1; }
"$lab" guest hosta "$name" --class ml --memory 512 || exit 1
ua=$("$lab" uri hosta)
ub=$("$lab" uri hostb)

t0=$(date +%s.%N)
rel() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
attempt() { # SIDE URI WHAT virsh-args...
	local side=$1 uri=$2 what=$3
	shift 3
	local s e out rc
	s=$(rel)
	out=$(timeout 90 virsh -c "$uri" "$@" 2>&1) && rc=0 || rc=$?
	e=$(rel)
	echo "attempt side=$side what=$what start_s=$s end_s=$e rc=$rc out=\"$(tr '\n' ' ' <<<"$out")\""
}
cg() { # HOST CONTROLLER FILE [VALUE]: the domain's top cgroup file in HOST
	local dir
	dir=$("$lab" exec "$1" sh -c "ls -d /sys/fs/cgroup/$2/machine/qemu-*-$name.libvirt-qemu 2>/dev/null | head -1")
	[[ -n $dir ]] || { echo "(no cgroup)"; return 1; }
	if (($# == 4)); then
		"$lab" exec "$1" sh -c "echo $4 > $dir/$3" 2>&1 && echo "wrote $dir/$3=$4"
	else
		"$lab" exec "$1" cat "$dir/$3"
	fi
}

echo "before: hosta cpu.shares=$(cg hosta cpu cpu.shares) cfs_quota_us=$(cg hosta cpu cpu.cfs_quota_us)"
"$lab" migrate "$name" hosta hostb -- --bandwidth "$bw" >"${TMPDIR:-/tmp}/probe-migrate.$$" 2>&1 &
mig=$!
# wait for the incoming domain on hostb
for _ in $(seq 300); do
	st=$(virsh -c "$ub" domstate "$name" 2>/dev/null) && break
	sleep 0.1
done
echo "incoming domain on hostb at $(rel) s, state '$st'"
virsh -c "$ub" domjobinfo "$name" 2>&1 | sed 's/^/  hostb job: /' | head -4
sleep 1
attempt hostb "$ub" read_schedinfo schedinfo "$name" &
attempt hostb "$ub" read_memtune memtune "$name" &
if [[ $mode != direct ]]; then
attempt hostb "$ub" cpu_shares schedinfo "$name" --live --set cpu_shares=2048 &
attempt hostb "$ub" vcpu_quota schedinfo "$name" --live --set vcpu_quota=50000 &
attempt hostb "$ub" global_quota schedinfo "$name" --live --set global_quota=60000 &
attempt hostb "$ub" memtune_soft memtune "$name" --live --soft-limit 300000 &
attempt hostb "$ub" blkiotune_weight blkiotune "$name" --live --weight 500 &
attempt hosta "$ua" read_schedinfo schedinfo "$name" &
attempt hosta "$ua" cpu_shares schedinfo "$name" --live --set cpu_shares=1500 &
attempt hosta "$ua" memtune_soft memtune "$name" --live --soft-limit 310000 &
fi
if [[ $mode != libvirt ]]; then
s=$(rel); w=$(cg hostb cpu cpu.shares 3000; cg hostb cpu cpu.cfs_quota_us 70000; cg hostb memory memory.soft_limit_in_bytes 314572800)
echo "direct cgroup writes on hostb at ${s}-$(rel) s: $(tr '\n' ' ' <<<"$w")"
fi
echo "during: hostb cpu.shares=$(cg hostb cpu cpu.shares) cfs_quota_us=$(cg hostb cpu cpu.cfs_quota_us) soft=$(cg hostb memory memory.soft_limit_in_bytes)"
wait "$mig"; echo "migration exit $? at $(rel) s"
echo "at end: hostb cpu.shares=$(cg hostb cpu cpu.shares) cfs_quota_us=$(cg hostb cpu cpu.cfs_quota_us) soft=$(cg hostb memory memory.soft_limit_in_bytes)"
head -3 "${TMPDIR:-/tmp}/probe-migrate.$$"; rm -f "${TMPDIR:-/tmp}/probe-migrate.$$"
wait
sleep 3
echo "after (+3 s): hostb cpu.shares=$(cg hostb cpu cpu.shares) cfs_quota_us=$(cg hostb cpu cpu.cfs_quota_us) soft=$(cg hostb memory memory.soft_limit_in_bytes)"
virsh -c "$ub" schedinfo "$name" 2>&1 | sed 's/^/  hostb schedinfo: /'
virsh -c "$ub" memtune "$name" 2>&1 | sed 's/^/  hostb memtune: /'
virsh -c "$ub" dumpxml "$name" 2>&1 | grep -A6 -E '<cputune|<memtune' | sed 's/^/  hostb xml: /'
# hand back: the same values through libvirt, now that no job holds the domain
attempt hostb "$ub" handback_sched schedinfo "$name" --live --set cpu_shares=3000
attempt hostb "$ub" handback_quota schedinfo "$name" --live --set global_quota=70000
attempt hostb "$ub" handback_mem memtune "$name" --live --soft-limit 307200
virsh -c "$ub" dumpxml "$name" 2>&1 | grep -A6 -E '<cputune|<memtune' | sed 's/^/  hostb xml after hand back: /'
echo "after hand back: hostb cpu.shares=$(cg hostb cpu cpu.shares) cfs_quota_us=$(cg hostb cpu cpu.cfs_quota_us) soft=$(cg hostb memory memory.soft_limit_in_bytes)"
