#!/usr/bin/env bash
# The library's files depend on each other only downward (docs/architecture.md):
# scripts/layering.py reads the object files of this build and fails on a
# module using one that is not below it, or on files calling each other in a
# circle.  The check itself is checked: a planted upward edge is reported.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
"$PY" "$SRC/scripts/layering.py" "${DOSSIER_BUILD:?}" || fail "layering violated (above)"

# a fake build whose common/ object uses a symbol only replay/ defines
mk() {  # dir module file symbol-defined symbol-used
  local d="$WORK/fake/CMakeFiles/dossier_$2.dir/$2"
  mkdir -p "$d"
  printf 'int %s(void){return 0;}\nint %s(void);\nint use_%s(void){return %s();}\n' \
    "$4" "$5" "$4" "$5" > "$WORK/$3.c"
  cc -c -o "$d/$3.c.o" "$WORK/$3.c"
}
mk fake common low lowfn highfn
mk fake replay high highfn lowfn
out=$("$PY" "$SRC/scripts/layering.py" "$WORK/fake" 2>&1) && fail "an upward edge passed: $out"
grep -q 'common/low.c (common) uses highfn from replay/high.c' <<<"$out" || fail "unexpected report: $out"
grep -q 'circle: common/low.c, replay/high.c' <<<"$out" || fail "circle not reported: $out"
echo "ok"
