#!/usr/bin/env bash
# The GPU figures of `trident bench media` in one call on a machine with an NVIDIA GPU: batch
# transcription on the GPU (files/s, times realtime) with whisper-cli run once per file beside it.
#
#   tools/gpu_check.sh prepare [BUNDLE]   where FFmpeg and npm are: fills BUNDLE (build/gpu-check)
#   tools/gpu_check.sh run [BUNDLE]       on the GPU machine, from the repository root
#
# Why two steps: the GPU machine has a compiler, CMake, Ninja and CUDA's nvcc, but none of FFmpeg,
# libcurl or fmt, and fetches nothing; what reaches it is this tree plus a bundle of at most 64 MiB.
# Trident's full media build needs FFmpeg (170 MB of libraries), so it cannot travel. The bundle
# holds what the GPU side cannot make:
#   whisper.cpp/  the pinned source (tools/whisper_cache.sh source), ~33 MB;
#   clips/        48 clips of 3-10 s as 16 kHz mono 16-bit WAV, what `trident transcribe` decodes
#                 compressed audio to (espeak-ng speech, resampled by ffmpeg), ~9 MB;
#   openssl/      OpenSSL's headers and static libcrypto (~11 MB), used only where the machine
#                 has no OpenSSL for development (the media layer hashes model files with it).
# `run` then builds, with every core, whisper.cpp with ggml's CUDA backend (architectures from
# GPU_CHECK_CUDA_ARCHS, default 90-real: H100 and H200), whisper-cli, and tools/gpu_check's
# batch_transcribe (Trident's whisper_model and device code, compiled from this tree), and runs:
#   batch_cuda        the model loaded once on the GPU, 4 states on 4 threads (as `trident
#                     transcribe` on a GPU: pipeline_options::states = 4);
#   batch_cpu         the same on the CPU, 4 states of nproc/4 threads each, for reference;
#   per_file_cli_cuda whisper-cli once per clip on the GPU (a process and a model load per file).
# The model is generated there (base dimensions, seeded random weights: real costs, meaningless
# text), as the media benchmarks do; it is 148 MB and would not fit the bundle.
#
# Results: one JSON object per line in $OUT/gpu_check.jsonl (BUNDLE/results without $OUT), a
# table on stdout, and the build's log beside them. Exit status 0 when every measurement ran.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
bundle=${2:-$here/build/gpu-check}
bundle_limit_bytes=$((60 * 1024 * 1024))  # the 64 MiB a run may carry, with room to spare
clip_count=48

log() { echo "gpu_check: $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '5,6p' "$0" | sed 's/^# *//' >&2; exit 2; }

prepare() {
  for tool in espeak-ng ffmpeg npm; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (tools/dev.sh installs it)"
  done
  mkdir -p "$bundle"
  log "whisper.cpp source into $bundle"
  "$here/tools/whisper_cache.sh" source "$bundle" >/dev/null
  # Bindings and tests are not built (WHISPER_BUILD_TESTS=OFF) and only cost bundle space.
  rm -rf "$bundle/whisper.cpp/bindings" "$bundle/whisper.cpp/tests"

  log "$clip_count clips into $bundle/clips"
  local clips=$bundle/clips staging
  staging=$(mktemp -d "$bundle/.clips.XXXXXX")
  trap 'rm -rf "$staging"' RETURN
  local sentences=(
    "Threads share one address space and suit waiting on the network."
    "A process pool runs Python code on every core, one interpreter each."
    "The event loop switches tasks only where they await, so shared state needs no lock."
    "Transcription is the expensive step: a model reads the audio thirty seconds at a time."
    "Start with the simplest tool that fits, and measure before reaching for another."
    "A queue between stages keeps the fast producer from running far ahead of the slow consumer."
  )
  local i speed
  for ((i = 0; i < clip_count; i++)); do
    speed=$((120 + (i * 7) % 60))
    espeak-ng -s "$speed" -w "$staging/speech.wav" "${sentences[i % ${#sentences[@]}]}"
    ffmpeg -nostdin -loglevel error -y -i "$staging/speech.wav" -ar 16000 -ac 1 -c:a pcm_s16le \
      "$staging/$(printf 'clip-%02d.wav' "$i")"
  done
  rm "$staging/speech.wav"
  rm -rf "$clips"
  mv "$staging" "$clips"

  log "OpenSSL headers and libcrypto.a into $bundle/openssl"
  local libcrypto=/usr/lib/x86_64-linux-gnu/libcrypto.a
  [ -f "$libcrypto" ] || die "no $libcrypto (apt-get install libssl-dev)"
  rm -rf "$bundle/openssl"
  mkdir -p "$bundle/openssl/include/openssl" "$bundle/openssl/lib"
  cp -r /usr/include/openssl/. "$bundle/openssl/include/openssl/"
  cp -r /usr/include/x86_64-linux-gnu/openssl/. "$bundle/openssl/include/openssl/"
  cp "$libcrypto" "$bundle/openssl/lib/"

  local bytes
  bytes=$(du -sb "$bundle" | cut -f1)
  [ "$bytes" -le "$bundle_limit_bytes" ] || die "the bundle is $bytes bytes, over $bundle_limit_bytes"
  log "bundle ready: $bundle, $((bytes / 1024 / 1024)) MiB; on the GPU machine run: tools/gpu_check.sh run ${bundle#"$here"/}"
}

# Seconds since $1 (a `date +%s.%N`), to the millisecond. awk, not python3: the GPU machine may
# have no Python.
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }'; }

# Runs "$@", printing its wall seconds on stdout; its own output goes to the log.
timed() {
  local started
  started=$(date +%s.%N)
  "$@" >>"$results/build.log" 2>&1 || return 1
  seconds_since "$started"
}

# The number after "KEY": in a flat JSON object.
json_number() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }

run() {
  [ -d "$bundle/whisper.cpp" ] && [ -d "$bundle/clips" ] || die "no bundle at $bundle (run 'tools/gpu_check.sh prepare' where FFmpeg is)"
  results=${OUT:-$bundle/results}
  mkdir -p "$results"
  : >"$results/build.log"
  local jsonl=$results/gpu_check.jsonl
  : >"$jsonl"
  local jobs cuda=ON nvcc archs=${GPU_CHECK_CUDA_ARCHS:-90-real}
  jobs=$(nproc)
  nvcc=${CUDACXX:-}
  [ -n "$nvcc" ] || nvcc=$(command -v nvcc || true)
  [ -n "$nvcc" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc; }
  if [ -z "$nvcc" ] || [ "${GPU_CHECK_CPU_ONLY:-0}" = 1 ]; then
    cuda=OFF
    log "no CUDA compiler (or GPU_CHECK_CPU_ONLY=1): building the CPU path only; batch_cuda and per_file_cli_cuda are skipped"
  fi
  command -v nvidia-smi >/dev/null && nvidia-smi -L | tee -a "$results/build.log" >&2 || true

  local work=${GPU_CHECK_BUILD_DIR:-$(mktemp -d)}
  log "building into $work with $jobs jobs (CUDA $cuda, architectures $archs); log: $results/build.log"
  local configure=(cmake -S "$here/tools/gpu_check" -B "$work" -G Ninja -DCMAKE_BUILD_TYPE=Release
    -DWHISPER_SOURCE="$bundle/whisper.cpp" -DGPU_CHECK_CUDA=$cuda -DGPU_CHECK_OPENSSL_ROOT="$bundle/openssl")
  [ "$cuda" = ON ] && configure+=(-DCMAKE_CUDA_COMPILER="$nvcc" "-DCMAKE_CUDA_ARCHITECTURES=$archs")
  local build_seconds
  timed "${configure[@]}" >/dev/null || { tail -n 30 "$results/build.log" >&2; die "configure failed"; }
  build_seconds=$(timed cmake --build "$work" -j "$jobs") || { tail -n 30 "$results/build.log" >&2; die "build failed"; }
  log "built in $build_seconds s"
  echo "{\"case\": \"build\", \"cuda\": \"$cuda\", \"jobs\": $jobs, \"seconds\": $build_seconds}" >>"$jsonl"

  local model=$work/ggml-base-generated.bin failures=0 out
  local batch=("$work/batch_transcribe" --clips "$bundle/clips" --model "$model")
  log "generating the model (base dimensions, seeded random weights)"
  "${batch[@]}" --generate base --device cpu --states 1 --threads "$jobs" --generate-only yes \
    >>"$results/build.log" 2>&1 || { tail -n 20 "$results/build.log" >&2; die "generating the model failed"; }
  if [ "$cuda" = ON ]; then
    log "batch_cuda: 4 states on the GPU"
    if out=$("${batch[@]}" --device cuda --states 4 --threads 4 2>>"$results/build.log"); then
      echo "${out/\{/\{\"case\": \"batch_cuda\", }" >>"$jsonl"
    else
      log "batch_cuda failed (see $results/build.log)"; failures=$((failures + 1))
    fi
  fi
  log "batch_cpu: 4 states on the CPU"
  if out=$("${batch[@]}" --device cpu --states 4 --threads $((jobs / 4 > 0 ? jobs / 4 : 1)) 2>>"$results/build.log"); then
    echo "${out/\{/\{\"case\": \"batch_cpu\", }" >>"$jsonl"
  else
    log "batch_cpu failed (see $results/build.log)"; failures=$((failures + 1))
  fi
  if [ "$cuda" = ON ]; then
    log "per_file_cli_cuda: whisper-cli once per clip on the GPU"
    local cli=$work/bin/whisper-cli clip started seconds audio
    [ -x "$cli" ] || cli=$(find "$work" -name whisper-cli -type f -perm -u+x | head -1)
    started=$(date +%s.%N)
    local cli_ok=1
    for clip in "$bundle"/clips/*.wav; do
      "$cli" -m "$model" -f "$clip" -t 4 -l en -nf -nt -bs 1 -bo 1 -np >/dev/null 2>>"$results/build.log" || { cli_ok=0; break; }
    done
    seconds=$(seconds_since "$started")
    if [ "$cli_ok" = 1 ]; then
      # The clips' length as batch_transcribe read them (the same files).
      audio=$(json_number audio_seconds <"$jsonl" | head -n 1)
      local n
      n=$(find "$bundle/clips" -name '*.wav' | wc -l)
      awk -v n="$n" -v s="$seconds" -v a="${audio:-0}" 'BEGIN {
        printf "{\"case\": \"per_file_cli_cuda\", \"device\": \"cuda\", \"clips\": %d, \"audio_seconds\": %.3f, ", n, a
        printf "\"wall_seconds\": %.3f, \"files_per_second\": %.3f, \"x_realtime\": %.2f}\n", s, n / s, a / s
      }' >>"$jsonl"
    else
      log "whisper-cli failed on $clip (see $results/build.log)"; failures=$((failures + 1))
    fi
  fi

  printf '%-20s %-9s %9s %11s %8s\n' case device files/s "x realtime" "wall s"
  local line
  while IFS= read -r line; do
    local case_name device
    case_name=$(sed -n 's/.*"case": "\([^"]*\)".*/\1/p' <<<"$line")
    if [ "$case_name" = build ]; then
      printf '%-20s %-9s %9s %11s %8s\n' build "cuda $(sed -n 's/.*"cuda": "\([^"]*\)".*/\1/p' <<<"$line")" "" "" \
        "$(json_number seconds <<<"$line")"
      continue
    fi
    device=$(sed -n 's/.*"device": "\([^"]*\)".*/\1/p' <<<"$line")
    printf '%-20s %-9s %9s %11s %8s\n' "$case_name" "$device" "$(json_number files_per_second <<<"$line")" \
      "$(json_number x_realtime <<<"$line")" "$(json_number wall_seconds <<<"$line")"
  done <"$jsonl"
  [ "$failures" = 0 ] || die "$failures measurement(s) failed"
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) usage ;;
esac
