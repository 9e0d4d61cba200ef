#!/usr/bin/env bash
# Makes the image deploy/Dockerfile starts FROM (debian:12-slim) without a registry: a
# minimal Debian 12 root file system from the Debian mirror apt already uses
# (debootstrap --variant=minbase), imported into podman and tagged with the name the
# Dockerfile asks for, so that `podman build --pull=never` finds it. Done once: the image
# stays in podman's store (and the root fs in the cache directory) for later builds.
# Where a registry is reachable, `podman pull debian:12-slim` does the same.
#   deploy/podman/base-image.sh
set -euo pipefail
name=docker.io/library/debian:12-slim
if podman image exists "$name"; then
  echo "base image: $name is there"
  exit 0
fi
cache=${LOADS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/loads/images}
rootfs="$cache/bookworm-minbase"
mirror=$(awk '/^URIs:/ { print $2; exit } /^deb / { print $2; exit }' \
           /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
if [ ! -f "$rootfs/etc/debian_version" ]; then
  echo "base image: debootstrap --variant=minbase bookworm from $mirror (about a minute)"
  rm -rf "$rootfs.tmp" && mkdir -p "$cache"
  debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    tail -20 "$cache/debootstrap.log" >&2
    echo "base-image.sh: debootstrap failed (log: $cache/debootstrap.log)" >&2
    exit 1
  }
  rm -rf "$rootfs.tmp"/var/cache/apt/archives/*.deb "$rootfs.tmp"/var/lib/apt/lists/*
  mv "$rootfs.tmp" "$rootfs"
fi
tar -C "$rootfs" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$name" >/dev/null
echo "base image: $name imported from $rootfs ($(du -sh "$rootfs" | cut -f1))"
