#!/usr/bin/env bash
# Exclusion rules (issue 20 item 7): a .dossierignore in the mission (and in
# folders below it) and repeatable --exclude keep files out of `index` and
# `scan`: not read, not hashed, not recorded; an excluded folder is not
# entered (a FIFO inside it draws no "FIFO skipped" warning); '!' includes
# again; --exclude decides before the files; a required artifact that is
# excluded is reported "excluded" (index NDJSON, scan text), not not_found,
# and the log records it as not_found with the rule named; a bad ignore file
# is a usage error naming FILE:LINE, with nothing recorded.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

M=$(sample_copy mission)
mkdir -p "$M/build/deep" "$M/notes/scratch" "$M/logs"
echo obj > "$M/build/a.o"
mkfifo "$M/build/deep/pipe"            # would warn if the walk entered build/
echo keep > "$M/logs/keep.log"
echo drop > "$M/logs/drop.log"
echo n > "$M/notes/plan-notes.md"
echo s > "$M/notes/scratch/tmp.md"
echo local > "$M/notes/local.md"
cat > "$M/.dossierignore" <<'IGN'
# build output is not an artifact
build/
*.log
!keep.log
/notes/scratch
IGN
printf 'local.md\n' > "$M/notes/.dossierignore"

timeout 60 "$BIN" index "$M" > "$WORK/out" 2> "$WORK/err" || fail "index: $(cat "$WORK/err")"
paths=$(sed 's/.*"relative_path":"\([^"]*\)".*/\1/' "$WORK/out" | tr '\n' ' ')
for p in build/a.o logs/drop.log notes/scratch/tmp.md notes/local.md; do
  case " $paths " in *" $p "*) fail "excluded $p indexed: $paths" ;; esac
done
for p in logs/keep.log notes/plan-notes.md spec.md; do
  case " $paths " in *" $p "*) ;; *) fail "$p not indexed: $paths" ;; esac
done
! grep -q "FIFO" "$WORK/err" || fail "the walk entered the excluded build/: $(cat "$WORK/err")"
grep -q "; 5 excluded;" "$WORK/err" || fail "summary does not count 5 excluded (evidence/run-1/out.log too): $(cat "$WORK/err")"

# --exclude: repeatable, decides before the files (re-excludes keep.log)
"$BIN" index "$M" --exclude 'keep.log' --exclude '/tasks/' -q > "$WORK/out2" || fail "index --exclude"
! grep -q -e '"logs/keep.log"' -e '"tasks/' "$WORK/out2" || fail "--exclude ignored: $(cat "$WORK/out2")"
# and a '!' option includes again what a file excludes
"$BIN" index "$M" --exclude '!drop.log' -q > "$WORK/out3" || fail "index --exclude !"
grep -q '"logs/drop.log"' "$WORK/out3" || fail "--exclude '!drop.log' did not include it again"

# a required artifact that is excluded: "excluded", not not_found
expect_exit 1 "$BIN" index "$M" --mission-type software-dev --exclude spec.md -q > "$WORK/out4"
grep -q '"relative_path":"spec.md".*"present":false,"reason_code":"excluded","reason_detail":"spec.md excluded by --exclude .spec.md."' "$WORK/out4" \
  || fail "excluded required artifact not reported excluded: $(grep spec "$WORK/out4")"
# a required pattern under an excluded folder, excluded by the file
expect_exit 1 "$BIN" index "$M" --mission-type software-dev --step implement --exclude '/tasks' -q > "$WORK/out5"
grep -q '"reason_code":"excluded","reason_detail":"tasks/ excluded by --exclude ./tasks.' "$WORK/out5" \
  || fail "required tasks/ entry not reported excluded: $(grep -i tasks "$WORK/out5")"

# scan: the same rules; the text names the state, the log keeps the contract
expect_exit 1 "$BIN" scan "$M" --mission-type software-dev --exclude spec.md > "$WORK/scan" 2>&1
grep -q "missing *input.spec.main (spec.md: excluded)" "$WORK/scan" || fail "scan text: $(cat "$WORK/scan")"
grep -q "excluded *6 entries" "$WORK/scan" || fail "scan does not count the excluded: $(cat "$WORK/scan")"
"$BIN" events --log "$M/.dossier" > "$WORK/events"
grep -q '"reason_code":"not_found","reason_detail":"spec.md excluded by --exclude' "$WORK/events" \
  || fail "missing event does not name the rule: $(grep artifact_missing "$WORK/events" | head -2)"
! grep -q -e 'build/a.o' -e 'drop.log' -e 'scratch' "$WORK/events" || fail "excluded files recorded"
"$BIN" scan "$M" --exclude spec.md --json -q > "$WORK/scan.json" || true
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["excluded"]==6, d' "$WORK/scan.json" \
  || fail "scan --json excluded count: $(cat "$WORK/scan.json")"

# a bad ignore file: usage error naming FILE:LINE, nothing scanned
printf 'ok\n!\n' > "$M/notes/.dossierignore"
expect_exit 2 "$BIN" index "$M" > /dev/null 2> "$WORK/bad"
grep -q "notes/.dossierignore:2: empty pattern" "$WORK/bad" || fail "bad file not named: $(cat "$WORK/bad")"
rm "$M/notes/.dossierignore"
ln -s ../spec.md "$M/notes/.dossierignore"
expect_exit 2 "$BIN" index "$M" > /dev/null 2> "$WORK/bad2"
grep -q "notes/.dossierignore: cannot open ignore file (a symlink: not followed)" "$WORK/bad2" \
  || fail "symlinked ignore file: $(cat "$WORK/bad2")"
rm "$M/notes/.dossierignore"
expect_exit 2 "$BIN" index "$M" --exclude '' > /dev/null 2> "$WORK/bad3"
grep -q -- "--exclude: the pattern may not be empty" "$WORK/bad3" || fail "empty --exclude: $(cat "$WORK/bad3")"
echo "scan ignore ok"
