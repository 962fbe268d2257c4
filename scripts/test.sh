#!/usr/bin/env bash
# The project's single test command, and what CI runs (through .ci/run).
#
# 1. Makes sure the servers the integration tests start are installed (Redis, PostgreSQL and
#    psql; authbench-testkit runs throwaway copies on free ports), installing them with apt when
#    run as root; a C compiler for aws-lc-sys; PyJWT for the JWT interop test and the foreign
#    Flask app's packages for the flow-mapping test and schemathesis for the OpenAPI test (with
#    pip);
#    taskset for core pinning; headless Chromium for the HTML report test.
# 2. Runs `cargo fmt --check`, clippy and rustdoc with warnings denied, the whole test suite, and
#    a short run of every fuzz target (scripts/fuzz.sh, which installs cargo-fuzz).
#
# Usage: scripts/test.sh [--tools-only]   (from anywhere; honours CARGO_TARGET_DIR)
#   --tools-only   stop after step 1
set -euo pipefail

tools_only=false
case "${1-}" in
    "") ;;
    --tools-only) tools_only=true ;;
    *) echo "usage: scripts/test.sh [--tools-only]" >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
    echo "scripts/test.sh: $*" >&2
    exit 1
}

is_root() {
    [[ $(id -u) -eq 0 ]]
}

# --- installers: each takes what to install, or dies saying what the user must install. ---

apt_updated=false

# apt_install PACKAGE...: Debian packages, as root only; `apt-get update` runs once per call of
# this script.
apt_install() {
    if ! is_root || ! command -v apt-get >/dev/null; then
        die "install the Debian package(s): $* (this script installs them when run as root)"
    fi
    local log
    log=$(mktemp)
    if ! $apt_updated; then
        echo "apt-get update"
        apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; die "apt-get update failed"; }
        apt_updated=true
    fi
    echo "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
        >"$log" 2>&1 || { cat "$log" >&2; die "apt-get install $* failed"; }
    rm -f "$log"
}

# pip_install PACKAGE...: PyPI packages, into the python3 on PATH (the one the tests run).
pip_install() {
    command -v python3 >/dev/null || die "python3 not found: install Python 3 with pip"
    echo "python3 -m pip install $*"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@" || die "pip install $* failed"
}

# configure_podman: podman's default runtime (crun) refuses this kind of machine's mixed cgroup
# setup; runc with the cgroupfs manager runs containers here. Containers get ulimits no higher
# than this shell's hard limits (runc may not raise them), and a process limit well under it.
configure_podman() {
    local conf=/etc/containers/containers.conf
    if [[ -f $conf ]] && grep -q '^runtime = "runc"' "$conf"; then
        return 0
    fi
    is_root || die "configure podman for runc and cgroupfs in $conf (this script does it when run as root)"
    local files processes
    files=$(ulimit -Hn)
    processes=$(ulimit -Hu)
    [[ $processes == unlimited || $processes -gt 4096 ]] && processes=4096
    [[ $files == unlimited ]] && files=65536
    echo "writing $conf: runtime runc, cgroupfs, nofile $files, nproc $processes"
    mkdir -p /etc/containers
    cat >"$conf" <<CONF
[containers]
default_ulimits = ["nofile=$files:$files", "nproc=$processes:$processes"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

# --- tools ---

# find_tool NAME: prints the path of NAME on PATH, else in the newest /usr/lib/postgresql/*/bin
# (Debian keeps PostgreSQL's server binaries off PATH).
find_tool() {
    local name=$1 dir
    if command -v "$name" 2>/dev/null; then
        return 0
    fi
    for dir in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r); do
        if [[ -x $dir/$name ]]; then
            echo "$dir/$name"
            return 0
        fi
    done
    return 1
}

# ensure_tool NAME INSTALLER ARG...: makes sure NAME can be found, running `INSTALLER ARG...`
# when it can't, and prints one line with its version and path. New needs (a PyPI package for
# an interop test, wrk for benchmarks) get an installer function and an ensure_tool line.
ensure_tool() {
    local name=$1 path
    shift
    if ! path=$(find_tool "$name"); then
        echo "$name not found"
        "$@"
        path=$(find_tool "$name") || die "$name still not found after: $*"
    fi
    # stdout first: some wrappers (Debian's chromium) print shell noise on stderr.
    local version
    version=$("$path" --version 2>/dev/null | head -n 1) || true
    # Some tools (nginx) know only -v, and print it on stderr.
    [[ -n $version ]] || version=$("$path" -v 2>&1 | head -n 1) || true
    printf 'found %-13s %s (%s)\n' "$name" "$version" "$path"
}

# ensure_python_module MODULE INSTALLER ARG...: ensure_tool for a module python3 must import,
# printing its version.
ensure_python_module() {
    local module=$1 version
    shift
    local probe="import $module; print(getattr($module, '__version__', '?'))"
    if ! version=$(python3 -c "$probe" 2>/dev/null); then
        echo "python3 module $module not found"
        "$@"
        version=$(python3 -c "$probe" 2>/dev/null) || die "python3 module $module still not found after: $*"
    fi
    printf 'found %-13s %s (python3 module)\n' "$module" "$version"
}

# ensure_cargo_component SUBCOMMAND COMPONENT: `cargo fmt` and `cargo clippy` come as rustup
# components that minimal toolchains lack.
ensure_cargo_component() {
    if ! cargo "$1" --version >/dev/null 2>&1; then
        command -v rustup >/dev/null || die "cargo $1 not found: install the $2 component"
        rustup component add "$2"
    fi
    printf 'found %-13s %s\n' "cargo $1" "$(cargo "$1" --version)"
}

# --- phases ---

header() {
    printf '\n==> %s\n' "$1"
}

# phase TITLE COMMAND...: a header line, then the command; any failure ends the script.
phase() {
    local title=$1
    shift
    header "$title"
    "$@" || die "failed: $title"
}

header "tools"
command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs)"
printf 'found %-13s %s\n' cargo "$(cargo --version)"
ensure_cargo_component fmt rustfmt
ensure_cargo_component clippy clippy
ensure_tool redis-server apt_install redis-server
# The store-ceiling test holds authbench's ceiling against redis-benchmark; the cluster tests
# join their nodes with redis-cli.
ensure_tool redis-benchmark apt_install redis-tools
ensure_tool redis-cli apt_install redis-tools
ensure_tool initdb apt_install postgresql postgresql-client
ensure_tool postgres apt_install postgresql
ensure_tool psql apt_install postgresql-client
# aws-lc-sys (the JWT server's crypto) compiles C; it needs no cmake or clang on Linux x86_64.
ensure_tool cc apt_install gcc libc6-dev
# scripts/pyjwt_interop.py: the JWT interop test checks our tokens against PyJWT.
ensure_tool python3 apt_install python3 python3-pip
ensure_python_module jwt pip_install 'pyjwt[crypto]'
ensure_python_module cryptography pip_install 'pyjwt[crypto]'
# tests/foreign-app: the Flask shop that the flow-mapping test measures.
for module in flask waitress redis prometheus_client; do
    ensure_python_module "$module" pip_install -r tests/foreign-app/requirements.txt
done
# crates/cli/tests/openapi.rs: schemathesis tests both servers against their /openapi.json.
ensure_tool st pip_install schemathesis==4.32.5
# crates/cli/tests/kubernetes.rs: the manifests against Kubernetes' own schemas.
ensure_tool kubernetes-validate pip_install kubernetes-validate==1.37.0
# `balancer = "nginx"`: the run starts nginx in front of a system's replicas.
ensure_tool nginx apt_install nginx
# crates/cli/tests/compose.rs: docker-compose.yml on podman, with images built locally from a
# debootstrap root filesystem (tests/compose/images.sh); podman-compose from PyPI (Debian's
# is too old for replicas).
ensure_tool podman apt_install podman runc netavark aardvark-dns iptables
ensure_tool runc apt_install runc
ensure_tool debootstrap apt_install debootstrap
ensure_tool strip apt_install binutils
ensure_tool podman-compose pip_install podman-compose==1.6.0
configure_podman
# `authbench run` pins servers and the load generator to cores with taskset (util-linux).
ensure_tool taskset apt_install util-linux
# The report test opens report.html in a real browser (headless Chromium).
ensure_tool chromium apt_install chromium
if is_root && ! id postgres >/dev/null 2>&1; then
    die "running as root, which PostgreSQL refuses, and there is no 'postgres' user to run it as"
fi
if $tools_only; then
    exit 0
fi

# Lockfile-exact builds once Cargo.lock is committed; before that there is nothing to hold to.
locked=()
if [[ -f Cargo.lock ]]; then
    locked=(--locked)
fi

phase "cargo fmt --all --check" cargo fmt --all --check
phase "cargo fmt --check (fuzz targets)" cargo fmt --manifest-path fuzz/Cargo.toml --check
phase "cargo clippy (warnings denied)" \
    cargo clippy --workspace --all-targets "${locked[@]}" -- -D warnings
phase "cargo doc (broken links denied)" \
    env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --document-private-items "${locked[@]}"
phase "cargo test" cargo test --workspace "${locked[@]}"
# Every fuzz target builds and runs briefly from its seeds and past failures (scripts/fuzz.sh
# says how to run them for longer). The first build on a machine takes about six minutes.
phase "fuzz smoke (4 s per target)" bash scripts/fuzz.sh --smoke 4
printf '\n==> all checks passed\n'
