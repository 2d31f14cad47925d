//! A JWKS endpoint the tests control: serve keys, rotate them, fail with a status, hang,
//! answer HTML or a huge body, and count every hit.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use doorman::dev::mint::{jwks_json, SigningKey};
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

/// What the endpoint does on the next hits.
#[derive(Clone, Debug)]
pub enum Mode {
    /// 200 with the current key set.
    Serve,
    /// This status with a short body.
    Status(u16),
    /// Never answers.
    Hang,
    /// 200 with an HTML page.
    Html,
    /// 200 with this many bytes of JSON-looking garbage.
    Huge(usize),
}

struct State {
    body: String,
    mode: Mode,
    cache_control: Option<String>,
}

/// The controllable JWKS server.
#[derive(Clone)]
pub struct JwksServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    /// Serves `keys` (key, kid) on a free loopback port.
    pub async fn start(keys: &[(&SigningKey, &str)]) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind jwks");
        let addr = listener.local_addr().expect("addr");
        let server = JwksServer {
            addr,
            state: Arc::new(Mutex::new(State {
                body: jwks_json(keys),
                mode: Mode::Serve,
                cache_control: None,
            })),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        let s = s.clone();
                        async move { s.answer().await }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    /// Replaces the served key set.
    pub fn set_keys(&self, keys: &[(&SigningKey, &str)]) {
        self.state.lock().unwrap().body = jwks_json(keys);
    }

    /// Replaces the served body verbatim.
    pub fn set_body(&self, body: &str) {
        self.state.lock().unwrap().body = body.to_string();
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Sends this `Cache-Control` with successful answers.
    pub fn set_cache_control(&self, value: &str) {
        self.state.lock().unwrap().cache_control = Some(value.to_string());
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    async fn answer(&self) -> Result<Response<Full<Bytes>>, Infallible> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        let (mode, body, cache_control) = {
            let st = self.state.lock().unwrap();
            (st.mode.clone(), st.body.clone(), st.cache_control.clone())
        };
        let (status, body, ctype) = match mode {
            Mode::Serve => (200, body, "application/json"),
            Mode::Status(code) => (code, "{\"error\":\"down\"}".to_string(), "application/json"),
            Mode::Hang => {
                std::future::pending::<()>().await;
                unreachable!()
            }
            Mode::Html => (
                200,
                "<html><body>Maintenance</body></html>".to_string(),
                "text/html",
            ),
            Mode::Huge(n) => (
                200,
                format!("{{\"keys\":[\"{}\"]}}", "x".repeat(n)),
                "application/json",
            ),
        };
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        resp.headers_mut()
            .insert("content-type", ctype.parse().unwrap());
        if let (Some(cc), 200) = (cache_control, status) {
            resp.headers_mut()
                .insert("cache-control", cc.parse().unwrap());
        }
        Ok(resp)
    }
}
