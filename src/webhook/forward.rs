//! `[webhooks] forward_to`: verified deliveries passed on to the application, with the
//! original Svix headers and body byte for byte, so it verifies them with the same secret.
//!
//! Never in Clerk's way: a delivery is queued (bounded) and the endpoint answers at once;
//! background lanes send it, retrying any non-2xx or failure with doubling backoff until
//! `forward_retry_for` has passed since it arrived (Svix libraries refuse a `svix-timestamp`
//! older than 5 minutes, hence the 4-minute default). Delivery is at least once while the
//! process runs (the application dedupes by `svix-id`, as Svix asks); a queue lost to a
//! restart is not redelivered (Clerk's dashboard can replay). Events of one user go through
//! one lane, in the order they were received, so they reach the application in that order.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::users::Forward;

/// Lanes (ordered queues) deliveries are spread over by user.
const LANES: usize = 4;
/// Deliveries waiting per lane; beyond, new ones are dropped (and logged).
const QUEUE: usize = 1024;
/// Headers passed on (with the body, all the application needs to verify).
const PASSED: [&str; 7] = [
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
];

struct Delivery {
    id: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    received: Instant,
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The queues; dropping it lets the lanes finish what is queued, then stop.
pub struct Forwarder {
    lanes: Vec<mpsc::Sender<Delivery>>,
}

impl Forwarder {
    /// Starts the lanes on the current runtime.
    pub fn start(settings: &Forward) -> Result<Forwarder, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "webhook forwarding needs the async runtime".to_string())?;
        let connector =
            crate::tls::https_connector(settings.ca_file.as_deref(), settings.timeout, false)?;
        let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
        let lanes = (0..LANES)
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                runtime.spawn(lane(rx, client.clone(), settings.clone()));
                tx
            })
            .collect();
        Ok(Forwarder { lanes })
    }

    /// Queues a verified delivery; never waits.
    pub fn enqueue(&self, headers: &HeaderMap, body: Bytes, event: Option<&Value>) {
        let id = headers
            .get("svix-id")
            .or_else(|| headers.get("webhook-id"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let passed = PASSED
            .iter()
            .filter_map(|name| Some((HeaderName::from_static(name), headers.get(*name)?.clone())))
            .collect();
        let key = event.and_then(user_of).unwrap_or(&id);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let lane = usize::try_from(hasher.finish() % LANES as u64).unwrap_or(0);
        let delivery = Delivery {
            id,
            headers: passed,
            body,
            received: Instant::now(),
        };
        let Some(tx) = self.lanes.get(lane) else {
            return;
        };
        if let Err(e) = tx.try_send(delivery) {
            let id = match &e {
                mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d) => &d.id,
            };
            tracing::error!(event_id = %id, "webhook forward queue full; delivery dropped (replay it from Clerk's dashboard)");
        }
    }
}

/// The user an event is about, for ordering.
fn user_of(event: &Value) -> Option<&str> {
    let data = event.get("data")?;
    let kind = event.get("type")?.as_str()?;
    let user = if kind.starts_with("user.") {
        data.get("id")
    } else if kind.starts_with("session.") {
        data.get("user_id")
    } else {
        data.pointer("/public_user_data/user_id")
    };
    user?.as_str()
}

async fn lane(mut rx: mpsc::Receiver<Delivery>, client: HttpClient, settings: Forward) {
    while let Some(delivery) = rx.recv().await {
        deliver(&client, &settings, delivery).await;
    }
}

/// Sends one delivery until it is accepted or its time is up.
async fn deliver(client: &HttpClient, settings: &Forward, delivery: Delivery) {
    let deadline = delivery.received + settings.retry_for;
    let mut wait = settings.backoff;
    for attempt in 1u32.. {
        let outcome = attempt_once(client, settings, &delivery).await;
        match outcome {
            Ok(status) if status.is_success() => {
                tracing::info!(event_id = %delivery.id, attempt, "webhook forwarded");
                return;
            }
            Ok(status) => {
                tracing::warn!(event_id = %delivery.id, attempt, status = status.as_u16(), "webhook forward refused; will retry")
            }
            Err(e) => {
                tracing::warn!(event_id = %delivery.id, attempt, error = %e, "webhook forward failed; will retry")
            }
        }
        if Instant::now() + wait > deadline {
            tracing::error!(event_id = %delivery.id, attempt, "webhook forward given up (forward_retry_for passed); replay it from Clerk's dashboard");
            return;
        }
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2).min(Duration::from_secs(60));
    }
}

async fn attempt_once(
    client: &HttpClient,
    settings: &Forward,
    delivery: &Delivery,
) -> Result<http::StatusCode, String> {
    let mut req = Request::post(&settings.url)
        .header(
            http::header::USER_AGENT,
            concat!("doorman/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(delivery.body.clone()))
        .map_err(|e| e.to_string())?;
    for (name, value) in &delivery.headers {
        req.headers_mut().insert(name.clone(), value.clone());
    }
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        // Read (and drop) the answer so the connection can be reused.
        let _ = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
            .collect()
            .await;
        Ok(status)
    };
    tokio::time::timeout(settings.timeout, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {:?}", settings.timeout)))
}
