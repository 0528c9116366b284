#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages the build and the tests need, when some are missing.
#   install-deps.sh             (GStreamer's development packages and tools included: the
#                                plugin and its tests are part of make test)
# Runs apt-get as root (directly, or through sudo when it is there); prints what is
# missing and fails otherwise.
set -eu
pkgs="clang-19 lld-19 libclang-rt-19-dev libclang-rt-19-dev-wasm32 wasi-libc wabt meson ninja-build pkg-config gcc make patch"
# installing and packaging: manual pages (scdoc, and man to read them), Debian packages
pkgs="$pkgs binutils scdoc man-db dpkg-dev"
# esbuild bundles, at build time, the TypeScript transpiler (sucrase) and the guest's prelude
# (core-js, both fetched with npm); node orders the prelude's modules
pkgs="$pkgs esbuild"
# the test plugins: Rust's (Debian's rustc and its wasm32 standard library)
pkgs="$pkgs rustc libstd-rust-dev-wasm32"
pkgs="$pkgs libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "install-deps: run as root: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
