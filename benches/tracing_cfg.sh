# cfg PORT ADMIN EXTRA
cfg() { cat <<CFG
[server]
listen = "127.0.0.1:$1"
admin_listen = "127.0.0.1:$2"
workers = 1
[clerk]
issuer = "https://clerk.test.example"
jwks_file = "$WORK/jwks.json"
authorized_parties = ["https://app.test.example"]
[logging]
format = "json"
[[upstreams]]
name = "app"
url = "http://127.0.0.1:13100"
[[routes]]
name = "sign-in"
path = "/sign-in/**"
access = "public"
[[routes]]
name = "public"
path = "/public/**"
access = "public"
$3
CFG
}
