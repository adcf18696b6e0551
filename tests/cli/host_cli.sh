#!/usr/bin/env bash
# baldro-host as a user runs it: versions, help, exit codes, log levels, config errors
# with file:line, --set overrides, the pipeline dry run and its resolved config.
. "$(dirname "$0")/lib.bash"
: "${BALDRO_HOST:?}" "${BALDRO_SOURCE_DIR:?}" "${BALDRO_TEST_PLUGIN_DIR:?}"
H="$BALDRO_HOST"
unset BALDRO_PLUGIN_PATH BALDRO_LOG

expect_rc 0 "$H" --version
contains "$OUT" "plugin ABI 1.5" "--version shows the ABI"
contains "$OUT" "baldro-host 0." "--version shows the host version"
expect_rc 0 "$H" --help
contains "$OUT" "Exit status" "--help documents exit codes"
contains "$OUT" "pipeline" "--help lists commands"
expect_rc 2 "$H"
expect_rc 2 "$H" frobnicate
contains "$ERR" "unknown command 'frobnicate'" "unknown command"
one_line "$ERR" "unknown command error"
expect_rc 2 "$H" --no-such-option plugins
for c in plugins config check pipeline finetune unlearn eval generate; do
  expect_rc 0 "$H" "$c" --help
  contains "$OUT" "$c" "$c --help"
done
for c in finetune unlearn eval; do
  expect_rc 2 "$H" "$c" --config "$TMP/missing.cfg"
  one_line "$ERR" "$c on a missing config"
done

# plugins: built-ins load from next to the executable; --plugins adds fixtures, whose
# rejections are listed while the good ones load.
expect_rc 0 "$H" plugins
contains "$OUT" "objectives_basic" "built-in plugin listed"
contains "$OUT" "grad_ascent" "built-in objective listed"
expect_rc 0 "$H" --plugins "$BALDRO_TEST_PLUGIN_DIR" plugins
contains "$OUT" "good_objectives" "fixture plugin listed"
contains "$OUT" "bad_abi_major.so [abi]" "rejection listed with its step"
contains "$OUT" "not_elf.so [dlopen]" "non-ELF file rejected at dlopen"
expect_rc 1 "$H" --plugins "$BALDRO_TEST_PLUGIN_DIR" plugins --strict
expect_rc 0 env BALDRO_PLUGIN_PATH="$BALDRO_TEST_PLUGIN_DIR" "$H" plugins
contains "$OUT" "good_objectives" "BALDRO_PLUGIN_PATH is searched"

# Log levels: rejections are warnings on other commands; --quiet hides them; -v and
# BALDRO_LOG=debug show the search path.
expect_rc 0 "$H" --plugins "$BALDRO_TEST_PLUGIN_DIR" config
contains "$ERR" "warning: plugin" "rejections warned about"
expect_rc 0 "$H" --quiet --plugins "$BALDRO_TEST_PLUGIN_DIR" config
[ -z "$ERR" ] && ok || bad "--quiet still logged: $ERR"
expect_rc 0 "$H" -v config
contains "$ERR" "plugin search path" "--verbose logs debug lines"
expect_rc 0 env BALDRO_LOG=debug "$H" config
contains "$ERR" "plugin search path" "BALDRO_LOG=debug"
expect_rc 0 env BALDRO_LOG=error "$H" --plugins "$BALDRO_TEST_PLUGIN_DIR" config
[ -z "$ERR" ] && ok || bad "BALDRO_LOG=error still logged: $ERR"
expect_rc 2 "$H" -v -q config

# Config: file values, --set, origins, errors with file:line and the setting's path.
cat >"$TMP/shared.cfg" <<'CFG'
trainer: { lr = 3e-5; epochs = 5; };
CFG
cat >"$TMP/exp.cfg" <<'CFG'
inherit = "shared.cfg";
run: { name = "exp1"; output_dir = "OUTDIR"; };
trainer: {
  epochs = 2;
};
CFG
sed -i "s|OUTDIR|$TMP/runs|" "$TMP/exp.cfg"
expect_rc 0 "$H" config --config "$TMP/exp.cfg" --set trainer.lr=2e-5 --origins
contains "$OUT" "lr = 2e-05" "--set wins over the file"
contains "$OUT" "epochs = 2;" "the file wins over what it inherits"
contains "$OUT" "from $TMP/exp.cfg:4" "origin of a file value"
contains "$OUT" "from --set" "origin of an override"
expect_rc 2 "$H" config --set trainer.lr=fast
contains "$ERR" "trainer.lr" "bad --set names the setting"
one_line "$ERR" "bad --set"
expect_rc 2 "$H" config --set trainer.lrr=1e-5
contains "$ERR" "trainer.lr" "unknown setting suggests the near one"
printf 'trainer: {\n  lr = "fast";\n};\n' >"$TMP/bad_type.cfg"
expect_rc 2 "$H" config --config "$TMP/bad_type.cfg"
contains "$ERR" "bad_type.cfg:2" "type error gives file:line"
contains "$ERR" "trainer.lr" "type error gives the path"
one_line "$ERR" "type error"
printf 'trainer: {\n  lr = 1e-5;\n  epochs = = 3;\n};\n' >"$TMP/bad_syntax.cfg"
expect_rc 2 "$H" config --config "$TMP/bad_syntax.cfg"
contains "$ERR" "bad_syntax.cfg:3" "syntax error gives file:line"
printf 'baldro: { mode = "dro"; };\n' >"$TMP/bad_enum.cfg"
expect_rc 2 "$H" config --config "$TMP/bad_enum.cfg"
contains "$ERR" "bad_enum.cfg:1" "semantic error gives file:line"
contains "$ERR" "baldro.mode" "semantic error gives the path"
expect_rc 2 "$H" config --config "$TMP/missing.cfg"
contains "$ERR" "missing.cfg" "missing file named"

# Pipeline dry run: every step and where it goes, nothing written.
expect_rc 0 "$H" pipeline --config "$TMP/exp.cfg" --dry-run --set baldro.mode=dv
contains "$OUT" "experiment  $TMP/runs/exp1: 1 run" "experiment printed"
contains "$OUT" "unlearn          $TMP/runs/exp1/run/unlearn" "steps printed with their directories"
contains "$OUT" "dry run: nothing executed" "dry run says so"
[ ! -e "$TMP/runs/exp1" ] && ok || bad "a dry run writes nothing"
# The resolved config (what every run writes as config.resolved.cfg) reproduces itself.
expect_rc 0 "$H" config --config "$TMP/exp.cfg" --set baldro.mode=dv
f="$TMP/resolved.cfg"
cp "$TMP/out" "$f"
contains "$(cat "$f")" 'mode = "dv"' "resolved config holds the override"
expect_rc 0 "$H" config --config "$f"
[ "$OUT" = "$(cat "$f")" ] && ok || bad "resolved config does not reproduce the run"
expect_rc 2 "$H" pipeline --config "$TMP/exp.cfg" --sweep nosuch.key=1,2
contains "$ERR" "'nosuch.key' is not a setting that can be swept" "pipeline refuses an unknown sweep key"
one_error "$ERR" "unknown sweep key"

# check: the built-in objectives pass the contract check.
expect_rc 0 "$H" check
contains "$OUT" "ok    grad_ascent" "grad_ascent passes"
contains "$OUT" "ok    nll" "nll passes"
contains "$OUT" "ok    kl" "kl (loss_rows over logits) passes"
expect_rc 0 "$H" check --objective KL --set objectives.kl.positions=answer
contains "$OUT" "ok    kl" "kl passes with positions = answer"
expect_rc 1 "$H" check --objective kl --set objectives.kl.positions=prompt
contains "$OUT" "positions = 'prompt' is not one of all, answer" "kl refuses an unknown positions"
expect_rc 2 "$H" check --objective nope
# Every example experiment resolves (from the repository root, as documented).
cd "$BALDRO_SOURCE_DIR"
for f in examples/*.cfg; do
  expect_rc 0 "$H" config --config "$f"
  [ -z "$ERR" ] && ok || bad "$f: $ERR"
done
# convert: an HF directory in, an HF directory out (transformers' view of the output is
# checked by tests/oracle/hf_oracle.py --check-convert).
CT=$(mktemp -d)
expect_rc 0 "$H" convert --model tests/fixtures/hf/qwen2_f16_tied_sharded --out "$CT/q" --shard-size 30000
contains "$OUT" "wrote $CT/q (qwen2" "convert reports what it wrote"
[ -f "$CT/q/model.safetensors.index.json" ] && [ -f "$CT/q/config.json" ] && ok || bad "convert output layout"
expect_rc 1 "$H" convert --model tests/fixtures/hf/qwen2_f16_tied_sharded --out "$CT/q"
contains "$ERR" "already exists" "convert refuses to overwrite by default"
expect_rc 0 "$H" convert --model tests/fixtures/hf/qwen2_f16_tied_sharded --out "$CT/q" --overwrite
expect_rc 1 "$H" convert --model "$CT/missing" --out "$CT/x"
contains "$ERR" "missing: no such file or directory" "convert names the missing path"
[ "$(printf '%s' "$ERR" | wc -l)" -le 1 ] && ok || bad "one-line error: $ERR"
expect_rc 2 "$H" convert --model "$CT/q"
S260K="$BALDRO_SOURCE_DIR/../shared/models/stories260K"
expect_rc 0 "$H" convert --model "$S260K/stories260K.bin" --out "$CT/s"
contains "$OUT" "260032 parameters" "convert reads a llama2.c checkpoint"
expect_rc 1 "$H" convert --model "$S260K/tok512.bin" --out "$CT/t"
one_line "$ERR" "a .bin that is not a checkpoint"
expect_rc 2 "$H" generate --model "$CT/q"
contains "$ERR" "--model and --prompt are required" "generate needs a prompt"
expect_rc 1 "$H" generate --model "$CT/nowhere" --prompt hi
one_line "$ERR" "generate on a missing model"
contains "$ERR" "nowhere: no such file or directory" "generate names the missing model"
mkdir "$CT/notok"
expect_rc 1 "$H" generate --model "$CT/notok" --prompt hi
contains "$ERR" "notok/tokenizer.json" "generate names the missing tokenizer"
# generate on llama2.c and GGUF checkpoints: run.c's 200 greedy tokens from BOS, byte for byte.
expect_rc 0 "$H" generate --model "$S260K/stories260K.bin" --tokenizer "$S260K/tok512.bin" --prompt "" -n 200
[ "$OUT" = "$(cat "$S260K/expected_greedy_n200.txt")" ] && ok || bad "generate .bin differs from run.c"
expect_rc 0 "$H" generate --model "$S260K/stories260K.gguf" --prompt "" -n 200
[ "$OUT" = "$(cat "$S260K/expected_greedy_n200.txt")" ] && ok || bad "generate .gguf differs from run.c"
contains "$ERR" "200 new (length limit)" "generate reports what it did"
expect_rc 1 "$H" generate --model "$S260K/stories260K.bin" --prompt x
contains "$ERR" "name its tokenizer with --tokenizer" "a llama2.c checkpoint needs --tokenizer"
one_line "$ERR" "generate .bin without a tokenizer"
expect_rc 2 "$H" generate --model "$S260K/stories260K.gguf" --prompt x --template llama3
contains "$ERR" "needs a tokenizer.json" "templates need an HF tokenizer"
expect_rc 2 "$H" generate --model "$S260K/stories260K.gguf" --prompt x --template chatml
contains "$ERR" "'chatml' is not one of" "unknown template names the choices"
rm -rf "$CT"
finish
