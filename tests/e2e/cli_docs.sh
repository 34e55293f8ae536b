#!/usr/bin/env bash
# The man page is generated from the binary's --help texts and must be up to
# date; bash completion offers exactly the commands and options --help lists;
# every command answers --help with exit 0 and a Usage line.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

"$PY" "$SRC/scripts/gen_man.py" "$BIN" > "$WORK/dossier.1" || fail "gen_man.py failed"
if ! diff -u "$SRC/man/dossier.1" "$WORK/dossier.1" > "$WORK/man.diff"; then
  head -n 40 "$WORK/man.diff"
  fail "man/dossier.1 is stale: run /usr/bin/python3 scripts/gen_man.py build/dossier > man/dossier.1"
fi

commands=$("$BIN" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}')
[ -n "$commands" ] || fail "no commands in dossier --help"
for c in $commands; do
  out=$("$BIN" "$c" --help) || fail "dossier $c --help exited non-zero"
  grep -q "^Usage: dossier $c" <<<"$out" || fail "dossier $c --help has no Usage line"
  grep -q "^   dossier $c\$\|dossier $c\"" "$SRC/man/dossier.1" || fail "man page lacks $c"
  "$BIN" help "$c" | cmp -s - <(echo "$out") || fail "'dossier help $c' differs from --help"
done

echo "cli_docs: ok ($(wc -w <<<"$commands") commands)"
