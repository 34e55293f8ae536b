#!/usr/bin/env bash
# Global options (issue 20 item 9): -q, -v, --log, --color and --help are
# accepted by every command, before or after it and among its operands;
# `dossier help CMD` and `dossier --help CMD` print the command's help;
# --color=always|never|auto decides colour (auto: a terminal and no
# NO_COLOR) for the commands that colour (status, snapshot, drift, scan).
# Errors are one line, `dossier CMD: what: why` (item 11).
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
cd "$WORK"
m=$(sample_copy m)
expect_exit 0 "$BIN" -q scan "$m" --mission-type software-dev

commands=$("$BIN" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}')
[ -n "$commands" ] || fail "no commands in dossier --help"
# (`dossier help CMD` for every command: cli_docs.sh)
first=1
for c in $commands; do
  want=$("$BIN" "$c" --help) || fail "$c --help exited non-zero"
  forms=("$c -q --color=never -v --log $WORK/nolog --help")
  [ -z "$first" ] || forms+=("-q --help $c" "help $c")
  first=
  for form in "${forms[@]}"; do
    # shellcheck disable=SC2086
    got=$("$BIN" $form) || fail "'dossier $form' exited non-zero"
    [ "$got" = "$want" ] || fail "'dossier $form' is not the help of $c"
  done
done

# -q / -v / --color / --log after the command, after operands, before it
for args in "status -q $m" "status $m -q" "-q status $m" "status --color=never $m -v" \
            "drift -q $m" "drift $m --color=always" "snapshot $m -q" "log -q $m" \
            "diff $m -q" "events -q --log $m/.dossier --limit 1" "verify -q --log $m/.dossier" \
            "replay --log $m/.dossier -q" "deliveries --log $m/.dossier -q" \
            "endpoint list -q --log $m/.dossier" "baseline show $m -q" \
            "index $m -q --color=never" "scan $m -q --mission-type software-dev" \
            "--log $m/.dossier status" "status --log=$m/.dossier"; do
  code=0
  # shellcheck disable=SC2086
  "$BIN" $args >/dev/null 2>"$WORK/err" || code=$?
  # drift without a baseline or diff with one snapshot may fail, but not on an option
  if grep -q "option\|unexpected argument" "$WORK/err"; then
    cat "$WORK/err"; fail "'dossier $args' refused an option (exit $code)"
  fi
done
# the global --log is used by a command that has its own --log too
out=$(cd / && "$BIN" --log "$m/.dossier" status --json) || fail "global --log before status"
grep -q "\"log\":\"$m/.dossier\"" <<<"$out" || fail "global --log not used by status: $out"
# -q silences warnings of commands without a -q of their own: the
# stale-view note of a read-only report is one
"$BIN" status -q "$m" 2>"$WORK/err" >/dev/null
[ ! -s "$WORK/err" ] || fail "status -q printed on stderr: $(cat "$WORK/err")"

# colour: always and never regardless of the output; auto only on a TTY
esc=$'\033['
out=$("$BIN" status "$m" --color=always)
[[ $out == *"$esc"* ]] || fail "status --color=always has no colour in a pipe"
out=$(NO_COLOR=1 "$BIN" --color=always snapshot "$m")
[[ $out == *"$esc"* ]] || fail "--color=always must win over NO_COLOR (snapshot)"
out=$("$BIN" snapshot "$m" --color)
[[ $out == *"$esc"* ]] || fail "bare --color is always (snapshot)"
for c in status snapshot; do
  out=$("$BIN" $c "$m")
  [[ $out != *"$esc"* ]] || fail "$c coloured a pipe by default"
  out=$("$BIN" $c "$m" --color=never)
  [[ $out != *"$esc"* ]] || fail "$c --color=never coloured"
done
out=$("$BIN" scan "$m" --mission-type software-dev --color=always)
[[ $out == *"${esc}32mcomplete"* ]] || fail "scan --color=always: completeness not coloured"
# auto on a terminal: coloured, unless NO_COLOR
if command -v script >/dev/null; then
  script -qec "'$BIN' snapshot '$m'" /dev/null > "$WORK/tty" </dev/null
  grep -qF "$esc" "$WORK/tty" || fail "snapshot on a terminal is not coloured (auto)"
  NO_COLOR=1 script -qec "'$BIN' snapshot '$m'" /dev/null > "$WORK/tty" </dev/null
  ! grep -qF "$esc" "$WORK/tty" || fail "snapshot on a terminal coloured despite NO_COLOR"
fi

# errors: one line, naming the command, the option and what is wrong
check_err() {   # check_err CODE "expected stderr" args...
  local want=$1 msg=$2; shift 2
  local code=0
  "$BIN" "$@" >/dev/null 2>"$WORK/err" || code=$?
  [ "$code" -eq "$want" ] || fail "dossier $*: exit $code, expected $want"
  [ "$(wc -l < "$WORK/err")" -eq 1 ] || { cat "$WORK/err"; fail "dossier $*: not one line"; }
  [ "$(cat "$WORK/err")" = "$msg" ] || fail "dossier $*: '$(cat "$WORK/err")', expected '$msg'"
}
check_err 2 "dossier scan: --log: needs a value (see 'dossier scan --help')" scan "$m" --log
check_err 2 "dossier status: --log: needs a value (see 'dossier status --help')" status --log
check_err 2 "dossier log: -n: needs a value (see 'dossier log --help')" log "$m" -n
check_err 2 "dossier status: --bogus: unknown option (see 'dossier status --help')" status --bogus
check_err 2 "dossier status: -x: unknown option (see 'dossier status --help')" status -x
check_err 2 "dossier validate: --json: takes no value (see 'dossier validate --help')" validate --json=1 x
check_err 2 "dossier drift: --color: 'blue' is not auto, always or never" drift --color=blue
check_err 2 "dossier index: --m: ambiguous option (--manifest, --mission-type, --max-file-size) (see 'dossier index --help')" index "$m" --m x
check_err 3 "dossier scan: /nonexistent: cannot resolve mission folder: No such file or directory" scan /nonexistent
check_err 3 "dossier events: $WORK/none: no event log here (create one with 'dossier scan MISSION_DIR', or name one with --log DIR)" events --log "$WORK/none"
check_err 2 "dossier: frob: unknown command (see 'dossier --help')" help frob
echo "cli_global_opts: ok"
