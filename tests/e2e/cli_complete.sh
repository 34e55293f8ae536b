#!/usr/bin/env bash
# Shell completion (issue 20 item 10): bash and zsh ask the binary on the
# command line (`dossier __complete`), which answers from its command table
# and each command's getopt tables: commands, each command's own options
# (exactly those its --help documents, plus the global ones), values of
# --mission-type, --profile, --type, --projection, --color, endpoint and
# feature names from the log, files and folders.  ./path/to/dossier
# completes as itself.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
cd "$WORK"
mkdir -p bin && ln -s "$BIN" bin/dossier
globals='--quiet --verbose --log --color --color= --help'

# every command parses its options with cli_getopt, so completion sees them
if grep -n 'getopt_long(' "$SRC"/cli/cmd_*.c; then
  fail "a command calls getopt_long itself: use cli_getopt (global options, completion)"
fi

# ---- bash --------------------------------------------------------------------
# the completion function runs in this shell (a subshell per query, as bash
# runs it at a prompt: no set -eu)
bc() {   # bc WORD... : what bash offers for the last word, sorted, space-separated
  ( set +eu
    # shellcheck disable=SC1091
    source "$SRC/completion/dossier.bash"
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _dossier
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//' )
}
( source "$SRC/completion/dossier.bash"; complete -p dossier ) | grepq -- "-F _dossier dossier$" \
  || fail "bash: no 'complete -F _dossier dossier'"

commands=$("$BIN" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}')
want=$(printf '%s\n' $commands help | sort | tr '\n' ' ' | sed 's/ $//')
[ "$(bc ./bin/dossier '')" = "$want" ] || fail "bash: commands of ./bin/dossier: '$(bc ./bin/dossier '')'"
[ "$(bc ./bin/dossier st)" = "status" ] || fail "bash: 'st' gave '$(bc ./bin/dossier st)'"
[ "$(bc ./bin/dossier help dr)" = "drift" ] || fail "bash: 'help dr'"

for c in $commands; do
  doc=$("$BIN" "$c" --help | sed -n '/^Options/,/^$/p' |
        grep -oE '^  (-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*')
  want=$(printf '%s\n' $doc $globals | sort -u | tr '\n' ' ' | sed 's/ $//')
  got=$(bc ./bin/dossier "$c" --)
  [ "$got" = "$want" ] || fail "bash: options of $c: got '$got', --help documents '$want'"
done
[ -z "$(bc ./bin/dossier scan --a)" ] || fail "bash: scan --a offers '$(bc ./bin/dossier scan --a)' (scan has no such option)"
[ "$(bc ./bin/dossier scan m --mi)" = "--mission-type" ] || fail "bash: scan --mi"

got=$(bc ./bin/dossier deliver --type mission_dossier_p)
[ "$got" = "mission_dossier_parity_drift_detected" ] || fail "bash: --type gave '$got'"
[ "$(bc ./bin/dossier deliver --type '' | wc -w)" -ge 7 ] || fail "bash: --type lists fewer than 7 event types"
[ "$(bc ./bin/dossier scan m --mission-type '')" = "research software-dev" ] || fail "bash: --mission-type values"
[ "$(bc ./bin/dossier replay --projection '')" = "all drift snapshot" ] || fail "bash: --projection values"
[ "$(bc ./bin/dossier status --color = '')" = "always auto never" ] || fail "bash: --color= values (bash splits at =)"
[ "$(bc ./bin/dossier status --color = al)" = "always" ] || fail "bash: --color=al"
if grep -q -- '--profile' <("$BIN" scan --help); then
  [ "$(bc ./bin/dossier scan m --profile '')" = "spec-kitty-3 wp04" ] || fail "bash: --profile values"
  # the built-in mission types of the profile given: documentation is spec-kitty-3's
  [ "$(bc ./bin/dossier scan m --profile spec-kitty-3 --mission-type '')" = "documentation research software-dev" ] \
    || fail "bash: --mission-type values under --profile spec-kitty-3"
fi

# names from the log: features and endpoints, wherever the log is named
m=$(sample_copy m)
expect_exit 0 "$BIN" -q scan "$m" --mission-type software-dev
expect_exit 0 "$BIN" endpoint add ci --url http://127.0.0.1:9/hook --log "$m/.dossier"
expect_exit 0 "$BIN" endpoint add cd --url http://127.0.0.1:9/hook --log "$m/.dossier"
[ "$(bc ./bin/dossier deliver --log "$m/.dossier" --endpoint '')" = "cd ci" ] || fail "bash: --endpoint names"
[ "$(bc ./bin/dossier endpoint remove --log "$m/.dossier" c)" = "cd ci" ] || fail "bash: endpoint remove NAME"
[ "$(bc ./bin/dossier --log "$m/.dossier" endpoint enable ci)" = "ci" ] || fail "bash: endpoint enable (global --log)"
[ "$(bc ./bin/dossier endpoint '')" = "add enable list remove" ] || fail "bash: endpoint subcommands"
[ "$(bc ./bin/dossier status "$m" --feature '')" = "m" ] || fail "bash: --feature from MISSION_DIR's log"
[ "$(cd "$m" && bc ../bin/dossier drift --feature '')" = "m" ] || fail "bash: --feature from the log found here"

# files and folders
mkdir -p dir.d && touch file.ndjson
[ "$(bc ./bin/dossier status di)" = "dir.d" ] || fail "bash: MISSION_DIR completes folders"
[ "$(bc ./bin/dossier import fi)" = "file.ndjson" ] || fail "bash: import FILE completes files"
[ "$(bc ./bin/dossier scan m --log di)" = "dir.d" ] || fail "bash: --log completes folders"
[ "$(bc ./bin/dossier status --log = di)" = "dir.d" ] || fail "bash: --log=DIR completes folders"

# ---- zsh ---------------------------------------------------------------------
if command -v zsh >/dev/null; then
  # compinit registers _dossier for dossier from the #compdef line
  got=$(zsh -fc "fpath=('$SRC/completion' \$fpath); autoload -Uz compinit; compinit -u -D; print -r -- \$_comps[dossier]")
  [ "$got" = "_dossier" ] || fail "zsh: compinit does not register _dossier ('$got')"
  # the function, with zsh's completion builtins replaced by functions that print their arguments
  cat > z.zsh <<EOS
_files() { print -r -- "files \$*" }
compset() { print -n "compset \$* " }
_describe() { print -r -- "describe \${(P)4}" }
compadd() { [[ \$1 == -S ]] && { print -n "glued "; shift 2 }; print -r -- "add \${(P)2}" }
source '$SRC/completion/_dossier' >/dev/null 2>&1
words=("\$@"); CURRENT=\$#words; _dossier
EOS
  zc() { zsh -f "$WORK/z.zsh" "$@"; }
  zc ./bin/dossier sta | grepq "^describe status:one-screen report" || fail "zsh: commands with summaries: $(zc ./bin/dossier sta)"
  [ "$(zc ./bin/dossier scan m --mission-type '')" = "add research software-dev" ] || fail "zsh: --mission-type"
  [ "$(zc ./bin/dossier status --color=a)" = "add --color=auto --color=always" ] || fail "zsh: --color=a: $(zc ./bin/dossier status --color=a)"
  [ "$(zc ./bin/dossier status '')" = "files -/" ] || fail "zsh: MISSION_DIR"
  [ "$(zc ./bin/dossier import '')" = "files " ] || fail "zsh: import FILE"
  [ "$(zc ./bin/dossier status --log=di)" = "compset -P *= files -/" ] || fail "zsh: --log=DIR: $(zc ./bin/dossier status --log=di)"
  [ "$(zc ./bin/dossier deliver --log "$m/.dossier" --endpoint '')" = "describe cd:http://127.0.0.1:9/hook ci:http://127.0.0.1:9/hook" ] || fail "zsh: endpoints"
  zc ./bin/dossier status --co | grepq "^glued add --color=$" || fail "zsh: --color= glued"
else
  echo "cli_complete: zsh not installed: zsh part skipped (scripts/setup.sh installs it)"
fi
echo "cli_complete: ok"
