//! Keep-alive connection pools for the configured upstreams, with connect and response
//! timeouts.
//!
//! One pool per upstream: idle HTTP/1.1 connections (hyper's `client::conn`, connected
//! through hyper-rustls so `https://` upstreams work too), reused in the configured order
//! (oldest idle first by default), retired after an idle timeout or a maximum age, and
//! dropped when DNS stops returning their address ([`pool`], [`maintain`]), at most
//! [`MAX_IDLE_PER_UPSTREAM`] kept. A connection goes back to the pool when the response body
//! has been read to its end (a body dropped half-way closes it instead), so no task is
//! spawned per request and no pool key is hashed, and its I/O is driven by the request's
//! own task rather than a task per connection ([`conn`]); a request that an idle connection closed
//! under it before sending is retried once on a new one. A failure is classified once, here:
//! refused or unreachable (502), no response head in time (504), a broken exchange (502),
//! or an unsolicited 101 on a pooled connection (502, the connection closed).
//! Bodies stream both ways; nothing here buffers them.
//!
//! This replaces hyper-util's legacy client on the hot path: profiling showed its pool
//! (SipHash of the pool key, a lock, a lazily built connect future, a task spawned per
//! request to return the connection) costing more than doorman's whole auth decision.

mod body;
pub mod chunked;
mod conn;
mod error;
mod maintain;
pub mod pool;
pub mod raw;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use http::header::HOST;
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{Connection, HttpConnector, HttpInfo};
use prometheus_client::metrics::histogram::Histogram;
use tower_service::Service;

use crate::config::{Scheme, Upstream};
use crate::metrics::{status_class, Metrics, UpstreamLabels};
pub use body::UpstreamBody;
use conn::{Conn, PooledBody};
pub use error::UpstreamError;
use error::{failure, timed_out};
use pool::{Lease, Pool};
use raw::RawConn;

/// Idle connections kept per upstream: enough for a thousand requests in flight to find a
/// warm connection (beyond that, connections are closed after use rather than kept), few
/// enough that idle buffers stay in the tens of MiB.
pub const MAX_IDLE_PER_UPSTREAM: usize = 1024;

/// What goes upstream: the client's body, scanned for method overrides when it is a form.
type RequestBody = crate::method_override::ScannedBody;
type Io = hyper_rustls::MaybeHttpsStream<hyper_util::rt::TokioIo<tokio::net::TcpStream>>;

/// Pools for every upstream of one config, by index.
pub struct Upstreams {
    targets: Vec<Arc<Target>>,
}

/// One upstream: where it is, how to reach it, its idle connections and its metric handles.
struct Target {
    name: Arc<str>,
    /// `scheme://authority`, what the connector dials.
    base: Uri,
    /// The authority, for requests that arrive without any `Host`.
    host: Option<HeaderValue>,
    path_prefix: String,
    timeout: Duration,
    connector: HttpsConnector<HttpConnector>,
    idle: Mutex<Pool<Conn>>,
    /// Idle plain connections of bodiless exchanges ([`raw`]); `None` for `https://`.
    raw_idle: Option<Mutex<Pool<RawConn>>>,
    /// The addresses the upstream's host resolved to at the last re-resolution (`None`
    /// until then, or for an IP literal): connections to others are not pooled again.
    addresses: Mutex<Option<Vec<SocketAddr>>>,
    /// How often the host is resolved again (`None`: never).
    resolve_every: Option<Duration>,
    /// `doorman_upstream_duration_seconds` by status class (1xx … 5xx), made on first use.
    durations: [OnceLock<Histogram>; 5],
    metrics: Arc<Metrics>,
}

impl Upstreams {
    /// Builds one pool per upstream; nothing connects until the first request.
    pub fn new(upstreams: &[Upstream], metrics: &Arc<Metrics>) -> Result<Self, String> {
        let targets: Vec<Arc<Target>> = upstreams
            .iter()
            .map(|u| Target::new(u, metrics.clone()).map(Arc::new))
            .collect::<Result<_, _>>()?;
        for target in &targets {
            maintain::spawn(target);
        }
        Ok(Upstreams { targets })
    }

    /// Sends `req` (a prepared head, see `forward::prepare`) to upstream `index` and waits
    /// for the response head.
    pub async fn send(
        &self,
        index: usize,
        mut req: Request<RequestBody>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let Some(target) = self.targets.get(index) else {
            return Err(UpstreamError::Unreachable);
        };
        target.address(&mut req)?;
        // Bodiless requests to plain upstreams time themselves (one timer per connection).
        if target.raw_idle.is_some() && hyper::body::Body::is_end_stream(req.body()) {
            return target.exchange_raw(req).await;
        }
        match tokio::time::timeout(target.timeout, target.exchange(req)).await {
            Err(_) => Err(UpstreamError::Timeout),
            Ok(result) => result,
        }
    }

    /// Sends an upgrade request (`Connection: upgrade`) to upstream `index` on a connection
    /// of its own and waits for the response head (101 when the upstream switches).
    pub async fn send_upgrade(
        &self,
        index: usize,
        mut req: Request<RequestBody>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let Some(target) = self.targets.get(index) else {
            return Err(UpstreamError::Unreachable);
        };
        target.address(&mut req)?;
        match tokio::time::timeout(target.timeout, target.exchange_upgrade(req)).await {
            Err(_) => Err(UpstreamError::Timeout),
            Ok(result) => result,
        }
    }

    /// Records one response of upstream `index` in `doorman_upstream_duration_seconds`.
    pub fn observe(&self, index: usize, status: u16, seconds: f64) {
        if let Some(target) = self.targets.get(index) {
            target.observe(status, seconds);
        }
    }

    /// Idle connections currently pooled for upstream `index` (tests, benches).
    pub fn idle_connections(&self, index: usize) -> usize {
        self.targets.get(index).map_or(0, |t| {
            t.lock_idle().len() + t.lock_raw().map_or(0, |p| p.len())
        })
    }
}

impl Target {
    fn new(u: &Upstream, metrics: Arc<Metrics>) -> Result<Target, String> {
        // HTTP/1.1 only: the pool speaks HTTP/1.1 on every connection it dials.
        let connector = crate::tls::https_connector(u.ca_file.as_deref(), u.connect_timeout, false)
            .map_err(|e| format!("upstream {:?} (ca_file): {e}", u.name))?;
        let scheme = match u.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let base = Uri::builder()
            .scheme(scheme)
            .authority(u.authority.as_str())
            .path_and_query("/")
            .build()
            .unwrap_or_default();
        Ok(Target {
            name: u.name.clone(),
            base,
            host: HeaderValue::from_str(&u.authority).ok(),
            path_prefix: u.path_prefix.clone(),
            timeout: u.timeout,
            connector,
            idle: Mutex::new(Pool::new(u.pool)),
            raw_idle: (u.scheme == Scheme::Http).then(|| Mutex::new(Pool::new(u.pool))),
            addresses: Mutex::new(None),
            resolve_every: u.resolve_every,
            durations: Default::default(),
            metrics,
        })
    }

    /// Origin-form target (`/prefix/path?query`) and a `Host` if the client sent none.
    fn address(&self, req: &mut Request<RequestBody>) -> Result<(), UpstreamError> {
        let uri = req.uri();
        if uri.scheme().is_some() || uri.authority().is_some() || !self.path_prefix.is_empty() {
            let pq = uri.path_and_query().map_or("/", PathAndQuery::as_str);
            let target = if self.path_prefix.is_empty() {
                PathAndQuery::try_from(pq)
            } else {
                PathAndQuery::try_from(format!("{}{pq}", self.path_prefix))
            };
            *req.uri_mut() = Uri::from(target.map_err(|_| UpstreamError::Failed)?);
        }
        if !req.headers().contains_key(HOST) {
            if let Some(host) = &self.host {
                req.headers_mut().insert(HOST, host.clone());
            }
        }
        Ok(())
    }

    /// One exchange: an idle connection if one is usable, else a new one (bodiless requests
    /// to plain upstreams take doorman's own exchange instead, [`raw`]).
    async fn exchange(
        self: &Arc<Self>,
        mut req: Request<RequestBody>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        while let Some(mut lease) = self.take_idle() {
            if !lease.conn.ready().await {
                continue; // closed while idle
            }
            let sent = lease.conn.sender.try_send_request(req);
            match lease.conn.until(sent).await {
                Some(Ok(resp)) => return self.lease(resp, lease),
                Some(Err(mut e)) => match e.take_message() {
                    // Never written: the connection died under us; try another.
                    Some(unsent) => req = unsent,
                    None => return Err(failure(e.error())),
                },
                None => return Err(UpstreamError::Failed),
            }
        }
        // Boxed: dialling holds the socket, TLS state and hyper's handshake by value, which
        // would make every request's future (moved whole into hyper's connection task) that
        // much larger for a step most requests skip.
        let mut lease = Box::pin(self.connect()).await?;
        if !lease.conn.ready().await {
            return Err(UpstreamError::Failed);
        }
        let sent = lease.conn.sender.send_request(req);
        match lease.conn.until(sent).await {
            Some(Ok(resp)) => self.lease(resp, lease),
            Some(Err(e)) => Err(failure(&e)),
            None => Err(UpstreamError::Failed),
        }
    }

    /// A connection of its own for an upgrade (WebSocket): after a 101 the upstream side of
    /// the tunnel is taken from the response with `hyper::upgrade::on`. The caller checks the
    /// 101 (`tunnel::switched_to`); dropping the response instead closes the connection.
    async fn exchange_upgrade(
        &self,
        req: Request<RequestBody>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let (mut sender, conn, _) = Box::pin(self.handshake()).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream upgrade connection ended with an error");
            }
        });
        if sender.ready().await.is_err() {
            return Err(UpstreamError::Failed);
        }
        sender.send_request(req).await.map_err(|e| failure(&e))
    }

    /// Dials the upstream (TCP, TLS for `https://`) and does the HTTP/1.1 handshake; the
    /// caller drives the connection (pooled, or with upgrades).
    async fn handshake(
        &self,
    ) -> Result<
        (
            http1::SendRequest<RequestBody>,
            http1::Connection<Io, RequestBody>,
            Option<SocketAddr>,
        ),
        UpstreamError,
    > {
        let (io, addr) = self.dial().await?;
        let (sender, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|_| UpstreamError::Unreachable)?;
        Ok((sender, conn, addr))
    }

    /// Dials the upstream: TCP, and TLS for `https://`.
    async fn dial(&self) -> Result<(Io, Option<SocketAddr>), UpstreamError> {
        let mut connector = self.connector.clone();
        let classify = |e: Box<dyn std::error::Error + Send + Sync>| {
            if timed_out(&*e) {
                UpstreamError::Timeout
            } else {
                UpstreamError::Unreachable
            }
        };
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(classify)?;
        let io = connector.call(self.base.clone()).await.map_err(classify)?;
        let addr = remote_addr(&io);
        Ok((io, addr))
    }

    /// A new pooled connection: dialled and handshaken; its I/O is driven by its user.
    async fn connect(&self) -> Result<Lease<Conn>, UpstreamError> {
        let (sender, driver, addr) = self.handshake().await?;
        Ok(Lease {
            conn: Conn::new(sender, driver),
            created: Instant::now(),
            addr,
        })
    }

    /// The response with its connection leased to the body, or an error for a 101: this path
    /// never sends `Upgrade`, so a switch is unsolicited (RFC 9110 §15.2.2: a server switches
    /// only to a protocol the client listed in `Upgrade`). The connection is dropped with it,
    /// so whatever the upstream sends next is never read as a response.
    fn lease(
        self: &Arc<Self>,
        resp: Response<Incoming>,
        lease: Lease<Conn>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
            return Err(UpstreamError::UnexpectedUpgrade);
        }
        Ok(resp.map(|inner| UpstreamBody::Hyper(PooledBody::new(inner, lease, self.clone()))))
    }

    fn take_raw(&self) -> Option<Lease<RawConn>> {
        self.lock_raw()?.take(Instant::now())
    }

    /// Pools a plain connection whose response ended cleanly (see [`Target::release`]).
    fn release_raw(&self, lease: Lease<RawConn>) {
        if !self.address_current(lease.addr) {
            return;
        }
        if let Some(mut pool) = self.lock_raw() {
            pool.put(lease, Instant::now());
        }
    }

    fn lock_raw(&self) -> Option<std::sync::MutexGuard<'_, Pool<RawConn>>> {
        let pool = self.raw_idle.as_ref()?;
        Some(pool.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn take_idle(&self) -> Option<Lease<Conn>> {
        self.lock_idle().take(Instant::now())
    }

    /// Pools a connection after a complete response, unless it closed, its address left
    /// DNS, it is past its age or the pool is full (then dropping it closes it).
    fn release(&self, lease: Lease<Conn>) {
        if lease.conn.sender.is_closed() || !self.address_current(lease.addr) {
            return;
        }
        self.lock_idle().put(lease, Instant::now());
    }

    fn address_current(&self, addr: Option<SocketAddr>) -> bool {
        let (Some(addr), Ok(current)) = (addr, self.addresses.lock()) else {
            return true;
        };
        current.as_ref().is_none_or(|list| list.contains(&addr))
    }

    fn lock_idle_settings(&self) -> pool::PoolSettings {
        self.lock_idle().settings()
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Pool<Conn>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn observe(&self, status: u16, seconds: f64) {
        let class = status_class(status);
        let slot = match class {
            "1xx" => 0,
            "2xx" => 1,
            "3xx" => 2,
            "4xx" => 3,
            _ => 4,
        };
        let histogram = self.durations[slot].get_or_init(|| {
            self.metrics
                .upstream_duration
                .get_or_create_owned(&UpstreamLabels {
                    upstream: self.name.clone(),
                    status_class: class,
                })
        });
        histogram.observe(seconds);
    }
}

/// The peer address of a freshly dialled connection, when the connector reports it.
fn remote_addr(io: &Io) -> Option<SocketAddr> {
    let mut extras = http::Extensions::new();
    io.connected().get_extras(&mut extras);
    extras.get::<HttpInfo>().map(HttpInfo::remote_addr)
}
