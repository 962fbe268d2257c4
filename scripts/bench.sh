#!/usr/bin/env bash
# The project's benchmarks, in one command (release builds; a few minutes):
#   1. store latency at one connection: our Redis and Postgres session loads against
#      redis-benchmark and pgbench on the same throwaway server, plus SQLite and memory; and the
#      store ceiling a run measures, against redis-benchmark at the same connections;
#   2. token cost: sign and verify time and token size per JWT algorithm;
#   3. GET /user/balance requests/s against GET / of the same server, server on one tokio worker
#      (CPU 0), wrk on CPU 1: the session server per store, the JWT server per algorithm and
#      revocation mode, the resource server's JWKS and shared-store checks;
#   4. the load generator against wrk on the same trivial route, same connections and duration;
#   5. (only when asked for: `rss`) the load generator's RSS over a 10-minute max-rate run;
#   6. (only when asked for: `soak`) scenarios/soak.toml, 3 minutes per server (SOAK_REPEATS=60
#      for an hour each), and each server's drift checked against the growth limits.
# Installs wrk (and Redis/PostgreSQL, through scripts/test.sh's checks) when run as root.
# Usage: scripts/bench.sh [store|tokens|routes|loadgen|rss|soak]   (default: all but rss and soak)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what=${1:-all}
case $what in all | store | tokens | routes | loadgen | rss | soak) ;; *) echo "usage: scripts/bench.sh [store|tokens|routes|loadgen|rss|soak]" >&2; exit 2 ;; esac

bash scripts/test.sh --tools-only
for tool in wrk:wrk redis-benchmark:redis-tools pgbench:postgresql-contrib callgrind_control:valgrind; do
    name=${tool%%:*} package=${tool#*:}
    if ! command -v "$name" >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/$name" >/dev/null; then
        if [[ $(id -u) -eq 0 ]]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
        else
            echo "scripts/bench.sh: $name not found: install Debian's $package package" >&2
            exit 1
        fi
    fi
done

if [[ $what == all || $what == store ]]; then
    echo "== store latency at one connection (cargo run --release -p authbench-store --example store_latency)"
    cargo run --quiet --release -p authbench-store --example store_latency
    echo "== the store ceiling against redis-benchmark (cargo bench -p authbench-cli --bench store_ceiling)"
    cargo bench --quiet -p authbench-cli --bench store_ceiling
fi
if [[ $what == all || $what == tokens ]]; then
    echo "== token cost per algorithm (cargo run --release -p authbench-jwt-server --example token_cost)"
    cargo run --quiet --release -p authbench-jwt-server --example token_cost
fi
if [[ $what == all || $what == routes ]]; then
    echo "== route throughput, server on one worker (cargo bench -p authbench-cli --bench routes)"
    cargo bench --quiet -p authbench-cli --bench routes
fi
if [[ $what == all || $what == loadgen ]]; then
    echo "== load generator against wrk, GET / of one server (cargo bench -p authbench-cli --bench loadgen_vs_wrk)"
    cargo bench --quiet -p authbench-cli --bench loadgen_vs_wrk
fi
if [[ $what == rss ]]; then
    echo "== load generator RSS over a max-rate run (cargo bench -p authbench-cli --bench loadgen_rss; BENCH_SECONDS, default 600)"
    cargo bench --quiet -p authbench-cli --bench loadgen_rss
fi
if [[ $what == soak ]]; then
    echo "== soak: drift of each server under steady load (cargo bench -p authbench-cli --bench soak; SOAK_REPEATS, default 3)"
    cargo bench --quiet -p authbench-cli --bench soak
fi
