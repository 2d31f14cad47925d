//! A fake Clerk Frontend API and Backend API on loopback, implementing the handshake as
//! documented: `/v1/client/handshake` sends the browser back to `redirect_url` with a nonce;
//! `/v1/clients/handshake_payload?nonce=` (Bearer secret key) answers the cookie directives
//! once per nonce.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

pub const SECRET_KEY: &str = "sk_test_fakesecret";

#[derive(Default)]
struct State {
    /// Directives the next handshake hands out.
    next: Vec<String>,
    /// Unused nonces and their directives.
    nonces: HashMap<String, Vec<String>>,
    /// Query strings of every handshake request.
    handshakes: Vec<String>,
}

#[derive(Clone)]
pub struct FakeClerk {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    exchanges: Arc<AtomicUsize>,
}

impl FakeClerk {
    pub async fn start() -> FakeClerk {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeClerk {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
            exchanges: Arc::default(),
        };
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let f = f.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let f = f.clone();
                        async move { Ok::<_, Infallible>(f.answer(req)) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The cookie directives the next handshake hands out.
    pub fn set_next_directives(&self, directives: Vec<String>) {
        self.state.lock().unwrap().next = directives;
    }

    /// Makes `nonce` exchangeable (once) for `directives`.
    pub fn add_nonce(&self, nonce: &str, directives: Vec<String>) {
        self.state
            .lock()
            .unwrap()
            .nonces
            .insert(nonce.to_string(), directives);
    }

    pub fn handshakes(&self) -> Vec<String> {
        self.state.lock().unwrap().handshakes.clone()
    }

    pub fn exchanges(&self) -> usize {
        self.exchanges.load(Ordering::SeqCst)
    }

    fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let query = req.uri().query().unwrap_or("").to_string();
        let param = |name: &str| {
            query.split('&').find_map(|p| {
                let (k, v) = p.split_once('=')?;
                (k == name).then(|| {
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned()
                })
            })
        };
        match req.uri().path() {
            "/v1/client/handshake" => {
                let mut st = self.state.lock().unwrap();
                st.handshakes.push(query.clone());
                let Some(back) = param("redirect_url") else {
                    return reply(StatusCode::BAD_REQUEST, "missing redirect_url");
                };
                if param("format").as_deref() != Some("nonce") {
                    return reply(StatusCode::BAD_REQUEST, "format must be nonce");
                }
                let nonce = format!("nonce{}", st.handshakes.len());
                let directives = st.next.clone();
                st.nonces.insert(nonce.clone(), directives);
                let sep = if back.contains('?') { '&' } else { '?' };
                let mut resp = reply(StatusCode::TEMPORARY_REDIRECT, "");
                resp.headers_mut().insert(
                    "location",
                    format!("{back}{sep}__clerk_handshake_nonce={nonce}")
                        .parse()
                        .unwrap(),
                );
                resp
            }
            "/v1/clients/handshake_payload" => {
                self.exchanges.fetch_add(1, Ordering::SeqCst);
                let auth = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                if auth != Some(&format!("Bearer {SECRET_KEY}")) {
                    return reply(
                        StatusCode::UNAUTHORIZED,
                        "{\"errors\":[{\"code\":\"authentication_invalid\"}]}",
                    );
                }
                let directives =
                    param("nonce").and_then(|n| self.state.lock().unwrap().nonces.remove(&n));
                match directives {
                    Some(d) => reply(
                        StatusCode::OK,
                        &serde_json::json!({ "directives": d }).to_string(),
                    ),
                    None => reply(
                        StatusCode::BAD_REQUEST,
                        "{\"errors\":[{\"code\":\"invalid_nonce\"}]}",
                    ),
                }
            }
            _ => reply(StatusCode::NOT_FOUND, "not found"),
        }
    }
}

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp
}
