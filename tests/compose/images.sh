#!/usr/bin/env bash
# Builds the local stand-in for the official images docker-compose.yml names (redis, postgres,
# nginx, and authbench from the Dockerfile), where no image registry can be reached: one
# Debian bookworm root filesystem from debootstrap with Debian's redis-server, PostgreSQL and
# nginx, imported with podman, then the given authbench binary layered on top. The base is kept
# between runs (podman's image store); the binary layer is rebuilt every time, as it changes
# with the checkout.
#
#   tests/compose/images.sh PATH/TO/authbench     # prints the image's name
set -euo pipefail

binary=${1:?usage: tests/compose/images.sh PATH/TO/authbench}
here=$(cd "$(dirname "$0")" && pwd)
base=localhost/authbench-standin-base:bookworm
image=localhost/authbench-standin:latest

if ! podman image exists "$base"; then
    root=$(mktemp -d /var/tmp/authbench-rootfs.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    echo "building $base with debootstrap (about a minute)" >&2
    debootstrap --variant=minbase \
        --include=redis-server,redis-tools,postgresql-15,nginx,bash,gawk,ca-certificates,procps \
        bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 \
        || { tail -20 "$root.log" >&2; exit 1; }
    rm -f "$root.log"
    # Debian's packages started nothing inside the chroot; the services start them.
    tar -C "$root" -c . | podman import \
        --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$base" >/dev/null
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/authbench"
# A debug build carries hundreds of MB of symbols the image does not need.
strip --strip-debug "$context/authbench" 2>/dev/null || true
cp "$here/standin-entrypoint.sh" "$context/docker-entrypoint.sh"
cat >"$context/Containerfile" <<CONTAINERFILE
FROM $base
COPY authbench /usr/local/bin/authbench
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
CONTAINERFILE
podman build --quiet --tag "$image" "$context" >/dev/null
echo "$image"
