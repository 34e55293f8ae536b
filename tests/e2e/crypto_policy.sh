#!/usr/bin/env bash
# crypto_policy: the binary starts OpenSSL without reading the system's
# openssl.cnf (cli/crypto_policy.c), and that changes no digest; a
# configuration named by OPENSSL_CONF is still read, and when it leaves
# OpenSSL without SHA-256 (only the null provider active) index and scan
# stop with exit 3 and say so, before writing anything.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"
unset OPENSSL_CONF
m=$(sample_copy)

# every present file's digest is sha256sum's
"$BIN" index "$m" --mission-type software-dev > "$WORK/index.ndjson" 2> "$WORK/err" \
  || { cat "$WORK/err"; fail "index"; }
"$PY" - "$m" "$WORK/index.ndjson" <<'PYEOF' || fail "a digest differs from sha256sum's"
import hashlib, json, os, sys
root, out = sys.argv[1:]
n = 0
for line in open(out):
    a = json.loads(line)
    if not a["present"]:
        continue
    want = hashlib.sha256(open(os.path.join(root, a["relative_path"]), "rb").read()).hexdigest()
    if a["content_hash_sha256"] != want:
        sys.exit("FAIL: %s: %s, expected %s" % (a["relative_path"], a["content_hash_sha256"], want))
    n += 1
if n == 0:
    sys.exit("FAIL: no present artifact")
PYEOF

# a configuration the user names is read: the null provider alone has no SHA-256
cat > "$WORK/null.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
null = null_sect
[null_sect]
activate = 1
EOF
for cmd in index scan; do
  args=("$m" --mission-type software-dev)
  [ "$cmd" = scan ] && args+=(--log "$WORK/log")
  rc=0
  OPENSSL_CONF="$WORK/null.cnf" "$BIN" "$cmd" "${args[@]}" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 3 ] || { cat "$WORK/err"; fail "$cmd with only the null provider: exit $rc, expected 3"; }
  grep -q "SHA256" "$WORK/err" || { cat "$WORK/err"; fail "$cmd: the message does not name SHA256"; }
  [ ! -s "$WORK/out" ] || fail "$cmd printed results without SHA-256"
done
[ ! -e "$WORK/log" ] || [ "$("$BIN" events --log "$WORK/log" | wc -l)" -eq 0 ] \
  || fail "scan without SHA-256 recorded events"
echo "crypto_policy: digests unchanged; OPENSSL_CONF honoured, a missing SHA-256 named"
