#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetches Debian's libslirp 4.7.0 source package, applies Debian's patches and ours
# (patches/NNNN-*.patch, in order) and builds a static, optimised libslirp with meson.
#
# Usage: build.sh WORK_DIR [extra C flags...]
#   WORK_DIR/download  the source package (.dsc, .orig.tar, .debian.tar), kept: rebuilds are offline
#   WORK_DIR/apt       a private apt configuration (own sources.list, lists and cache): the
#                      machine's own apt sources and state stay untouched
#   WORK_DIR/src       the unpacked, patched tree (re-made when a patch or flag changes)
#   WORK_DIR/build     meson's build directory
#   WORK_DIR/prefix    the installed library: lib/libslirp.a, include/slirp/, lib/pkgconfig
# Prints nothing new and does no work when the stamp (patches + flags) is unchanged.
set -euo pipefail
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${1:?usage: build.sh WORK_DIR [extra C flags...]}
shift
extra_cflags="$*"
version=4.7.0
mkdir -p "$work"
work=$(cd "$work" && pwd)

stamp_text() {
  echo "libslirp $version"
  echo "cflags $extra_cflags"
  echo "cc ${CC:-cc}"
  sha256sum "$here/build.sh" "$here"/patches/*.patch | awk '{print $1}'
}
stamp=$(stamp_text)
if [[ -f "$work/prefix/lib/libslirp.a" && -f "$work/stamp" && "$(cat "$work/stamp")" == "$stamp" ]]; then
  exit 0
fi

for tool in dpkg-source meson ninja; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

# 1. The source package, fetched once through a private apt configuration.
download="$work/download"
dscs=("$download"/libslirp_"$version"-*.dsc)
if ((${#dscs[@]} == 0)); then
  apt_dir="$work/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$download"
  # The same archive and suite the machine uses for its binary packages, as deb-src.
  mirror="" suite=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    suite=$(awk '/^Suites:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z "$mirror" && -f /etc/apt/sources.list ]]; then
    read -r mirror suite < <(awk '$1 == "deb" && $2 !~ /security/ {print $2, $3; exit}' /etc/apt/sources.list)
  fi
  [[ -n "$mirror" && -n "$suite" ]] || { echo "build.sh: no Debian archive found in /etc/apt sources" >&2; exit 1; }
  echo "deb-src $mirror $suite main" >"$apt_dir/sources.list"
  apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
            -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
  echo "build.sh: fetching libslirp $version source from $mirror $suite (private apt lists in $apt_dir)"
  apt-get "${apt_opts[@]}" -qq update
  (cd "$download" && apt-get "${apt_opts[@]}" -qq --download-only source "libslirp=$version-1")
  rm -rf "$apt_dir/lists"  # only the package files are needed from here on
fi
dscs=("$download"/libslirp_"$version"-*.dsc)
((${#dscs[@]} > 0)) || { echo "build.sh: the source package did not download" >&2; exit 1; }
dsc=${dscs[0]}

# 2. Unpack (dpkg-source applies Debian's own patches), then ours in order.
rm -rf "$work/src" "$work/build" "$work/prefix" "$work/stamp"
dpkg-source -x "$dsc" "$work/src" >/dev/null 2>&1 ||
  { echo "build.sh: dpkg-source -x $dsc failed" >&2; exit 1; }
rm -f "$work"/libslirp_*.orig.tar.*  # the link dpkg-source leaves beside src
for patch in "$here"/patches/*.patch; do
  [[ -f "$patch" ]] || continue
  patch -d "$work/src" -p1 --forward --quiet <"$patch" ||
    { echo "build.sh: $(basename "$patch") does not apply" >&2; exit 1; }
done

# 3. Build and install into the prefix: static, optimised, no tests.
# The flags go to the link too: meson links a test program, and sanitizer flags need their runtime.
CFLAGS="${CFLAGS:-} $extra_cflags" LDFLAGS="${LDFLAGS:-} $extra_cflags" meson setup "$work/build" "$work/src" --prefix "$work/prefix" \
  --libdir lib -Ddefault_library=static --buildtype=release -Db_ndebug=if-release >/dev/null
ninja -C "$work/build" -j "${JOBS:-2}" install >/dev/null
echo "$stamp" >"$work/stamp"
echo "build.sh: libslirp $version + $(printf '%s\n' "$here"/patches/*.patch | grep -c .) patches installed in $work/prefix"
