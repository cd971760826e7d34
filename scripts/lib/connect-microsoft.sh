# The browser's part of the Microsoft connect flow against the sandbox, with curl (sourced by
# scripts/demo.sh and Benchmarks/pipeline/run.sh). Redirects are followed by hand, as a browser would,
# carrying the `__Host-` connect cookie our host sets (issue #14).
#   connect_microsoft START_URL [LOGIN_HINT] — prints the final page; leaves the steps in
#   CONNECT_AUTHORIZE (Microsoft's URL), CONNECT_CONFIRMATION (the confirmation page) for the caller.
connect_microsoft() {
  local start=$1 hint=${2:-} headers cookie callback token
  headers=$(curl -s -D - -o /dev/null "$start" | tr -d '\r')
  cookie=$(grep -i '^set-cookie:' <<<"$headers" | head -1 | sed -E 's/^[^:]*: *([^;]*).*/\1/')
  CONNECT_AUTHORIZE=$(grep -i '^location:' <<<"$headers" | head -1 | sed -E 's/^[^:]*: *//')
  [ -n "$cookie" ] && [ -n "$CONNECT_AUTHORIZE" ] || { echo "the start URL set no cookie or sent nowhere" >&2; return 1; }
  [ -n "$hint" ] && CONNECT_AUTHORIZE="$CONNECT_AUTHORIZE&login_hint=$hint"
  callback=$(curl -s -D - -o /dev/null "$CONNECT_AUTHORIZE" | tr -d '\r' | grep -i '^location:' | head -1 | sed -E 's/^[^:]*: *//')
  [ -n "$callback" ] || { echo "the sign-in did not come back to the callback" >&2; return 1; }
  CONNECT_CONFIRMATION=$(curl -s -H "Cookie: $cookie" "$callback")
  token=$(grep -o 'name="token" value="[^"]*"' <<<"$CONNECT_CONFIRMATION" | sed -E 's/.*value="([^"]*)"/\1/')
  [ -n "$token" ] || { echo "no confirmation page: $(sed -e 's/<[^>]*>//g' <<<"$CONNECT_CONFIRMATION" | tr -s ' \n' ' ' | cut -c1-200)" >&2; return 1; }
  curl -s -H "Cookie: $cookie" --data-urlencode "token=$token" --data "decision=connect" "${callback%%/oauth/*}/oauth/microsoft/confirm"
}
