//! The proxies' configs: the snippets of `docs/forward-auth.md`, with the test's ports.

use std::path::Path;

/// The identity headers doorman sets (the defaults).
pub const IDENTITY: [&str; 9] = [
    "X-User-Id",
    "X-Session-Id",
    "X-User-Type",
    "X-Org-Id",
    "X-Org-Role",
    "X-User-Roles",
    "X-User-Permissions",
    "X-Feature-Flags",
    "X-Onboarding-Status",
];

pub struct Ports {
    /// The proxy's own listener.
    pub listen: u16,
    /// doorman's `[forward_auth] listen`.
    pub doorman: u16,
    /// The application.
    pub upstream: u16,
}

/// nginx, unprivileged, in the foreground, everything under `dir`.
pub fn nginx(p: &Ports, dir: &Path) -> String {
    let dir = dir.display();
    let mut set = String::new();
    let mut pass = String::new();
    for name in IDENTITY {
        let var = name.to_ascii_lowercase().replace('-', "_");
        set.push_str(&format!(
            "        auth_request_set $doorman_{var} $upstream_http_{var};\n"
        ));
        pass.push_str(&format!(
            "        proxy_set_header {name} $doorman_{var};\n"
        ));
    }
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream doorman {{ server 127.0.0.1:{doorman}; }}
    server {{
        listen 127.0.0.1:{listen};
        absolute_redirect off;
{snippet}
        location / {{
{include}
{set}{pass}            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
}}
"#,
        doorman = p.doorman,
        listen = p.listen,
        upstream = p.upstream,
        snippet = NGINX_SERVER,
        include = NGINX_LOCATION,
    )
}

/// Inside `server { }`: the authorization subrequest and the refusal pages.
pub const NGINX_SERVER: &str = r#"
        location = /_doorman {
            internal;
            proxy_pass http://doorman/nginx;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
        location @doorman_401 {
            internal;
            add_header Set-Cookie $doorman_cookie always;
            add_header WWW-Authenticate $doorman_www_authenticate always;
            add_header Cache-Control no-store always;
            default_type application/json;
            if ($doorman_location) {
                return 302 $doorman_location;
            }
            return 401 $doorman_body;
        }
        location @doorman_403 {
            internal;
            add_header Cache-Control no-store always;
            default_type application/json;
            if ($doorman_status = 400) {
                return 400 $doorman_body;
            }
            return 403 $doorman_body;
        }
"#;

/// Inside each protected `location { }`.
pub const NGINX_LOCATION: &str = r#"            auth_request /_doorman;
            auth_request_set $doorman_location $upstream_http_x_doorman_location;
            auth_request_set $doorman_status $upstream_http_x_doorman_status;
            auth_request_set $doorman_body $upstream_http_x_doorman_body;
            auth_request_set $doorman_cookie $upstream_http_set_cookie;
            auth_request_set $doorman_www_authenticate $upstream_http_www_authenticate;
            error_page 401 = @doorman_401;
            error_page 403 = @doorman_403;
"#;

/// Traefik's static configuration, as command-line flags.
pub fn traefik_args(p: &Ports, dynamic: &Path) -> Vec<String> {
    vec![
        format!("--entryPoints.web.address=127.0.0.1:{}", p.listen),
        format!("--providers.file.filename={}", dynamic.display()),
        "--global.checkNewVersion=false".into(),
        "--global.sendAnonymousUsage=false".into(),
        "--log.level=ERROR".into(),
    ]
}

/// Traefik's dynamic configuration (file provider).
pub fn traefik_dynamic(p: &Ports) -> String {
    let headers = IDENTITY.join(", ");
    format!(
        r#"http:
  routers:
    app:
      rule: "PathPrefix(`/`)"
      entryPoints: [web]
      middlewares: [doorman]
      service: app
  middlewares:
    doorman:
      forwardAuth:
        address: "http://127.0.0.1:{doorman}/traefik"
        authResponseHeaders: [{headers}]
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:{upstream}"
"#,
        doorman = p.doorman,
        upstream = p.upstream,
    )
}

/// Caddy's Caddyfile.
pub fn caddyfile(p: &Ports) -> String {
    let strip: String = IDENTITY
        .iter()
        .map(|h| format!("\t\trequest_header -{h}\n"))
        .collect();
    format!(
        r#"{{
	admin off
	auto_https off
}}

http://127.0.0.1:{listen} {{
	route {{
{strip}		forward_auth 127.0.0.1:{doorman} {{
			uri /caddy
			copy_headers {headers}
		}}
		reverse_proxy 127.0.0.1:{upstream}
	}}
}}
"#,
        listen = p.listen,
        doorman = p.doorman,
        upstream = p.upstream,
        headers = IDENTITY.join(" "),
    )
}
