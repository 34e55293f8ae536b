#!/usr/bin/env bash
# The README's first command and its five-minute tour work as written, in a
# fresh copy of the source tree: the first command leaves the source tree
# untouched (its log goes under build/), and each tour command exits with the
# code its comment states ("exit N", else 0) and prints the counts it states
# ("14 present", "34 delivered", "0 problems", ...).  Commands and
# expectations are read from README.md, so this test breaks when the README
# and the program disagree.  Paths under /tmp/ are moved into this test's
# own temporary folder.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
if [ -n "${DOSSIER_SANITIZE:-}" ]; then
  echo "skip: the README builds its own Release tree; run in the plain build only"
  exit 77
fi
readme="$SRC/README.md"

# ---- a fresh copy: what a clone of this tree would hold ---------------------
clone="$WORK/clone"
mkdir -p "$clone"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard \
     | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' | tar --null -T - -cf -) \
    | tar -C "$clone" -xf -
else
  (cd "$SRC" && tar --exclude=./build -cf - .) | tar -C "$clone" -xf -
fi
[ -f "$clone/scripts/setup.sh" ] || fail "copy of the source tree is incomplete"

# ---- the first command -------------------------------------------------------
first=$(grep -m1 -E '^bash scripts/setup.sh && ' "$readme") || fail "README: no first command"
(cd "$clone" && find . -path ./build -prune -o -print | sort) > "$WORK/before"
(cd "$clone" && bash -c "$first") > "$WORK/first.out" 2>&1 \
  || { tail -n 30 "$WORK/first.out"; fail "README's first command failed: $first"; }
(cd "$clone" && find . -path ./build -prune -o -print | sort) > "$WORK/after"
diff "$WORK/before" "$WORK/after" > "$WORK/new_files" \
  || fail "the first command wrote into the source tree: $(cat "$WORK/new_files")"
grep -q 'complete' "$WORK/first.out" || fail "first command: no status shown"

# says "N word" FILE: FILE prints "N word", or is a table with a WORD column
# holding N in some row.
says() {
  local n=${1%% *} word=${1#* }
  grep -q -- "$1" "$2" && return 0
  awk -v n="$n" -v col="$(tr a-z A-Z <<<"$word")" '
    !c { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    $c == n { found = 1 }
    END { exit !found }' "$2"
}

# ---- the tour, as a script that checks each command -----------------------------
T="$WORK/tmp"
mkdir -p "$T"
"$PY" - "$readme" "$T" > "$WORK/tour.sh" <<'PYEOF'
import re, shlex, sys
text = open(sys.argv[1]).read()
tmp = sys.argv[2]
start = text.index("## A five-minute tour")
block = text[text.index("```sh\n", start) + 6:]
block = block[:block.index("```")]
# join continuation lines
lines, cur = [], ""
for raw in block.splitlines():
    if raw.endswith("\\"):
        cur += raw[:-1] + " "
        continue
    lines.append(cur + raw)
    cur = ""
print("set +eu +o pipefail")
print("step=0")
for line in lines:
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    m = re.search(r"\s{2,}#\s(.*)$", line)
    cmd = line[:m.start()] if m else line
    note = m.group(1) if m else ""
    cmd = cmd.strip().replace("/tmp/", tmp + "/")
    want = re.search(r"\bexit (\d+)", note)
    want = int(want.group(1)) if want else 0
    counts = re.findall(r"\b(\d+ (?:present|delivered|pending|dead|differences|problems))\b", note)
    if cmd.endswith("&"):
        print("%s > %s/bg.out 2>&1 & CLEANUP_PIDS+=($!)" % (cmd[:-1].strip(), tmp))
        continue
    print("step=$((step+1)); { %s ; } > %s/out 2>&1; rc=$?" % (cmd, tmp))
    print("[ $rc -eq %d ] || { cat %s/out; fail \"tour step $step: exit $rc, README says %d: \"%s; }"
          % (want, tmp, want, shlex.quote(cmd)))
    for c in counts:
        print("says %s %s/out || { cat %s/out; fail \"tour step $step: README says '%s': \"%s; }"
              % (shlex.quote(c), tmp, tmp, c, shlex.quote(cmd)))
PYEOF
grep -q 'deliveries' "$WORK/tour.sh" || fail "tour not found in README"
cd "$clone"
# shellcheck disable=SC1090
source "$WORK/tour.sh"
echo "ok: first command and $step tour commands as the README says"
