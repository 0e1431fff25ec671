#!/usr/bin/env bash
# Sets up real execution for container twins (docs/emulator.md "Container twins"): Podman with its Docker-compatible CLI, runc,
# and a Debian 12 base image made offline from Debian's packages (no container registry is needed or reached).
# Idempotent: each part is skipped when it is already there. Needs root (apt-get, debootstrap, rootful Podman).
set -euo pipefail

base_image="${GILD_DEBIAN_BASE_IMAGE:-localhost/debian:12}"

missing=()
for command in podman runc debootstrap newuidmap; do command -v "$command" >/dev/null 2>&1 || missing+=("$command"); done
[ -x /usr/bin/docker ] || missing+=(podman-docker)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "containers: installing podman, podman-docker, runc, debootstrap, uidmap (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman podman-docker runc debootstrap uidmap >/dev/null
fi

# This kernel refuses Podman's default rlimits ("setrlimit … operation not permitted" from crun and runc alike), and
# runc is the runtime that was tried here. Only written when absent, so an administrator's own file is kept.
if [ ! -e /etc/containers/containers.conf ]; then
  echo "containers: writing /etc/containers/containers.conf (runc, nofile/nproc 1024)"
  mkdir -p /etc/containers
  cat >/etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF
fi

if podman image exists "$base_image"; then
  echo "containers: base image $base_image is already there"
else
  started=$(date +%s)
  root=$(mktemp -d /tmp/gild-debootstrap.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "containers: building $base_image with debootstrap --variant=minbase bookworm (about a minute)"
  # The mirror this machine's apt already uses (deb822 sources, else sources.list); debootstrap's default otherwise.
  mirror=$(sed -n 's|^URIs:[[:space:]]*\([^[:space:]]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  [ -n "$mirror" ] || mirror=$(sed -n 's|^deb[[:space:]]\+\([^[:space:]]*/debian\)/*[[:space:]]\+bookworm[[:space:]].*|\1|p' /etc/apt/sources.list 2>/dev/null | head -n 1)
  debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} >/dev/null
  tar -C "$root" -c . | podman import --quiet - "$base_image" >/dev/null
  echo "containers: $base_image made in $(( $(date +%s) - started )) s"
fi

# The base image carries what `apt-get update` leaves (the lists of every index, Translation-en included, and apt's
# caches), as a Debian instance does: debootstrap leaves only the Packages list, so every twin whose provisioning ran
# `apt-get update` downloaded, decompressed and committed the 32 MB Translation-en list again. Measured per such twin
# build (update + install busybox, then commit): 2.4 -> 1.9 CPU-s in the container, 0.6 -> 0.15 CPU-s for the commit.
# apt still asks the mirror on every update and fetches any index that changed there since. The update runs in a
# container of the base image, whose files are imported again as the base image: flattened, with the same (empty)
# configuration as the first import, where a `podman commit` would keep this container's entrypoint.
if podman run --rm --entrypoint sh "$base_image" -c 'ls /var/lib/apt/lists/*_InRelease /var/cache/apt/pkgcache.bin' >/dev/null 2>&1; then
  echo "containers: $base_image already carries apt's package lists"
else
  echo "containers: adding apt's package lists to $base_image (apt-get update)"
  container=gild-apt-lists
  podman rm --force --ignore "$container" >/dev/null
  podman run --name "$container" --entrypoint apt-get "$base_image" update -qq
  podman export "$container" | podman import --quiet - "$base_image" >/dev/null
  podman rm "$container" >/dev/null
fi
podman run --rm "$base_image" sh -c 'echo "containers: $(. /etc/os-release; echo "$PRETTY_NAME") runs"'
