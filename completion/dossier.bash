# bash completion for dossier(1).
# Commands and options are read from the binary's own --help output, so the
# completion always matches the installed version.

_dossier_commands() {
  dossier --help 2>/dev/null | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{if (seen) exit} on{seen=1}'
}

_dossier_options() {
  dossier "$1" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

_dossier() {
  local cur prev cmd
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$(_dossier_commands) --help --version" -- "$cur"))
    return
  fi
  cmd=${COMP_WORDS[1]}
  case "$prev" in
    --log|--manifest|--secret-file|--cacert|--creds|--file)
      COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
    --mission-type)
      COMPREPLY=($(compgen -W "software-dev research" -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_dossier_options "$cmd")" -- "$cur"))
  else
    COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null
  fi
}
complete -F _dossier dossier
