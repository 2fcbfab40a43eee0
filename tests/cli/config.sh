# `dltrain config validate|show` and --help documentation.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
for cfg in mnist_cnn mnist_mlp fashion_cnn tiny; do
  expect 0 "OK" "$DLTRAIN" config validate --config "$DLTRAIN_SOURCE_DIR/configs/$cfg.json"
done
expect 0 '"epochs": 9' "$DLTRAIN" config show --config "$DLTRAIN_SOURCE_DIR/configs/tiny.json" --set train.epochs=9
expect 0 '"rho": 0.9' "$DLTRAIN" config show --config "$DLTRAIN_SOURCE_DIR/configs/mnist_cnn.json"
cat >multi.json <<'JSON'
{"train": {"epochs": -1, "optimzer": {}, "batch_size": "64"}, "model": {"type": "mlp", "hidden": [0]}}
JSON
expect 3 "/train/epochs: must be > 0" "$DLTRAIN" config validate --config multi.json
expect 3 "did you mean 'optimizer'" "$DLTRAIN" config validate --config multi.json
expect 3 "/train/batch_size: expected an integer" "$DLTRAIN" config validate --config multi.json
# `config show` fails on the same file, so the hint must not send the user there.
expect 3 "" "$DLTRAIN" config show --config multi.json
check "a config error's hint does not point at config show" \
  bash -c '! "$DLTRAIN" config validate --config multi.json 2>&1 | grep -q "config show"'
# The exit-code table, whatever line width CLI11 wraps the footer to (2.6 rewraps it).
check "--help lists exit code 130" bash -c '"$DLTRAIN" --help | tr -s " \n" "  " | grep -q "130 interrupted"'
# Only there: each command's help points at it instead.
for cmd in train eval config "config validate" "config show" data "data fetch" "data verify" doctor bench; do
  check "$cmd --help: no exit-code table, a pointer to dltrain --help" bash -c '
    help=$("$DLTRAIN" $0 --help | tr -s " \n" "  ") && ! grep -q "130 interrupted" <<<"$help" &&
    grep -q "Exit codes: see .dltrain --help." <<<"$help"' "$cmd"
done
expect 0 "--set" "$DLTRAIN" train --help
expect 0 "^dltrain [0-9]" "$DLTRAIN" --version
finish
