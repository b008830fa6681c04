#!/bin/sh
# coldstart.sh measures the cold start of issue 18 item 4: the wall time of
# `go run ./examples/api` until GET /healthz answers, and of `go test ./...`
# (-run XXX: compile and link every test binary, run no test), each from an
# empty build and module cache. Run it from the repository root:
#     sh benchmarks/coldstart.sh [run|test|both]
# GOFLAGS is left as it is; the module proxy must be reachable.
set -eu
what=${1:-both}
port=${COLDSTART_PORT:-18089}
fresh() {
	tmp=$(mktemp -d)
	export GOCACHE="$tmp/cache" GOMODCACHE="$tmp/mod"
}
clean() { chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"; }
if [ "$what" != test ]; then
	fresh
	dbdir=$(mktemp -d)
	start=$(date +%s.%N)
	ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$dbdir/api.db" setsid go run ./examples/api >"$dbdir/log" 2>&1 &
	pid=$!
	until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || { cat "$dbdir/log"; exit 1; }
		sleep 0.2
	done
	end=$(date +%s.%N)
	echo "go run ./examples/api until /healthz answers: $(echo "$end - $start" | bc) s"
	# go run's child is the server: stop the process group setsid made.
	kill -- "-$pid"; wait "$pid" 2>/dev/null || true
	clean; rm -rf "$dbdir"
fi
if [ "$what" != run ]; then
	fresh
	start=$(date +%s.%N)
	go test -count=1 -run XXX ./... >/dev/null
	end=$(date +%s.%N)
	echo "go test -run XXX ./... (compile and link all): $(echo "$end - $start" | bc) s"
	clean
fi
