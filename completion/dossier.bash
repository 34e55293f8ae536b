# bash completion for dossier(1).
#
# The binary answers itself: `dossier __complete WORD...` (cli/cli_complete.c)
# lists what it accepts at the last word, from its command table and each
# command's own option tables, so completion never offers an option the
# command rejects.  The binary asked is the one on the command line, so
# ./build/dossier completes as itself (bash falls back from a path to the
# name "dossier" when it looks for this completion).

_dossier() {
  local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} glue=0 i w
  local -a words=()
  [[ $prog == "~"* ]] && prog=$HOME${prog:1}
  # bash splits --opt=value at '=' (COMP_WORDBREAKS): join such words again
  for ((i = 1; i <= COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ $w == "=" && ${#words[@]} -gt 0 && ${words[-1]} == --* && ${words[-1]} != *=* ]]; then
      words[-1]+="="
      glue=1
    elif ((glue)); then
      words[-1]+=$w
      glue=0
    else
      words+=("$w")
    fi
  done
  ((${#words[@]})) || words=("")
  [[ $cur == "=" ]] && cur=""
  # the word readline replaces is the part after '=' when bash split there
  local strip=0
  [[ ${words[-1]} == --*=* && $COMP_WORDBREAKS == *=* ]] && strip=1

  local out kind line
  out=$("$prog" __complete "${words[@]}" 2>/dev/null) || return 0
  kind=${out%%$'\n'*}
  COMPREPLY=()
  case $kind in
    files) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    dirs)  compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    words)
      while IFS= read -r line; do
        [[ -n $line ]] || continue
        line=${line%%$'\t'*}
        ((strip)) && line=${line#*=}
        COMPREPLY+=("$line")
      done < <(printf '%s\n' "$out" | tail -n +2)
      # --color= takes its value right after the '='
      [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
      ;;
  esac
  return 0
}
complete -F _dossier dossier
