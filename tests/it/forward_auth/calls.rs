//! Each dialect spoken directly to the authorization listener: what every scenario answers,
//! that it is the inline decision, the trust rule, and the `mode` label.

use http::Request;
use http_body_util::Full;

use super::{expired_browser, harness, member, onboarding};
use crate::support::clerk_api::FakeClerk;
use crate::support::client::Reply;
use crate::support::{Client, Harness, RequestExt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Nginx,
    Traefik,
    Caddy,
    Envoy,
}

const DIALECTS: [Dialect; 4] = [
    Dialect::Nginx,
    Dialect::Traefik,
    Dialect::Caddy,
    Dialect::Envoy,
];

/// The call `dialect`'s proxy makes for `method target` on host `shop.test` over HTTPS.
fn call(h: &Harness, dialect: Dialect, method: &str, target: &str) -> Request<Full<bytes::Bytes>> {
    let fa = h.doorman.forward_auth_addr.expect("forward-auth listener");
    let client = Client::new(fa);
    let headers: Vec<(&str, &str)> = match dialect {
        Dialect::Nginx => vec![
            ("x-original-method", method),
            ("x-original-uri", target),
            ("x-forwarded-host", "shop.test"),
            ("x-forwarded-proto", "https"),
        ],
        Dialect::Traefik | Dialect::Caddy => vec![
            ("x-forwarded-method", method),
            ("x-forwarded-uri", target),
            ("x-forwarded-host", "shop.test"),
            ("x-forwarded-proto", "https"),
        ],
        Dialect::Envoy => vec![("host", "shop.test"), ("x-forwarded-proto", "https")],
    };
    let mut req = match dialect {
        Dialect::Nginx => client.request("GET", "/nginx"),
        Dialect::Traefik => client.request("GET", "/traefik"),
        Dialect::Caddy => client.request("GET", "/caddy"),
        Dialect::Envoy => client.request(method, &format!("/envoy{target}")),
    };
    for (name, value) in headers {
        req = req.with_header(name, value);
    }
    req
}

async fn ask(h: &Harness, req: Request<Full<bytes::Bytes>>) -> Reply {
    Client::new(h.doorman.forward_auth_addr.unwrap())
        .send(req)
        .await
}

/// What the client of `dialect`'s proxy ends up seeing for a refusal: status, and the
/// `Location` of a redirect (nginx's snippet turns 401 + `X-Doorman-Location` into a 302).
fn seen(dialect: Dialect, r: &Reply) -> (u16, Option<String>) {
    if dialect == Dialect::Nginx {
        if let Some(location) = r.header("x-doorman-location") {
            assert_eq!(r.status, 401, "nginx understands 401 and 403 only");
            return (302, Some(location.to_string()));
        }
        let inline: u16 = r.header("x-doorman-status").unwrap().parse().unwrap();
        return (inline, None);
    }
    let location = r.header("location").map(|l| match dialect {
        // Traefik resolves a relative Location against the authorizer: doorman sends it
        // absolute, with the original scheme and host.
        Dialect::Traefik => l.strip_prefix("https://shop.test").unwrap_or(l).to_string(),
        _ => l.to_string(),
    });
    (r.status.as_u16(), location)
}

/// The JSON body the client sees (nginx: from `X-Doorman-Body`).
fn body(dialect: Dialect, r: &Reply) -> serde_json::Value {
    let text = if dialect == Dialect::Nginx {
        r.header("x-doorman-body").unwrap_or_default().to_string()
    } else {
        r.text()
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{dialect:?}: {e}: {text:?}"))
}

#[tokio::test]
async fn every_dialect_decides_the_scenarios_as_inline() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, "127.0.0.1/32").await;
    for d in DIALECTS {
        // Public page: allowed, no identity.
        let r = ask(&h, call(&h, d, "GET", "/public/x")).await;
        assert_eq!(r.status, 200, "{d:?} public");
        assert!(r.header("x-user-id").is_none());

        // Signed-out page: the sign-in redirect with the original path.
        let r = ask(&h, call(&h, d, "GET", "/dashboard?tab=2").navigate()).await;
        assert_eq!(
            seen(d, &r),
            (
                302,
                Some("/sign-in?redirect_url=/dashboard%3Ftab%3D2".into())
            ),
            "{d:?}"
        );

        // Signed-out API: 401 JSON with the challenge.
        let r = ask(&h, call(&h, d, "GET", "/api/projects/1")).await;
        assert_eq!(seen(d, &r).0, 401, "{d:?}");
        assert_eq!(body(d, &r)["reason"], "token_missing", "{d:?}");
        assert!(r.header("www-authenticate").is_some(), "{d:?}");

        // Onboarding not finished: the onboarding redirect.
        let r = ask(
            &h,
            call(&h, d, "GET", "/dashboard")
                .navigate()
                .bearer(&onboarding()),
        )
        .await;
        assert_eq!(
            seen(d, &r),
            (302, Some("/onboarding?redirect_url=/dashboard".into())),
            "{d:?}"
        );

        // Forbidden: 403 with the stable reason.
        let r = ask(&h, call(&h, d, "GET", "/admin/users").bearer(&member())).await;
        assert_eq!(seen(d, &r).0, 403, "{d:?}");
        assert_eq!(body(d, &r)["reason"], "role_missing", "{d:?}");

        // Allowed: 200 with the identity headers; Envoy is told to remove the others.
        let r = ask(&h, call(&h, d, "GET", "/dashboard").bearer(&member())).await;
        assert_eq!(r.status, 200, "{d:?}");
        assert_eq!(r.header("x-user-id"), Some("user_1"), "{d:?}");
        assert_eq!(r.header("x-user-roles"), Some("member"), "{d:?}");
        if d == Dialect::Envoy {
            let remove = r.header("x-envoy-auth-headers-to-remove").unwrap();
            assert!(remove.split(',').any(|n| n == "x-org-id"), "{remove}");
            assert!(!remove.split(',').any(|n| n == "x-user-id"), "{remove}");
        }

        // Spoofed identity headers in the original request are never echoed back.
        let r = ask(
            &h,
            call(&h, d, "GET", "/public/x")
                .with_header("X-User-Id", "user_admin")
                .with_header("X-User-Roles", "admin"),
        )
        .await;
        assert_eq!(r.status, 200, "{d:?}");
        assert!(r.header("x-user-id").is_none(), "{d:?}");
        assert!(r.header("x-user-roles").is_none(), "{d:?}");
        let r = ask(
            &h,
            call(&h, d, "GET", "/admin/x")
                .bearer(&member())
                .with_header("X-User-Roles", "admin"),
        )
        .await;
        assert_eq!(seen(d, &r).0, 403, "{d:?}: a spoofed role must not count");

        // Ambiguous paths: the same normalization and refusals as inline.
        for target in [
            "/public/..%2Fadmin",
            "/public/%2e%2e/admin",
            "/public\\..\\admin",
        ] {
            let r = ask(&h, call(&h, d, "GET", target)).await;
            assert_eq!(seen(d, &r).0, 400, "{d:?} {target}");
        }

        // A browser with an expired token: Clerk's handshake, with its counter cookie.
        let r = ask(
            &h,
            call(&h, d, "GET", "/dashboard")
                .with_header("sec-fetch-dest", "document")
                .with_header("accept", "text/html")
                .with_header("cookie", &expired_browser()),
        )
        .await;
        let (status, location) = seen(d, &r);
        let location = location.unwrap_or_default();
        assert!(
            status == 307 || (d == Dialect::Nginx && status == 302),
            "{d:?} {status}"
        );
        assert!(location.starts_with(&clerk.url()), "{d:?} {location}");
        assert!(
            location.contains("redirect_url=https%3A%2F%2Fshop.test%2Fdashboard"),
            "{d:?}: the original scheme and host: {location}"
        );
        assert!(r.header("set-cookie").is_some(), "{d:?}");
    }
    // Nothing was forwarded: the authorizer only answers.
    assert_eq!(h.echo.count(), 0);
}

#[tokio::test]
async fn calls_are_counted_with_the_forward_auth_mode() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, "127.0.0.1/32").await;
    ask(
        &h,
        call(&h, Dialect::Traefik, "GET", "/dashboard").bearer(&member()),
    )
    .await;
    h.client.api("GET", "/dashboard", &member()).await;
    let metrics = h.metrics().await;
    for want in [
        "doorman_requests_total{route=\"dashboard\",decision=\"forward\",mode=\"forward_auth\"} 1",
        "doorman_requests_total{route=\"dashboard\",decision=\"forward\",mode=\"inline\"} 1",
    ] {
        assert!(metrics.contains(want), "{want} missing:\n{metrics}");
    }
}

#[tokio::test]
async fn a_call_without_the_original_request_is_refused() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, "127.0.0.1/32").await;
    let fa = Client::new(h.doorman.forward_auth_addr.unwrap());
    for req in [
        fa.request("GET", "/traefik"),
        fa.request("GET", "/nginx")
            .with_header("x-original-uri", "/dashboard"),
        fa.request("GET", "/somewhere-else"),
    ] {
        let r = fa.send(req).await;
        assert!(r.status == 400 || r.status == 403, "{}", r.status);
        let text = r
            .header("x-doorman-body")
            .map_or_else(|| r.text(), str::to_string);
        assert!(text.contains("forward_auth_incomplete"), "{text}");
    }
}

#[tokio::test]
async fn an_untrusted_caller_is_refused_and_its_headers_never_believed() {
    let clerk = FakeClerk::start().await;
    // Loopback is not a trusted proxy here.
    let h = harness(&clerk, "10.1.2.3/32").await;
    for d in DIALECTS {
        let r = ask(&h, call(&h, d, "GET", "/dashboard").bearer(&member())).await;
        assert_eq!(r.status, 403, "{d:?}");
        assert!(r.header("x-user-id").is_none(), "{d:?}");
        assert!(r.text().contains("forward_auth_untrusted"), "{d:?}");
    }
    let metrics = h.metrics().await;
    let want =
        "doorman_requests_total{route=\"untrusted\",decision=\"forbidden\",mode=\"forward_auth\"} 4";
    assert!(metrics.contains(want), "{want} missing:\n{metrics}");
}

#[tokio::test]
async fn forward_auth_is_off_without_its_section() {
    let h = Harness::start().await;
    assert!(h.doorman.forward_auth_addr.is_none());
}
