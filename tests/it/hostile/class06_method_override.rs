//! Class 6 (continued): `_method` override parameters. Rails, Laravel, Symfony and Sinatra
//! run `POST …?_method=DELETE` (or a form field `_method=DELETE`) as a DELETE, so doorman
//! refuses them (400 `method_override`) or, where a route says `authorize`, decides the
//! overridden method against the same rules. A refused body never reaches the upstream
//! complete.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::json;

use super::raw;
use crate::support::{
    assert_nothing_forwarded, claims, config_with_sections, outcome, refused, token, with, Harness,
    Req, RequestExt,
};

/// DELETE is admin-only; POST and PATCH are open to members.
const COMMENTS: &str = r#"
[[routes]]
name = "comments-delete"
path = "/api/comments/{id}"
methods = ["DELETE"]
respond = "api"
roles_any = ["admin"]

[[routes]]
name = "comments-write"
path = "/api/comments/{id}"
methods = ["POST", "PATCH"]
respond = "api"
"#;

async fn refusing() -> Harness {
    Harness::with_config(&config_with_sections(COMMENTS)).await
}

async fn authorizing() -> Harness {
    let config = COMMENTS.replace(
        "methods = [\"POST\", \"PATCH\"]",
        "methods = [\"POST\", \"PATCH\"]\nmethod_override = \"authorize\"",
    );
    Harness::with_config(&config_with_sections(&config)).await
}

fn member() -> String {
    token(&claims())
}

fn admin() -> String {
    token(&with(
        claims(),
        "/metadata/roles",
        json!([{"name": "admin", "permissions": []}]),
    ))
}

fn form(h: &Harness, path: &str, content_type: &str, body: &str, jwt: &str) -> Req {
    let req = Request::builder()
        .method("POST")
        .uri(format!("http://{}{path}", h.client.addr))
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    req.bearer(jwt)
}

const URLENCODED: &str = "application/x-www-form-urlencoded";

/// Asserts that no request the upstream saw since `before` carried all of `body`.
#[track_caller]
fn assert_no_complete_body(h: &Harness, before: usize, body: &str, what: &str) {
    for seen in &h.echo.seen()[before..] {
        assert!(
            seen.body.len() < body.len(),
            "{what}: the upstream received the whole body {:?}",
            seen.body
        );
    }
}

fn multipart(parts: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (disposition, content) in parts {
        body.push_str(&format!(
            "--B0uNd\r\nContent-Disposition: {disposition}\r\n\r\n{content}\r\n"
        ));
    }
    body + "--B0uNd--\r\n"
}

#[tokio::test]
async fn a_query_override_is_refused_before_the_upstream_sees_anything() {
    let h = refusing().await;
    let before = h.echo.count();
    for path in [
        "/api/comments/1?_method=DELETE",
        "/api/comments/1?x=1&%5Fmethod=delete",
        "/api/comments/1?_method[]=DELETE",
        "/api/comments/1?a=1;_METHOD=DELETE",
    ] {
        let reply = h
            .client
            .send(form(&h, path, URLENCODED, "", &member()))
            .await;
        assert_eq!(outcome(&reply), refused(400, "method_override"), "{path}");
        // Refused on every route, and before authentication: anonymous too.
        let anon = h.client.send(h.client.request("POST", path)).await;
        assert_eq!(
            outcome(&anon),
            refused(400, "method_override"),
            "{path} anonymous"
        );
    }
    assert_nothing_forwarded(&h, before, "query overrides");
}

#[tokio::test]
async fn urlencoded_body_overrides_are_refused_and_never_reach_the_upstream_whole() {
    let h = refusing().await;
    let before = h.echo.count();
    for body in [
        "_method=DELETE",
        "body=hi&_method=DELETE",
        "%5Fmethod=DELETE",
        "_method[]=DELETE",
        ".method=DELETE",
        "+_method=DELETE",
        "a=1;_method=DELETE",
    ] {
        let reply = h
            .client
            .send(form(&h, "/api/comments/1", URLENCODED, body, &member()))
            .await;
        assert_eq!(outcome(&reply), refused(400, "method_override"), "{body}");
        assert_no_complete_body(&h, before, body, body);
    }
    // Content-Type is matched case-insensitively, with parameters, and a body without a
    // Content-Type is read as a form (Rack does); a PUT body is scanned too.
    let reply = h
        .client
        .send(form(
            &h,
            "/api/projects/1",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            "_method=GET",
            &member(),
        ))
        .await;
    assert_eq!(outcome(&reply), refused(400, "method_override"));
    let mut put = form(
        &h,
        "/api/comments/1",
        URLENCODED,
        "_method=DELETE",
        &member(),
    );
    *put.method_mut() = http::Method::PUT;
    put.headers_mut().remove("content-type");
    assert_eq!(
        outcome(&h.client.send(put).await),
        refused(400, "method_override")
    );
    assert_no_complete_body(&h, before, "_method=DELETE", "PUT without Content-Type");
}

#[tokio::test]
async fn an_override_key_split_across_chunks_is_still_found() {
    let h = refusing().await;
    let before = h.echo.count();
    let chunks = ["body=hi&_me", "th", "o", "d=DEL", "ETE"];
    let mut request = format!(
        "POST /api/comments/1 HTTP/1.1\r\nHost: shop.test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: {URLENCODED}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        member()
    );
    for chunk in chunks {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let answer = raw(h.client.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(
        (answer.status(), answer.reason()),
        (Some(400), "method_override".to_string()),
        "{}",
        answer.text
    );
    assert_no_complete_body(&h, before, &chunks.concat(), "chunked override");
}

#[tokio::test]
async fn a_multipart_part_named_like_the_override_is_refused() {
    let h = refusing().await;
    let before = h.echo.count();
    let content_type = "multipart/form-data; boundary=B0uNd";
    for name in ["\"_method\"", "_method", "\"_method[]\""] {
        let disposition = format!("form-data; name={name}");
        let body = multipart(&[("form-data; name=\"body\"", "hi"), (&disposition, "DELETE")]);
        let reply = h
            .client
            .send(form(&h, "/api/comments/1", content_type, &body, &member()))
            .await;
        assert_eq!(outcome(&reply), refused(400, "method_override"), "{name}");
        assert_no_complete_body(&h, before, &body, name);
    }
}

#[tokio::test]
async fn an_uploaded_file_that_mentions_the_override_is_forwarded_whole() {
    let h = refusing().await;
    let content =
        "Content-Disposition: form-data; name=\"_method\"\r\n\r\nDELETE\r\n_method=DELETE";
    let body = multipart(&[
        (
            "form-data; name=\"upload\"; filename=\"notes.txt\"",
            content,
        ),
        ("form-data; name=\"title\"", "about _method"),
    ]);
    let reply = h
        .client
        .send(form(
            &h,
            "/api/comments/1",
            "multipart/form-data; boundary=\"B0uNd\"",
            &body,
            &member(),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = h.echo.last().unwrap();
    assert_eq!(
        (seen.method.as_str(), &seen.body[..]),
        ("POST", body.as_bytes())
    );
    // An ordinary form and a JSON body are forwarded whole too.
    let reply = h
        .client
        .send(form(
            &h,
            "/api/comments/1",
            URLENCODED,
            "body=x_method%3DDELETE",
            &member(),
        ))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(&h.echo.last().unwrap().body[..], b"body=x_method%3DDELETE");
}

#[tokio::test]
async fn authorize_mode_forwards_an_admins_override_and_refuses_a_members() {
    let h = authorizing().await;
    let reply = h
        .client
        .send(form(
            &h,
            "/api/comments/1",
            URLENCODED,
            "body=bye&_method=delete",
            &admin(),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(&h.echo.last().unwrap().body[..], b"body=bye&_method=delete");
    let reply = h
        .client
        .send(form(
            &h,
            "/api/comments/1?_method=DELETE",
            URLENCODED,
            "",
            &admin(),
        ))
        .await;
    assert_eq!(reply.status, 200);

    let before = h.echo.count();
    let body = "body=bye&_method=delete";
    let reply = h
        .client
        .send(form(&h, "/api/comments/1", URLENCODED, body, &member()))
        .await;
    assert_eq!(outcome(&reply), refused(403, "role_missing"));
    assert_no_complete_body(&h, before, body, "member's body override");
    let multipart_body = multipart(&[("form-data; name=\"_method\"", "DELETE")]);
    let reply = h
        .client
        .send(form(
            &h,
            "/api/comments/1",
            "multipart/form-data; boundary=B0uNd",
            &multipart_body,
            &member(),
        ))
        .await;
    assert_eq!(outcome(&reply), refused(403, "role_missing"));
    assert_no_complete_body(&h, before, &multipart_body, "member's multipart override");
    let before = h.echo.count();
    let reply = h
        .client
        .send(form(
            &h,
            "/api/comments/1?_method=DELETE",
            URLENCODED,
            "",
            &member(),
        ))
        .await;
    assert_eq!(outcome(&reply), refused(403, "role_missing"));
    assert_nothing_forwarded(&h, before, "member's query override");
}

#[tokio::test]
async fn authorize_mode_passes_an_override_the_rules_allow_and_refuses_a_non_method() {
    let h = authorizing().await;
    let reply = h
        .client
        .send(form(
            &h,
            "/api/comments/1",
            URLENCODED,
            "_method=PATCH&body=x",
            &member(),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(&h.echo.last().unwrap().body[..], b"_method=PATCH&body=x");
    let before = h.echo.count();
    for body in ["_method=DE%20LETE", "_method=TRACE", "_method="] {
        let reply = h
            .client
            .send(form(&h, "/api/comments/1", URLENCODED, body, &member()))
            .await;
        assert_eq!(outcome(&reply), refused(400, "method_override"), "{body}");
        assert_no_complete_body(&h, before, body, body);
    }
}

#[tokio::test]
#[ignore = "doorman gap: JSON bodies are not scanned, and Laravel reads `_method` from JSON input"]
async fn a_json_body_override_is_refused() {
    let h = refusing().await;
    let before = h.echo.count();
    let body = r#"{"_method":"DELETE"}"#;
    let reply = h
        .client
        .send(form(
            &h,
            "/api/comments/1",
            "application/json",
            body,
            &member(),
        ))
        .await;
    assert_eq!(outcome(&reply), refused(400, "method_override"));
    assert_no_complete_body(&h, before, body, "JSON override");
}
