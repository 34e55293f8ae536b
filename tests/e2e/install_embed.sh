#!/usr/bin/env bash
# `cmake --install` lays out binary, library, headers, pkg-config and CMake
# package files, schemas, manifests, man page and completion; the example in
# examples/embed builds against the installed library with pkg-config (and
# with find_package) and runs.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
if [ -n "${DOSSIER_SANITIZE:-}" ]; then
  echo "skip: sanitizer build (the installed library needs the sanitizer runtime)"
  exit 77
fi
build=${DOSSIER_BUILD:?}
prefix="$WORK/prefix"
cmake --install "$build" --prefix "$prefix" > "$WORK/install.log" || { cat "$WORK/install.log"; fail "install"; }

libdir=$(cd "$(dirname "$(find "$prefix" -name dossier.pc | sed -n 1p)")/.." && pwd)
for f in bin/dossier include/dossier/dossier.h include/dossier/scan.h \
         share/man/man1/dossier.1 share/bash-completion/completions/dossier \
         share/zsh/site-functions/_dossier \
         share/dossier/schemas/envelope.schema.json share/dossier/schemas/reports/status.schema.json \
         share/dossier/manifests/software-dev.yaml; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
ls "$libdir"/libdossier.a "$libdir"/libdossier.so >/dev/null || fail "libraries not installed"
[ -e "$libdir/cmake/dossier/dossierConfig.cmake" ] || fail "CMake package config not installed"

# pkg-config: the .pc finds its prefix relative to itself
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs dossier) || fail "pkg-config dossier"
cc -std=c11 -Wall -Wextra -Werror "$SRC/examples/embed/embed.c" $flags -o "$WORK/embed" \
  || fail "example does not build against the installed library"
m=$(sample_copy)
LD_LIBRARY_PATH="$libdir" "$WORK/embed" "$m" "$WORK/log" software-dev > "$WORK/out.txt" \
  || fail "example failed"
grep -q "complete, parity [0-9a-f]\{64\}" "$WORK/out.txt" || { cat "$WORK/out.txt"; fail "output"; }

# the same through find_package(dossier), against the shared library and
# against the static one (which links every dependency the package config
# lists, liburing and libisal included)
mkdir -p "$WORK/cm"
cat > "$WORK/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(embed C)
find_package(dossier REQUIRED)
add_executable(embed $SRC/examples/embed/embed.c)
target_link_libraries(embed PRIVATE dossier::dossier)
add_executable(embed_static $SRC/examples/embed/embed.c)
target_link_libraries(embed_static PRIVATE dossier::dossier_static)
CM
cmake -S "$WORK/cm" -B "$WORK/cm/build" -DCMAKE_PREFIX_PATH="$prefix" > "$WORK/cm.log" \
  && cmake --build "$WORK/cm/build" >> "$WORK/cm.log" 2>&1 || { cat "$WORK/cm.log"; fail "find_package build"; }
out=$(LD_LIBRARY_PATH="$libdir" "$WORK/cm/build/embed" "$m" "$WORK/log2" software-dev) \
  || fail "find_package example failed"
grep -q complete <<<"$out" || { echo "$out"; fail "find_package example output"; }
libs=$(ldd "$WORK/cm/build/embed_static") || fail "ldd embed_static"
grep -q libdossier <<<"$libs" && fail "the static example loads libdossier.so"
out=$("$WORK/cm/build/embed_static" "$m" "$WORK/log3" software-dev) \
  || fail "find_package static example failed"
grep -q complete <<<"$out" || { echo "$out"; fail "find_package static example output"; }
"$prefix/bin/dossier" --version | grepq '^dossier ' || fail "installed binary"
echo "install_embed: ok"
