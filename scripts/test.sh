#!/usr/bin/env bash
# Every test: set up, build, run the Criterion suites and CLI tests with ctest, then the
# same again under AddressSanitizer + UBSan.
#   ./scripts/test.sh            (from the repository root)
#   ./scripts/test.sh --no-sanitize   skips the sanitizer pass (faster local loop)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test  # chromium, libpng: the report rendering test
jobs=$(nproc)
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON

echo "== build (warnings as errors: $werror) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBALDRO_WERROR=$werror >/dev/null
ln -sf build/compile_commands.json compile_commands.json  # for clangd / clang-tidy
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${1:-}" != "--no-sanitize" ]; then
  echo "== build with AddressSanitizer + UBSan =="
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBALDRO_SANITIZE=ON \
        -DBALDRO_WERROR=$werror -DBALDRO_CUDA=OFF >/dev/null
  cmake --build build-asan -j "$jobs"
  # detect_leaks: plugins are dlclose()d, so leak stacks through them would be
  # unsymbolised; the host frees everything itself, so leaks still fail the run.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"
fi
