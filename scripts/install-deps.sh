#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package that slirpvpn's build, tests, demo and benchmarks use.
# Idempotent: asks apt only for what is missing. Needs root (apt-get).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev
  # libraries (DESIGN.md "Dependencies")
  libsodium-dev libssl-dev libslirp-dev libglib2.0-dev libmnl-dev libnftables-dev
  libcli11-dev libspdlog-dev libfmt-dev libexpected-dev libqrencode-dev libseccomp-dev
  libcap-dev libgtest-dev libgmock-dev libbenchmark-dev
  # the patched libslirp build (issue 9)
  meson dpkg-dev
  # real peers and tools for the namespace tests
  wireguard-go wireguard-tools iperf3 dnsmasq curl openssl tcpdump bind9-dnsutils
  traceroute iproute2 iputils-ping nftables conntrack procps util-linux python3 zbar-tools
  # the other systems of the benchmarks (bench/lan.sh, bench/wan.sh) and the WAN chart
  openvpn slirp4netns gnuplot-nox
  # slirpvpn show --json, add-peer --qr-png (issue 7)
  nlohmann-json3-dev libpng-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if ((EUID != 0)); then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (apt-get install needs it), e.g. sudo $0" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
