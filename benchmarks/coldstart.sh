#!/bin/sh
# coldstart.sh measures a first run from empty caches (GOCACHE and
# GOMODCACHE in new temporary directories, so the machine's own caches are
# left alone; GOFLAGS unchanged; the module proxy must be reachable). Run it
# from the repository root:
#
#     sh benchmarks/coldstart.sh run     # go run ./examples/api until GET /healthz answers
#     sh benchmarks/coldstart.sh test    # go test ./... (the README's command, every test run)
#     sh benchmarks/coldstart.sh new     # go test ./cmd/svckit-new
#     sh benchmarks/coldstart.sh cpu [go build|go test flags...] PACKAGES
#
# run, test and new print the wall time and the CPU time (user + system of
# go and every process it started) of the whole command, downloads
# included. cpu downloads the modules first (timed apart), then builds the
# packages with -toolexec pointing at this script, which times every
# compile, assemble and link, and prints the CPU seconds per module: what
# each dependency costs to compile. Run with nothing else on the machine,
# and say what `uptime` said.
set -eu
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# As -toolexec: time the tool, append "importpath tool cpu-seconds".
if [ -n "${COLDSTART_CPULOG:-}" ] && [ "${1:-}" != cpu ] && [ "${1#/}" != "$1" ]; then
	t=$(mktemp)
	rc=0
	/usr/bin/time -f '%U %S' -o "$t" "$@" || rc=$?
	case " $* " in
	*" -V=full "*) ;; # the go command asking for the tool's version
	*) printf '%s %s %s\n' "${TOOLEXEC_IMPORTPATH%% *}" "$(basename "$1")" "$(tail -n 1 "$t" | awk '{print $1 + $2}')" >>"$COLDSTART_CPULOG" ;;
	esac
	rm -f "$t"
	exit "$rc"
fi

what=${1:-run}
port=${COLDSTART_PORT:-18089}
tmp=$(mktemp -d)
export GOCACHE="$tmp/cache" GOMODCACHE="$tmp/mod"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
echo "uptime: $(uptime)"

# timed LABEL CMD...: run CMD, print its wall and CPU seconds.
timed() {
	label=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@"
	tail -n 1 "$tmp/time" | awk -v l="$label" '{printf "%s: %.1f s wall, %.1f CPU-seconds, %.0f MB peak\n", l, $1, $2 + $3, $4 / 1024}' >&2
}

case $what in
run)
	start=$(date +%s.%N)
	ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$tmp/api.db" setsid go run ./examples/api >"$tmp/log" 2>&1 &
	pid=$!
	until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || { cat "$tmp/log"; exit 1; }
		sleep 0.2
	done
	end=$(date +%s.%N)
	echo "go run ./examples/api until /healthz answers: $(echo "$end - $start" | bc) s"
	# go run's child is the server: stop the process group setsid made.
	kill -- "-$pid"
	wait "$pid" 2>/dev/null || true
	;;
test)
	timed "go test ./..." go test ./... >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
	;;
new)
	timed "go test ./cmd/svckit-new" go test -count=1 ./cmd/svckit-new >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
	;;
cpu)
	shift
	verb=build
	if [ "${1:-}" = test ]; then
		verb=test
		shift
	fi
	timed "download (go list -deps -test)" go list -deps -test "$@" >/dev/null
	export COLDSTART_CPULOG="$tmp/cpu"
	: >"$COLDSTART_CPULOG"
	if [ $verb = test ]; then
		timed "go test -run XXX -toolexec (compile and link)" go test -count=1 -run XXX -toolexec "sh $self" "$@" >/dev/null
	else
		timed "go build -o /dev/null -toolexec" go build -o /dev/null -toolexec "sh $self" "$@"
	fi
	unset COLDSTART_CPULOG
	# Attribute each package to its module (longest module path that
	# prefixes it; no dot in the first element: the standard library).
	go list -m all 2>/dev/null | awk '{print "M", $1}' >"$tmp/mods"
	awk '
	FNR == NR { mods[$2] = 1; next }
	{
		p = $1; sub(/_test$/, "", p); sub(/\.test$/, "", p)
		tool[$2] += $3
		if ($2 == "link") { link += $3; next }
		m = ""
		for (x in mods) if ((p == x || index(p, x "/") == 1) && length(x) > length(m)) m = x
		if (m == "") { split(p, e, "/"); m = (e[1] ~ /\./) ? p : "std" }
		cpu[m] += $3; total += $3
		if (index(m, "github.com/svckit/svckit") == 1) pkg[p] += $3
	}
	END {
		print "CPU-seconds by module (compile, assemble and vet of its packages):"
		for (m in cpu) printf "%8.1f  %s\n", cpu[m], m | "sort -rn"
		close("sort -rn")
		printf "%8.1f  (link, every binary)\n%8.1f  total\n", link, total + link
		print "by tool:"
		for (t in tool) printf "%8.1f  %s\n", tool[t], t | "sort -rn"
		close("sort -rn")
		print "svckit'"'"'s own packages (compile and vet), most expensive first:"
		for (q in pkg) printf "%8.1f  %s\n", pkg[q], q | "sort -rn | head -n 12"
		close("sort -rn | head -n 12")
	}' "$tmp/mods" "$tmp/cpu"
	;;
*)
	echo "usage: sh benchmarks/coldstart.sh run|test|new|cpu [test] PACKAGES" >&2
	exit 2
	;;
esac
