#!/usr/bin/env bash
# Writes the small seed sets under fuzz/seeds/<target>/ (committed) from the repo's fixtures,
# its config and tokens minted by `doorman token mint` (doorman::mint).
#   fuzz/make_seeds.sh                      # uses target/release/doorman (cargo build --release)
#   DOORMAN=/path/to/doorman fuzz/make_seeds.sh
# Copy them into the working corpus (gitignored) with:
#   for t in token_parse token_verify claims path_normalize config_parse payload_differential; do
#     mkdir -p fuzz/corpus/$t && cp fuzz/seeds/$t/* fuzz/corpus/$t/; done
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
doorman="${DOORMAN:-$repo/target/release/doorman}"
fixtures="$repo/tests/vectors/clerk-sdk-fixtures"
seeds="$here/seeds"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"   # `doorman token` reads no config from here

rm -rf "$seeds"
mkdir -p "$seeds"/{token_parse,token_verify,claims,path_normalize,config_parse,payload_differential}

# --- token_parse: the Clerk SDK fixture JWTs, minted tokens, unsigned hostile headers --------
for f in "$fixtures"/*.jwt; do
  tr -d '\n' < "$f" > "$seeds/token_parse/fixture-$(basename "$f" .jwt)"
done
"$doorman" token keygen --out key.pem --kid ins_seed > /dev/null
mint() { "$doorman" token mint --key key.pem --kid ins_seed --claims "$2" | tr -d '\n' > "$seeds/token_parse/minted-$1"; }
mint v1 '{"iss":"https://clerk.marketplace.example","sub":"user_1","sid":"sess_1","azp":"https://marketplace.example","metadata":{"userType":"customer","roles":[{"name":"customer_admin","permissions":["view_project","edit_project"]}],"featureFlags":{"advanced_search":true},"onboarding":{"status":"completed"},"isActive":true}}'
mint v2 '{"iss":"https://clerk.marketplace.example","sub":"user_2","sid":"sess_2","v":2,"fea":"o:projects,u:billing,o:teams","o":{"id":"org_1","slg":"acme","rol":"admin","per":"manage,read","fpm":"3,0,2"},"sts":"active"}'
mint machine '{"sub":"mch_1","exp":1}'
b64() { printf '%s' "$1" | basenc --base64url | tr -d '=\n'; }
body=$(b64 '{"sub":"user_1","sid":"sess_1","exp":2000000000}')
for h in '{"alg":"none"}' '{"alg":"RS256","kid":"x","jku":"http://127.0.0.1/"}' \
         '{"alg":"RS256","typ":"at+jwt"}' '{"alg":"RS256","cat":"cl_B7d4PD222AAA"}' \
         '{"alg":"RS256","kid":1}' '{"alg":"RS256","alg":"HS256"}'; do
  n=$((${n:-0} + 1))
  printf '%s.%s.%s' "$(b64 "$h")" "$body" "$(b64 signature)" > "$seeds/token_parse/hostile-$n"
done

# --- token_verify: selector byte (option set) + payload ---------------------------------------
v=0
for p in \
  '{"iss":"https://clerk.fuzz.example","azp":"https://app.fuzz.example","sub":"user_1","sid":"sess_1","exp":1700000060,"iat":1699999990,"nbf":1699999990,"metadata":{"roles":["admin",{"name":"r","permissions":["p"]}],"permissions":["x"],"featureFlags":{"a":true,"b":1},"onboarding":{"status":"completed"},"isActive":false}}' \
  '{"iss":"https://clerk.fuzz.example","sub":"user_1","sid":"sess_1","exp":1700000000,"sts":"pending","v":2,"fea":"o:a,u:b","o":{"id":"org_1","rol":"admin","per":"manage,read","fpm":"3,1"}}' \
  '{"iss":"https://clerk.fuzz.example","sub":"user_1","sid":"sess_1","exp":9223372036854775807,"nbf":-9223372036854775808}' \
  '{"sub":"user_1","exp":1.5,"iss":"https://clerk.fuzz.example","sid":""}'; do
  printf "\\x0$v%s" "$p" > "$seeds/token_verify/payload-$v"; v=$((v + 1))
done

# --- claims: selector byte (version, status, pointer set) + payload, or fea\nper\nfpm --------
printf '\x00%s' "$(cat "$seeds/token_verify/payload-0" | tail -c +2)" > "$seeds/claims/v1-config"
printf '\x01%s' '{"v":2,"fea":"o:projects,u:billing,ou:teams","o":{"id":"org_1","slg":"acme","rol":"admin","per":"manage,read,:x, write","fpm":"3,7,340282366920938463463374607431768211457"}}' > "$seeds/claims/v2-org"
printf '\x04%s' '{"roles":[{"name":"a","permissions":["p","q"]},"b"],"permissions":"p","flags":{"x":true,"":true,"y":"true"},"onboarding":true,"active":null,"user_type":1}' > "$seeds/claims/top-level"
printf '\x08%s' '{"r":[["a"]],"p/q":{"~":["z"]},"o":[0,"done"],"org_role":"member","org_permissions":["org:a:b"]}' > "$seeds/claims/escaped"
printf '\x00%s' $'o:a,o:b,u:c\nmanage,read\n3,2' > "$seeds/claims/fpm-small"
printf '\x00%s' $'o:a\n'"$(seq -s, 1 70)"$'\n1180591620717411303423' > "$seeds/claims/fpm-wide"
printf '\x00%s' $'o:a, o:b ,o:c\nread\n-1, 1.5 ,x' > "$seeds/claims/fpm-hostile"

# --- path_normalize: paths from src/path/tests.rs ----------------------------------------------
i=0
for p in / /admin /admin/ /a/b/c/ /api/projects/42/edit /%E2%9C%93/ /a%20b /a:b@c "/a!\$&'()*+,=" \
         /%41dmin /a%2Fb /a%252e%252e /..%2F /admin%2e /admin%20 /admin%3bjsessionid=1 //admin \
         /%ED%A0%80 /a%7F /a%0d%0aSet-Cookie:x /.well-known/jwks.json; do
  printf '%s' "$p" > "$seeds/path_normalize/path-$i"; i=$((i + 1))
done

# --- config_parse: the repo's config and a minimal one -----------------------------------------
cp "$repo/config.toml" "$seeds/config_parse/config.toml"
cat > "$seeds/config_parse/minimal.toml" <<'TOML'
[clerk]
issuer = "${ISSUER}"
public_key_pem = "${KEY}"

[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"

[[routes]]
name = "admin"
path = "/admin/{id}/**"
methods = ["GET", "post"]
roles_any = ["admin"]

[[routes]]
name = "any"
path = "/*"
access = "public"
TOML

# --- payload_differential: a Clerk v2 payload and the hostile shapes the strict read refuses ---
pd="$seeds/payload_differential"
printf '%s' '{"iss":"https://clerk.example","sub":"user_1","sid":"sess_1","exp":4000000000,"iat":1,"nbf":1,"v":2,"fea":"o:projects,u:x,o:reports","o":{"id":"org_1","slg":"acme","rol":"admin","per":"read,manage","fpm":"3,1"},"metadata":{"userType":"freelancer","roles":[{"name":"member","permissions":["view_project"]}],"featureFlags":{"beta":true}}}' > "$pd/clerk_v2"
printf '%s' '{"sub":"a","s\u0075b":"b"}' > "$pd/escaped_dup"
printf '%s' '{"o":{"per":"a","fpm":"1","fpm":"3"}}' > "$pd/nested_dup_o"
printf '%s' '{"metadata":{"roles":["a"],"roles":["admin"]}}' > "$pd/nested_dup_metadata"
printf '%s' '{"exp":1e999,"iat":18446744073709551616,"nbf":1.0}' > "$pd/numbers"
printf '%s' '{"sub":"\ud800","k":"\ud83d\ude00"}' > "$pd/surrogates"
printf '%s' '{"sub":"a"} x' > "$pd/trailing"
printf '%s' '{"a/b":{"m~n":[1,{"k":true}]},"":{"":null}}' > "$pd/pointer_escapes"
{ printf '{"a":'; printf '[%.0s' $(seq 127); printf ']%.0s' $(seq 127); printf '}'; } > "$pd/deep"

find "$seeds" -type f | wc -l
