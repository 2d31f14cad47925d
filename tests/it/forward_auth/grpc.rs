//! Envoy's gRPC `ext_authz` (`envoy.service.auth.v3.Authorization/Check`, also what Istio's
//! `CUSTOM` action calls): the scenarios with a real gRPC client (tonic, HTTP/2 over
//! loopback), asserting the `CheckResponse` Envoy would act on.

use std::collections::HashMap;
use std::net::SocketAddr;

use doorman::forward_auth::grpc::proto::{
    AttributeContext, AttributeRequest, CheckRequest, CheckResponse, HttpRequest, HttpResponse,
};
use doorman::forward_auth::grpc::CHECK_PATH;

use super::{expired_browser, harness, member, onboarding};
use crate::support::clerk_api::FakeClerk;

/// Asks doorman at `addr` about `method path` on `https://shop.test` with `headers`.
async fn check(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> CheckResponse {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("gRPC connect");
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.expect("ready");
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    let request = CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(AttributeRequest {
                http: Some(HttpRequest {
                    id: "1".into(),
                    method: method.into(),
                    headers,
                    path: path.into(),
                    host: "shop.test".into(),
                    scheme: "https".into(),
                    header_map: None,
                }),
            }),
        }),
    };
    let codec = tonic_prost::ProstCodec::<CheckRequest, CheckResponse>::default();
    client
        .unary(
            tonic::Request::new(request),
            http::uri::PathAndQuery::from_static(CHECK_PATH),
            codec,
        )
        .await
        .expect("Check answered")
        .into_inner()
}

/// gRPC code, HTTP status (denied) or 200 (ok), and the headers as (name, value) pairs.
fn read(r: &CheckResponse) -> (i32, i32, Vec<(String, String)>, String, Vec<String>) {
    let code = r.status.as_ref().map_or(-1, |s| s.code);
    match &r.http_response {
        Some(HttpResponse::Ok(ok)) => (
            code,
            200,
            pairs(&ok.headers),
            String::new(),
            ok.headers_to_remove.clone(),
        ),
        Some(HttpResponse::Denied(d)) => (
            code,
            d.status.as_ref().map_or(0, |s| s.code),
            pairs(&d.headers),
            d.body.clone(),
            Vec::new(),
        ),
        None => panic!("no http_response: {r:?}"),
    }
}

fn pairs(h: &[doorman::forward_auth::grpc::proto::HeaderValueOption]) -> Vec<(String, String)> {
    h.iter()
        .filter_map(|o| o.header.as_ref())
        .map(|h| (h.key.clone(), h.value.clone()))
        .collect()
}

fn get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn envoy_grpc_check_decides_the_scenarios_as_inline() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, "127.0.0.1/32").await;
    let fa = h.doorman.forward_auth_addr.unwrap();
    let bearer = format!("Bearer {}", member());

    // Public page: OK, no identity; Envoy is told to remove every identity header.
    let (code, status, headers, _, remove) = read(&check(fa, "GET", "/public/x", &[]).await);
    assert_eq!((code, status), (0, 200));
    assert!(get(&headers, "x-user-id").is_none());
    assert!(remove.iter().any(|n| n == "x-user-id"), "{remove:?}");

    // Signed-out page: the sign-in redirect, for Envoy to return.
    let nav = [("sec-fetch-mode", "navigate")];
    let (code, status, headers, _, _) = read(&check(fa, "GET", "/dashboard?tab=2", &nav).await);
    // Any code but OK denies; UNAUTHENTICATED is kept for 401s.
    assert_eq!((code, status), (7, 302));
    assert_eq!(
        get(&headers, "location"),
        Some("/sign-in?redirect_url=/dashboard%3Ftab%3D2")
    );
    assert_eq!(get(&headers, "cache-control"), Some("no-store"));

    // Signed-out API: 401 JSON.
    let (code, status, headers, body, _) = read(&check(fa, "GET", "/api/projects/1", &[]).await);
    assert_eq!((code, status), (16, 401));
    assert!(body.contains("\"reason\":\"token_missing\""), "{body}");
    assert!(get(&headers, "www-authenticate").is_some());

    // Onboarding redirect.
    let pending = format!("Bearer {}", onboarding());
    let (_, status, headers, _, _) = read(
        &check(
            fa,
            "GET",
            "/dashboard",
            &[("sec-fetch-mode", "navigate"), ("authorization", &pending)],
        )
        .await,
    );
    assert_eq!(status, 302);
    assert_eq!(
        get(&headers, "location"),
        Some("/onboarding?redirect_url=/dashboard")
    );

    // Forbidden.
    let (code, status, _, body, _) =
        read(&check(fa, "GET", "/admin/users", &[("authorization", &bearer)]).await);
    assert_eq!((code, status), (7, 403));
    assert!(body.contains("role_missing"), "{body}");

    // Allowed: the identity headers to set upstream, the others removed.
    let (code, status, headers, _, remove) =
        read(&check(fa, "GET", "/dashboard", &[("authorization", &bearer)]).await);
    assert_eq!((code, status), (0, 200));
    assert_eq!(get(&headers, "x-user-id"), Some("user_1"));
    assert_eq!(get(&headers, "x-user-roles"), Some("member"));
    assert!(remove.iter().any(|n| n == "x-org-id"), "{remove:?}");
    assert!(!remove.iter().any(|n| n == "x-user-id"), "{remove:?}");

    // Spoofed identity headers are not echoed, and are removed upstream.
    let (_, status, headers, _, remove) = read(
        &check(
            fa,
            "GET",
            "/public/x",
            &[("x-user-id", "user_admin"), ("x-user-roles", "admin")],
        )
        .await,
    );
    assert_eq!(status, 200);
    assert!(get(&headers, "x-user-id").is_none());
    assert!(remove.iter().any(|n| n == "x-user-roles"), "{remove:?}");

    // Ambiguous path: 400, as inline.
    let (_, status, _, body, _) = read(&check(fa, "GET", "/public/..%2Fadmin", &[]).await);
    assert_eq!(status, 400, "{body}");

    // Expired browser: Clerk's handshake, with its counter cookie.
    let cookie = expired_browser();
    let doc = [
        ("sec-fetch-dest", "document"),
        ("accept", "text/html"),
        ("cookie", cookie.as_str()),
    ];
    let (_, status, headers, _, _) = read(&check(fa, "GET", "/dashboard", &doc).await);
    assert_eq!(status, 307);
    assert!(get(&headers, "location")
        .unwrap_or_default()
        .starts_with(&clerk.url()));
    assert!(get(&headers, "set-cookie").is_some());
    assert_eq!(h.echo.count(), 0);
}

#[tokio::test]
async fn envoy_grpc_check_from_an_untrusted_peer_is_refused() {
    let clerk = FakeClerk::start().await;
    let h = harness(&clerk, "10.1.2.3/32").await;
    let fa = h.doorman.forward_auth_addr.unwrap();
    let bearer = format!("Bearer {}", member());
    let (code, status, headers, body, _) =
        read(&check(fa, "GET", "/dashboard", &[("authorization", &bearer)]).await);
    assert_eq!((code, status), (7, 403));
    assert!(body.contains("forward_auth_untrusted"), "{body}");
    assert!(get(&headers, "x-user-id").is_none());
}
