//! The webhook endpoint doing the guide's work: `user.created` initializes the new user's
//! metadata from the type's defaults, idempotently under Svix retries and replays, and
//! answers 503 (so Svix retries) when the Backend API is down; verified deliveries are
//! forwarded to the application, which verifies them with the original secret, in order per
//! user and retried in the background without delaying Clerk's 2xx. Payloads are the
//! examples of Clerk's published webhook specification (tests/fixtures/clerk/webhooks).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use doorman::dev::echo::Echo;
use doorman::webhook::svix::Secret;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::support::bapi::{FakeBapi, Faults, SECRET_KEY};
use crate::support::{key, Client, Harness, JwksServer, BASE_CONFIG, KID, NOW};
use crate::users_sync::USERS;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The user of the spec's `user.*` examples.
const USER: &str = "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S";

fn fixture(event: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/clerk/webhooks/{event}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Doorman with `[webhooks] extra` and the Backend API at `bapi`.
async fn doorman(bapi: &FakeBapi, extra: &str, app: Option<SocketAddr>) -> Harness {
    let config = BASE_CONFIG.replace(
        "[clerk]\n",
        &format!(
            "[clerk]\nsecret_key = \"{SECRET_KEY}\"\napi_url = \"{}\"\n",
            bapi.url()
        ),
    );
    let forward = app.map(|a| {
        format!("forward_to = \"http://{a}/api/webhooks/clerk\"\nforward_backoff = \"10ms\"\n")
    });
    let config = format!(
        "{config}\n[webhooks]\nsecret = \"{SECRET}\"\n{}{extra}\n{USERS}",
        forward.unwrap_or_default()
    );
    let jwks = JwksServer::start(&[(key(), KID)]).await;
    let echo = Echo::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    Harness::with_parts(&config, jwks, echo, |_| None).await
}

/// A signed delivery of `body` as Svix sends it.
fn delivery(client: &Client, id: &str, body: &str) -> Request<Full<Bytes>> {
    let ts = NOW.to_string();
    let sig = Secret::parse(SECRET)
        .unwrap()
        .sign(id, &ts, body.as_bytes());
    let mut req = client.request("POST", "/clerk/webhooks");
    for (name, value) in [
        ("svix-id", id.to_string()),
        ("svix-timestamp", ts),
        ("svix-signature", format!("v1,{sig}")),
        ("content-type", "application/json".into()),
    ] {
        req.headers_mut().insert(name, value.parse().unwrap());
    }
    *req.body_mut() = Full::new(Bytes::from(body.to_string()));
    req
}

#[tokio::test]
async fn user_created_initializes_once_and_a_retry_never_resets_progress() {
    let bapi = FakeBapi::start(Faults::polite(100, Duration::from_millis(100))).await;
    bapi.add_user(USER, json!({}));
    let h = doorman(
        &bapi,
        "initialize = true\ninitialize_default_type = \"customer\"\n",
        None,
    )
    .await;
    let mut event = fixture("user.created");
    event["data"]["unsafe_metadata"] = json!({"userType": "freelancer"});
    let body = event.to_string();

    let reply = h.client.send(delivery(&h.client, "msg_1", &body)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let initialized = json!({
        "userType": "freelancer",
        "roles": [{"name": "freelancer", "permissions": ["view_project"]}],
        "featureFlags": {"advanced_search": false},
        "onboarding": {"status": "not_started", "step": 0, "totalSteps": 4},
        "isActive": true,
        "freelancer": {"tier": "new", "verified": false},
    });
    assert_eq!(bapi.metadata(USER), initialized);

    // The user moves on: onboarding step 2, a flag turned on.
    let api = crate::users_sync::api(&bapi, 100, Duration::from_millis(100));
    let config = crate::users_sync::config("");
    let layout = doorman::users::layout::Layout::new(&config.claims, &config.users).unwrap();
    doorman::users::ops::flags(&api, &layout, USER, &["advanced_search=true".into()])
        .await
        .unwrap();
    let mut progress = doorman::users::fields::Values::default();
    progress.fields.insert(
        doorman::users::fields::Field::OnboardingStatus,
        json!("in_progress"),
    );
    progress
        .fields
        .insert(doorman::users::fields::Field::OnboardingStep, json!(2));
    doorman::users::ops::set(&api, &layout, USER, progress)
        .await
        .unwrap();
    let progressed = bapi.metadata(USER);
    let writes = bapi.counts(|c| c.patches[USER]);

    // Svix retries the same delivery, then it is replayed from the dashboard (a new id, as
    // another replica or a restarted doorman would see it): nothing is reset.
    for id in ["msg_1", "msg_1_replayed"] {
        let reply = h.client.send(delivery(&h.client, id, &body)).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{id}");
        assert_eq!(bapi.metadata(USER), progressed, "{id}");
    }
    assert_eq!(bapi.counts(|c| c.patches[USER]), writes, "a retry wrote");
    assert!(h
        .metrics()
        .await
        .contains(r#"doorman_webhooks_total{event="user.created",result="initialized"} 2"#));
    assert_eq!(bapi.counts(|c| c.violations.clone()), Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_initialization_answers_503_and_the_svix_retry_completes_it() {
    let bapi = FakeBapi::start(Faults::polite(100, Duration::from_millis(100))).await;
    bapi.add_user(USER, json!({"apiAccess": "none"}));
    let h = doorman(&bapi, "initialize = true\ninitialize_default_type = \"customer\"\ninitialize_timeout = \"300ms\"\n", None).await;
    let body = fixture("user.created").to_string();
    bapi.set_down(true);
    let reply = h.client.send(delivery(&h.client, "msg_9", &body)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(bapi.metadata(USER), json!({"apiAccess": "none"}));
    bapi.set_down(false);
    let reply = h.client.send(delivery(&h.client, "msg_9", &body)).await;
    assert_eq!(
        reply.status,
        StatusCode::NO_CONTENT,
        "the retry (same svix-id) must act"
    );
    let metadata = bapi.metadata(USER);
    assert_eq!(
        metadata["userType"], "customer",
        "no type in unsafe_metadata: the default type"
    );
    assert_eq!(metadata["roles"], json!(["customer_member"]));
    assert_eq!(metadata["apiAccess"], "none", "other keys are left alone");
}

/// What the application received: (svix-id, body, signature verified with the secret).
type Received = Arc<Mutex<Vec<(String, String, bool)>>>;

/// The application's webhook handler: verifies Svix signatures on its own (HMAC-SHA256 over
/// `id.timestamp.body` with the secret's key) and refuses the first `fail_first` deliveries.
async fn application(fail_first: usize) -> (SocketAddr, Received, watch::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let (tx, rx) = watch::channel(0usize);
    let tx = Arc::new(tx);
    let attempts = Arc::new(Mutex::new(0usize));
    let r = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (r, tx, attempts) = (r.clone(), tx.clone(), attempts.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let (r, tx, attempts) = (r.clone(), tx.clone(), attempts.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let header = |n: &str| {
                            parts
                                .headers
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string()
                        };
                        let key = STANDARD
                            .decode(SECRET.trim_start_matches("whsec_"))
                            .unwrap();
                        let signed = format!(
                            "{}.{}.{}",
                            header("svix-id"),
                            header("svix-timestamp"),
                            String::from_utf8_lossy(&body)
                        );
                        let expected = STANDARD.encode(
                            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), signed.as_bytes())
                                .as_ref(),
                        );
                        let verified = header("svix-signature")
                            .split(' ')
                            .any(|s| s == format!("v1,{expected}"));
                        let n = {
                            let mut a = attempts.lock().unwrap();
                            *a += 1;
                            *a
                        };
                        let status = if n <= fail_first {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            r.lock().unwrap().push((
                                header("svix-id"),
                                String::from_utf8_lossy(&body).into_owned(),
                                verified,
                            ));
                            tx.send_modify(|c| *c += 1);
                            StatusCode::NO_CONTENT
                        };
                        let mut resp = Response::new(Full::new(Bytes::new()));
                        *resp.status_mut() = status;
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, received, rx)
}

#[tokio::test]
async fn verified_deliveries_reach_the_application_unchanged_in_order_and_after_its_failures() {
    let bapi = FakeBapi::start(Faults::polite(100, Duration::from_millis(100))).await;
    let (app, received, mut count) = application(2).await;
    let h = doorman(&bapi, "", Some(app)).await;
    let events = [
        "user.created",
        "user.updated",
        "session.created",
        "user.deleted",
    ];
    let bodies: Vec<String> = events.iter().map(|e| fixture(e).to_string()).collect();
    for (i, body) in bodies.iter().enumerate() {
        let reply = h
            .client
            .send(delivery(&h.client, &format!("msg_{i}"), body))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "Clerk's answer does not wait for the application"
        );
    }
    // A forged delivery is answered 401 and never forwarded.
    let mut forged = delivery(&h.client, "msg_forged", &bodies[0]);
    forged
        .headers_mut()
        .insert("svix-signature", "v1,AAAA".parse().unwrap());
    assert_eq!(h.client.send(forged).await.status, StatusCode::UNAUTHORIZED);

    tokio::time::timeout(Duration::from_secs(10), count.wait_for(|c| *c >= 4))
        .await
        .expect("every delivery forwarded")
        .unwrap();
    let received = received.lock().unwrap().clone();
    let ids: Vec<&str> = received.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(
        received.iter().all(|(_, _, verified)| *verified),
        "the application verifies with the original secret"
    );
    for (i, body) in bodies.iter().enumerate() {
        let got = received
            .iter()
            .find(|(id, _, _)| *id == format!("msg_{i}"))
            .expect("delivered");
        assert_eq!(&got.1, body, "body byte for byte");
    }
    let position = |id: &str| ids.iter().position(|x| *x == id).unwrap();
    assert!(
        position("msg_0") < position("msg_1") && position("msg_1") < position("msg_3"),
        "one user's events in order: {ids:?}"
    );
}

#[test]
fn forward_to_names_an_upstream_and_a_path() {
    let config = crate::users_sync::config("[webhooks]\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nforward_to = \"app/api/webhooks/clerk\"\n");
    let forward = config.webhooks.unwrap().forward.unwrap();
    assert_eq!(forward.url, "http://127.0.0.1:9/api/webhooks/clerk");
    assert_eq!(forward.retry_for, Duration::from_secs(240));
    let text = format!("{BASE_CONFIG}\n[webhooks]\nsecret = \"{SECRET}\"\nforward_to = \"ap/hooks\"\ninitialize = true\n");
    let err = doorman::config::Config::parse(&text, "t", &|_| Some("http://127.0.0.1:9".into()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("webhooks.forward_to") && err.contains("names no upstream \"ap\""),
        "{err}"
    );
    assert!(
        err.contains("webhooks.initialize: needs [clerk] secret_key"),
        "{err}"
    );
}
