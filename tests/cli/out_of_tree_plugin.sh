#!/usr/bin/env bash
# The example plugin in examples/toy_objective is built against the *installed* SDK,
# found through pkg-config alone (and once more through CMake's find_package), and the
# already-built host loads it and runs it. The host binary must not change.
. "$(dirname "$0")/lib.bash"
: "${BALDRO_HOST:?}" "${BALDRO_SOURCE_DIR:?}" "${BALDRO_BINARY_DIR:?}"

host_sum_before=$(sha256sum "$BALDRO_HOST" | cut -d' ' -f1)
prefix="$TMP/prefix"
expect_rc 0 cmake --install "$BALDRO_BINARY_DIR" --prefix "$prefix"
[ -f "$prefix/include/baldro/plugin.h" ] && ok || bad "headers not installed"
pcdir=$(dirname "$(find "$prefix" -name baldro.pc | head -n 1)")
[ -n "$pcdir" ] && ok || bad "baldro.pc not installed"

# Build out of tree: a copy of the example, with nothing of the source tree on the path.
cp -r "$BALDRO_SOURCE_DIR/examples/toy_objective" "$TMP/toy"
expect_rc 0 env PKG_CONFIG_PATH="$pcdir" make -C "$TMP/toy"
[ -f "$TMP/toy/toy_objective.so" ] && ok || bad "toy_objective.so not built"
expect_rc 0 env PKG_CONFIG_PATH="$pcdir" pkg-config --variable=plugindir baldro
contains "$OUT" "$prefix" "plugindir points into the prefix"

# The host that was built before the plugin existed loads it and runs it.
expect_rc 0 "$BALDRO_HOST" --plugins "$TMP/toy" plugins --long
contains "$OUT" "toy_objective 1.0.0 (ABI 1.5)" "plugin listed with its version and ABI"
contains "$OUT" "toy_mean_logp" "objective listed"
contains "$OUT" "scale" "declared parameter listed"
expect_rc 0 "$BALDRO_HOST" --plugins "$TMP/toy" check --objective toy_mean_logp
contains "$OUT" "ok    toy_mean_logp" "objective passes the contract check"
loss1=$(printf '%s\n' "$OUT" | awk '/toy_mean_logp/ {print $5}')
expect_rc 0 "$BALDRO_HOST" --plugins "$TMP/toy" check --objective ToyMeanLogp \
  --set objectives.toy_mean_logp.scale=2
loss2=$(printf '%s\n' "$OUT" | awk '/toy_mean_logp/ {print $5}')
awk -v a="$loss1" -v b="$loss2" 'BEGIN { d = b - 2 * a; exit !(a < 0 && d < 1e-5 && d > -1e-5) }' \
  && ok || bad "scale=2 should double the batch loss: $loss1 -> $loss2"
expect_rc 2 "$BALDRO_HOST" --plugins "$TMP/toy" check --set objectives.toy_mean_logp.scale=1000
contains "$ERR" "objectives.toy_mean_logp.scale" "out-of-bounds parameter names the setting"

# The installed host finds the plugin once `make install` put it in the plugin dir.
expect_rc 0 env PKG_CONFIG_PATH="$pcdir" make -C "$TMP/toy" install
expect_rc 0 env -u BALDRO_PLUGIN_PATH "$prefix/bin/baldro-host" plugins
contains "$OUT" "toy_objective" "installed host finds the installed plugin"
contains "$OUT" "objectives_basic" "installed host finds the built-in plugins"

# CMake package config works as well.
if expect_rc 0 cmake -S "$TMP/toy" -B "$TMP/toy-cmake" -DCMAKE_PREFIX_PATH="$prefix"; then :; fi
expect_rc 0 cmake --build "$TMP/toy-cmake"
[ -f "$TMP/toy-cmake/toy_objective.so" ] && ok || bad "CMake-built plugin missing"
expect_rc 0 "$BALDRO_HOST" --plugins "$TMP/toy-cmake" check --objective toy_mean_logp

[ "$(sha256sum "$BALDRO_HOST" | cut -d' ' -f1)" = "$host_sum_before" ] && ok \
  || bad "the host binary changed"
finish
