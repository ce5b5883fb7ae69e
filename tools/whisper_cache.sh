#!/usr/bin/env bash
# Obtains whisper.cpp (with ggml) and builds it once per machine into a cache that every clone and
# build folder reuses; prints the installed prefix on the last line of stdout.
#
#   tools/whisper_cache.sh cpu
#   tools/whisper_cache.sh cuda "90;80"        CUDA backend for these CMAKE_CUDA_ARCHITECTURES
#   tools/whisper_cache.sh source DIR           only the verified source, unpacked into DIR/whisper.cpp
#                                               (for a machine that builds it itself: tools/gpu_check.sh)
#
# Source: whisper.cpp is not packaged by Debian. The npm package nodejs-whisper ships whisper.cpp
# (1.9.1 in the pinned version) under package/cpp/whisper.cpp; it is fetched with npm, the ordinary
# client, and checked against the registry's integrity hash pinned below before anything is built.
#
# Cache: ${TRIDENT_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/trident}/whisper.cpp-1.9.1-<variant>-<key>,
# where <key> hashes the compiler, the CPU's instruction set (ggml is built for the native CPU), the
# CUDA compiler and architectures, and this script. A lock file serialises concurrent builds; the
# prefix appears by an atomic rename only once complete, so a killed build leaves no half prefix.
# The last build's output (npm, configure, build, install) stays in <prefix>.log; a failure prints
# that path and the log's last lines.
set -euo pipefail

variant=${1:?usage: whisper_cache.sh cpu|cuda [cuda-architectures] | source DIR}
cuda_archs=${2:-}
source_dest=
package=nodejs-whisper
version=0.3.1
whisper_version=1.9.1
integrity=sha512-ceoilUVraRuR5FnNyXpGQT2auAR48Oc3AQBEmkXnVpSn9iN6yVRzQBFCqVTGWbk6Wdi95NhvwXNzFvuR7erLWw==

log() { echo "whisper_cache: $*" >&2; }
die() { log "error: $*"; exit 1; }

case "$variant" in
  cpu) ;;
  source)
    source_dest=${2:?the source variant needs a destination folder}
    ;;
  cuda)
    [ -n "$cuda_archs" ] || die "the cuda variant needs CUDA architectures (e.g. \"90\")"
    nvcc=${CUDACXX:-/usr/local/cuda/bin/nvcc}
    [ -x "$nvcc" ] || die "no CUDA compiler at $nvcc (install the CUDA toolkit under /usr/local/cuda or set CUDACXX)"
    ;;
  *) die "variant must be cpu or cuda, not '$variant'" ;;
esac

for tool in npm node cmake python3 flock; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (tools/dev.sh installs it: apt-get install npm)"
done

# Fetches the pinned package into folder $1 and checks its integrity; prints the tarball's path.
fetch_package() {
  local into=$1
  npm pack --pack-destination "$into" "$package@$version" >&2 || die "npm pack $package@$version failed"
  local tarball=$into/$package-$version.tgz
  [ -f "$tarball" ] || die "npm did not produce $tarball"
  local actual
  actual=sha512-$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "$tarball")
  [ "$actual" = "$integrity" ] || die "integrity mismatch for $package@$version: expected $integrity, got $actual"
  echo "$tarball"
}

if [ "$variant" = source ]; then
  mkdir -p "$source_dest"
  unpack=$(mktemp -d "$source_dest/.whisper-source.XXXXXX")
  trap 'rm -rf "$unpack"' EXIT
  tarball=$(fetch_package "$unpack")
  tar -xzf "$tarball" -C "$unpack" package/cpp/whisper.cpp
  grep -q "VERSION $whisper_version" "$unpack/package/cpp/whisper.cpp/CMakeLists.txt" ||
    die "$package@$version does not ship whisper.cpp $whisper_version"
  rm -rf "$source_dest/whisper.cpp"
  mv "$unpack/package/cpp/whisper.cpp" "$source_dest/whisper.cpp"
  echo "$source_dest/whisper.cpp"
  exit 0
fi

cc=${WHISPER_CC:-cc}
cxx=${WHISPER_CXX:-c++}
key_input=$(
  "$cxx" --version | head -1
  "$cc" --version | head -1
  grep -m1 '^flags' /proc/cpuinfo || true
  [ "$variant" = cuda ] && { "$nvcc" --version | tail -1; echo "$cuda_archs"; }
  cat "$0"
)
key=$(printf '%s' "$key_input" | sha256sum | cut -c1-12)
cache_root=${TRIDENT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trident}
prefix=$cache_root/whisper.cpp-$whisper_version-$variant-$key
build_log=$prefix.log
mkdir -p "$cache_root"

if [ -f "$prefix/.complete" ]; then
  echo "$prefix"
  exit 0
fi

exec 9>"$prefix.lock"
log "waiting for the build lock $prefix.lock"
flock 9
if [ -f "$prefix/.complete" ]; then   # another build finished while we waited
  echo "$prefix"
  exit 0
fi

work=$(mktemp -d "$cache_root/.whisper-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$build_log"

# Runs one step with its output appended to the build log, which outlives the work folder; on
# failure, prints the log's last lines and where the whole of it is, and stops.
logged() {
  local what=$1
  shift
  echo "== $what: $*" >>"$build_log"
  if ! "$@" >>"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    die "$what failed; the whole log is $build_log"
  fi
}

log "fetching $package@$version with npm"
echo "== npm pack $package@$version" >>"$build_log"
if ! tarball=$(fetch_package "$work" 2>>"$build_log"); then
  tail -n 40 "$build_log" >&2
  die "fetching $package@$version failed; the whole log is $build_log"
fi
tar -xzf "$tarball" -C "$work" package/cpp/whisper.cpp
src=$work/package/cpp/whisper.cpp
grep -q "VERSION $whisper_version" "$src/CMakeLists.txt" || die "$package@$version does not ship whisper.cpp $whisper_version"

options=(
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx"
  -DCMAKE_INSTALL_PREFIX="$prefix"
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DBUILD_SHARED_LIBS=OFF
  -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_SERVER=OFF -DWHISPER_BUILD_EXAMPLES=ON
  -DWHISPER_CURL=OFF -DWHISPER_SDL2=OFF
  -DGGML_NATIVE=ON -DGGML_OPENMP=OFF -DGGML_CCACHE=OFF -DGGML_BACKEND_DL=OFF
)
if [ "$variant" = cuda ]; then
  options+=(-DGGML_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" "-DCMAKE_CUDA_ARCHITECTURES=$cuda_archs")
fi

jobs=${WHISPER_BUILD_JOBS:-$(nproc)}
log "building whisper.cpp $whisper_version ($variant) into $prefix with $jobs jobs; this happens once per machine" \
    "and takes a few minutes (about 5 on 2 cores); its output goes to $build_log"
started=$(date +%s)
logged "configuring whisper.cpp" cmake -S "$src" -B "$work/build" -G Ninja "${options[@]}"
logged "building whisper.cpp" nice -n 10 cmake --build "$work/build" -j "$jobs"
# Install into a staging prefix inside the work folder, then move it into place in one rename.
# The package config files record the final prefix (CMAKE_INSTALL_PREFIX), so they stay valid.
logged "installing whisper.cpp" env DESTDIR="$work/stage" cmake --install "$work/build"
date -u +%FT%TZ >"$work/stage$prefix/.complete"
rm -rf "$prefix"
mv "$work/stage$prefix" "$prefix"
log "built in $(( $(date +%s) - started )) s"
echo "$prefix"
