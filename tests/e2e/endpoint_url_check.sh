#!/usr/bin/env bash
# endpoint_url_check: `endpoint add` and `deliver --url` check the URL with
# libcurl's own parser (curl_url_set): no host, a space in the host, a bad
# IPv6 literal or port are refused (exit 2, the reason, the URL redacted)
# and nothing is saved -- the previous code only checked the http(s)://
# prefix and saved them.
source "$DOSSIER_SRC/tests/support/e2e_lib.sh"

m=$(sample_copy)
log="$WORK/log"
"$BIN" scan "$m" --mission-type software-dev --log "$log" -q > /dev/null || [ $? -eq 1 ] || fail "scan"
for u in "http://" "http://exa mple.com/" "http://[::1/" "https://h.test:99999/" \
         "http://alice:S3cretPW@/x"; do
  rc=0
  "$BIN" endpoint add bad --url "$u" --log "$log" > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$WORK/err"; fail "endpoint add '$u': exit $rc, expected 2"; }
  grep -q "not a valid URL" "$WORK/err" || { cat "$WORK/err"; fail "'$u': no reason given"; }
  ! grep -q S3cretPW "$WORK/err" || fail "'$u': the password is printed"
  rc=0
  "$BIN" deliver --url "$u" --log "$log" -q > "$WORK/out" 2> "$WORK/err" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$WORK/err"; fail "deliver --url '$u': exit $rc, expected 2"; }
done
[ -z "$("$BIN" endpoint list --log "$log" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin) or "")')" ] \
  || { "$BIN" endpoint list --log "$log"; fail "an endpoint with a bad URL was saved"; }
"$BIN" endpoint add good --url "http://ok.test:8080/x?y=1" --log "$log" > /dev/null || fail "a good URL refused"
echo "endpoint_url_check: 5 malformed URLs refused by endpoint add and deliver --url, nothing saved"
