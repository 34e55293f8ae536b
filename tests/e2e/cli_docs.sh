#!/usr/bin/env bash
# The man page template (man/dossier.1.in) is generated from the binary's
# --help texts and must be up to date; every command answers --help with
# exit 0 and a Usage line, and `dossier help CMD` prints the same.  The
# configured page (build/man/dossier.1) shows the global options in its
# synopsis, names installed files by the configured prefix, and every file
# it points to is installed (issue 20 item 15).  Completion: cli_complete.sh.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

"$PY" "$SRC/scripts/gen_man.py" "$BIN" > "$WORK/dossier.1.in" || fail "gen_man.py failed"
if ! diff -u "$SRC/man/dossier.1.in" "$WORK/dossier.1.in" > "$WORK/man.diff"; then
  head -n 40 "$WORK/man.diff"
  fail "man/dossier.1.in is stale: run /usr/bin/python3 scripts/gen_man.py build/rel/dossier > man/dossier.1.in"
fi

commands=$("$BIN" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}')
[ -n "$commands" ] || fail "no commands in dossier --help"
for c in $commands; do
  out=$("$BIN" "$c" --help) || fail "dossier $c --help exited non-zero"
  grep -q "^Usage: dossier $c" <<<"$out" || fail "dossier $c --help has no Usage line"
  grep -q "^   dossier $c\$\|dossier $c\"" "$SRC/man/dossier.1.in" || fail "man page lacks $c"
  "$BIN" help "$c" | cmp -s - <(echo "$out") || fail "'dossier help $c' differs from --help"
  # each exit code is explained once per command
  dup=$(sed -n '/^Exit status:/,/^$/p' <<<"$out" | grep -oE '^  [0-9]+ ' | sort | uniq -d)
  [ -z "$dup" ] || fail "dossier $c --help lists exit code $dup more than once"
done

# the configured page
build=${DOSSIER_BUILD:?}
page="$build/man/dossier.1"
[ -f "$page" ] || fail "no configured man page $page"
! grep -n '@[A-Z_]*@' "$page" || fail "placeholders left in $page"
syn=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$page")
for o in '\-q' '\-v' '\-\-log' '\-\-color'; do
  grep -qF -- "$o" <<<"$syn" || fail "the synopsis does not show $o"
done
! grep -n 'source tree\|[^/@]docs/' "$page" || fail "the man page points into the source tree"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$build/CMakeCache.txt")
[ -n "$prefix" ] || fail "no CMAKE_INSTALL_PREFIX in $build/CMakeCache.txt"
paths=$(grep -oE "$prefix/[^ ]+" "$page" | sed 's/\\-/-/g; s/[),.;]*$//; s/\*.*$//' | sort -u)
grep -q "$prefix/share/dossier/schemas" <<<"$paths" || fail "FILES does not use the configured prefix $prefix"
# installed under another root, each path the page names must exist there
cmake --install "$build" --prefix "$WORK/root" > "$WORK/install.log" || { cat "$WORK/install.log"; fail "install"; }
while read -r p; do
  [ -e "$WORK/root${p#"$prefix"}" ] || fail "the man page names $p, which is not installed"
done <<<"$paths"
echo "cli_docs: ok ($(wc -w <<<"$commands") commands, $(wc -l <<<"$paths") installed paths)"
