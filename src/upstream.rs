//! Pooled HTTP clients for the configured upstreams, with connect and response timeouts.
//!
//! One keep-alive pool per upstream (hyper-util's legacy client over hyper-rustls, so
//! `https://` upstreams work too). A failure is classified once, here: refused or
//! unreachable (502), no response head in time (504), or a broken exchange (502). Bodies
//! stream both ways; nothing here buffers them.

use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::config::Upstream;
use crate::decision::reason;

/// Why an upstream exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamError {
    /// Connection refused, reset or unreachable (502).
    Unreachable,
    /// No response head within the timeout (504).
    Timeout,
    /// The exchange broke after connecting (502).
    Failed,
}

impl UpstreamError {
    /// The stable reason id.
    pub fn reason(self) -> &'static str {
        match self {
            UpstreamError::Unreachable => reason::UPSTREAM_UNREACHABLE,
            UpstreamError::Timeout => reason::UPSTREAM_TIMEOUT,
            UpstreamError::Failed => reason::UPSTREAM_FAILED,
        }
    }

    /// The `kind` label of `doorman_upstream_errors_total`.
    pub fn kind(self) -> &'static str {
        match self {
            UpstreamError::Unreachable => "connect",
            UpstreamError::Timeout => "timeout",
            UpstreamError::Failed => "protocol",
        }
    }
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Incoming>;

/// Clients for every upstream of one config, by index.
pub struct Upstreams {
    clients: Vec<(HttpClient, Duration)>,
}

impl Upstreams {
    /// Builds one pooled client per upstream.
    pub fn new(upstreams: &[Upstream]) -> Self {
        let clients = upstreams
            .iter()
            .map(|u| {
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_connect_timeout(Some(u.connect_timeout));
                http.set_nodelay(true);
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_webpki_roots()
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http);
                let client = Client::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    .pool_idle_timeout(Duration::from_secs(90))
                    .pool_max_idle_per_host(256)
                    .build(https);
                (client, u.timeout)
            })
            .collect();
        Upstreams { clients }
    }

    /// Sends `req` to upstream `index` and waits for the response head.
    pub async fn send(
        &self,
        index: usize,
        req: Request<Incoming>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let Some((client, timeout)) = self.clients.get(index) else {
            return Err(UpstreamError::Unreachable);
        };
        match tokio::time::timeout(*timeout, client.request(req)).await {
            Err(_) => Err(UpstreamError::Timeout),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) if timed_out(&e) => Err(UpstreamError::Timeout),
            Ok(Err(e)) if e.is_connect() => Err(UpstreamError::Unreachable),
            Ok(Err(_)) => Err(UpstreamError::Failed),
        }
    }
}

/// True when the failure was a connect timeout somewhere down the error chain.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = err.source();
    }
    false
}
