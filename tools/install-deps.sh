#!/usr/bin/env bash
# Installs the Debian packages Ferry's build, tests and local system need, only those missing
# (apt-get update costs time). Go itself comes with the machine: Debian 12's golang-go is far
# older than go.work's Go. Run as root; as another user it says what to install and fails.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have protoc || need+=(protobuf-compiler)
have docker-compose || need+=(docker-compose)
have mvn || need+=(maven)
have java || need+=(openjdk-17-jre-headless)
have gcc || need+=(gcc)
[ -f /usr/include/stdio.h ] || need+=(libc6-dev) # cgo: the race detector and the c-shared plugin
have make || need+=(make)
have curl || need+=(curl)
have git || need+=(git)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing Debian packages: ${need[*]}; run: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
