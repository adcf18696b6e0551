#!/usr/bin/env bash
# tokenize, score and generate --json as a user runs them: the plain tables, usage errors
# and bad paths in one line with the README's exit codes, malformed JSON Lines named by
# file, line and field while the other lines go on, and tokenize reading no weights and no
# plugins. The numbers themselves are checked against the oracle in tests/unit/test_inspect.c.
. "$(dirname "$0")/lib.bash"
: "${BALDRO_HOST:?}" "${BALDRO_SOURCE_DIR:?}"
H="$BALDRO_HOST"
unset BALDRO_PLUGIN_PATH BALDRO_LOG
S="$BALDRO_SOURCE_DIR/../shared/models/stories260K"
TINY="$BALDRO_SOURCE_DIR/tests/fixtures/inspect/tiny/tokenizer.json"

# both commands are listed
expect_rc 2 "$H"
contains "$ERR" "tokenize" "--help lists tokenize"
contains "$ERR" "score" "--help lists score"

# plain tables
expect_rc 0 "$H" tokenize --tokenizer "$S/tok512.bin" --text "Lily went to the"
contains "$OUT" "tokens: 6, 0 with loss" "tokenize counts"
contains "$OUT" "    5      265         the" "tokenize row: position, id, token"
expect_rc 0 "$H" tokenize --tokenizer "$TINY" --question "Who wrote it?" --answer "Jane."
contains "$OUT" 'text: Question: Who wrote it?\nAnswer: Jane.' "the template's text, escaped"
contains "$OUT" "template: plain - auto: the tokenizer has no chat template" "auto is plain"
contains "$OUT" "*  </s>" "the end token carries loss"
expect_rc 0 "$H" score --model "$S/stories260K.bin" --tokenizer "$S/tok512.bin" \
  --question "Lily went to the" --answer " park."
contains "$OUT" "sum_logprob" "score prints the sum"
contains "$OUT" "prob " "score prints the normalised probability"
contains "$ERR" "score: template none" "score says which template"
expect_rc 0 "$H" generate --model "$S/stories260K.bin" --tokenizer "$S/tok512.bin" --ids "1,317,263,377" -n 5
[ -n "$OUT" ] && ok || bad "generate --ids prints text"
expect_rc 0 "$H" generate --model "$S/stories260K.bin" --ids "1 317 263 377" -n 5 --json
contains "$OUT" '"prompt_ids":[1,317,263,377],"generated_ids":[' "generate --json without a vocabulary"
contains "$OUT" '"text":null' "no vocabulary, no text"

# tokenize reads only the vocabulary: no plugins, no weights (a plugin directory that does
# not exist is not even searched)
expect_rc 0 env BALDRO_LOG=debug "$H" --plugins /nonexistent tokenize --model "$S/stories260K.gguf" --text hi --json
not_contains "$ERR" "plugin search path" "tokenize loads no plugins"
contains "$OUT" '"ids":[1,' "tokenize from a .gguf's vocabulary"

# usage errors: exit 2, one line
expect_rc 2 "$H" tokenize --tokenizer "$TINY"
one_line "$ERR" "tokenize without an item"
contains "$ERR" "give --question and --answer, or --text, or --input" "tokenize names the modes"
expect_rc 2 "$H" tokenize --tokenizer "$TINY" --question q
one_line "$ERR" "a question without an answer"
expect_rc 2 "$H" tokenize --text x
contains "$ERR" "--tokenizer or --model" "tokenize needs a vocabulary"
expect_rc 2 "$H" tokenize --tokenizer "$TINY" --text x --template llama3
contains "$ERR" "--text is encoded as is" "a template does not apply to text"
expect_rc 2 "$H" tokenize --tokenizer "$TINY" --question q --answer a --template chatml
contains "$ERR" "'chatml' is not one of" "unknown template"
expect_rc 2 "$H" tokenize --tokenizer "$S/tok512.bin" --question q --answer a --template llama3
contains "$ERR" "needs a tokenizer.json" "templates need an HF tokenizer"
one_line "$ERR" "template with a llama2.c vocabulary"
expect_rc 2 "$H" score --model "$S/stories260K.bin" --ids 1,2,3
contains "$ERR" "--ids with --loss-from" "--ids needs --loss-from"
expect_rc 2 "$H" score --model "$S/stories260K.bin" --ids 1,x --loss-from 1
contains "$ERR" "--ids: '1,x'" "a bad id list"
one_line "$ERR" "bad --ids"
expect_rc 2 "$H" generate --model "$S/stories260K.bin" --ids 1,2 --template plain
contains "$ERR" "takes no template" "generate --ids takes no template"

# bad paths and bad items: exit 1, one line
expect_rc 1 "$H" tokenize --tokenizer "$TMP/none.json" --text x
one_line "$ERR" "missing tokenizer"
contains "$ERR" "none.json: no such file or directory" "names the missing tokenizer"
expect_rc 1 "$H" score --model "$TMP/nowhere" --question q --answer a
one_line "$ERR" "missing model"
contains "$ERR" "nowhere: no such file or directory" "names the missing model"
expect_rc 1 "$H" tokenize --tokenizer "$TINY" --input "$TMP/none.jsonl"
one_line "$ERR" "missing input"
contains "$ERR" "none.jsonl: cannot read" "names the missing input"
expect_rc 1 "$H" score --model "$S/stories260K.bin" --ids 1,2,3 --loss-from 3
contains "$ERR" "loss_from: 3: expected 1 to 2" "loss_from past the end"
one_line "$ERR" "loss_from past the end"
expect_rc 1 "$H" score --model "$S/stories260K.bin" --ids 1,2,600 --loss-from 1
contains "$ERR" "600 is not below the model's vocab_size 512" "an id outside the model"
expect_rc 1 "$H" generate --model "$S/stories260K.bin" --ids 1,999 -n 2
contains "$ERR" "999 is not below the model's vocab_size 512" "generate: an id outside the model"
expect_rc 1 "$H" score --model "$S/stories260K.bin" --question q --answer a
contains "$ERR" "name its tokenizer with --tokenizer" "a .bin needs a tokenizer for text"

# JSON Lines: bad lines named, the rest processed, exit 1; stdin with -
printf '%s\n' '{"text":"Lily"}' '{"question":"a"}' 'not json' '' '{"text":"went"}' \
  '{"question":"q","answer":7}' '{"ids":[1,2],"loss_from":1}' > "$TMP/in.jsonl"
expect_rc 1 "$H" tokenize --tokenizer "$S/tok512.bin" --input "$TMP/in.jsonl"
[ "$(printf '%s\n' "$OUT" | grep -c '"line":')" -eq 2 ] && ok || bad "two good lines out: $OUT"
contains "$OUT" '{"line":1,' "line 1 is processed"
contains "$OUT" '{"line":5,' "line 5 after the bad ones is processed"
contains "$ERR" "baldro-host: $TMP/in.jsonl:2: answer: missing" "missing field"
contains "$ERR" "baldro-host: $TMP/in.jsonl:3: line: invalid JSON" "bad JSON"
contains "$ERR" "baldro-host: $TMP/in.jsonl:6: answer: expected a string, got a number" "wrong type"
contains "$ERR" "baldro-host: $TMP/in.jsonl:7: ids: not taken here" "ids are not tokenize's"
[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 4 ] && ok || bad "one line per bad line: $ERR"
expect_rc 0 "$H" tokenize --tokenizer "$S/tok512.bin" --input - < <(printf '%s\n' '{"text":"a"}' '{"question":"b","answer":"c"}')
contains "$OUT" '{"line":2,"template":"none","text":"bc"' "stdin, question/answer without a template"
printf '%s\n' '{"ids":[1,317,263],"loss_from":1}' '{"ids":[1,2],"loss_from":5}' > "$TMP/s.jsonl"
expect_rc 1 "$H" score --model "$S/stories260K.bin" --input "$TMP/s.jsonl"
contains "$OUT" '{"line":1,"ids":[1,317,263],"target_ids":[317,263],' "score --input"
contains "$ERR" "s.jsonl:2: loss_from: 5" "score names the bad line"
printf '%s\n' '{"ids":[1,2],"loss_from":9}' > "$TMP/allbad.jsonl"
expect_rc 1 "$H" score --model "$S/stories260K.bin" --input "$TMP/allbad.jsonl"
one_line "$ERR" "every line bad: one error, no model loaded"
finish
