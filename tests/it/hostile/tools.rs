//! Raw-socket helpers of the hostile suite (and the soak binary): write bytes an HTTP client
//! would refuse to send, read until the server closes or a deadline, pick the answer apart.
//! Everything else (requests with `.bearer()`, claims, `NOW`, outcome checks) is the shared
//! kit in `crate::support`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What came back on one raw connection.
#[derive(Debug)]
pub struct RawAnswer {
    /// Everything the server sent, lossily decoded.
    pub text: String,
    /// The server closed the connection (rather than the deadline passing).
    pub closed: bool,
    pub elapsed: Duration,
}

impl RawAnswer {
    /// The status code of the first response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        self.text
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| self.text.strip_prefix("HTTP/1.0 "))
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
    }

    /// How many response status lines arrived (a second one means a second request was
    /// parsed out of what the client sent).
    pub fn responses(&self) -> usize {
        self.text.matches("HTTP/1.1 ").count()
    }

    /// The JSON reason of the first response, if its body is a doorman JSON error.
    pub fn reason(&self) -> String {
        let body = self.text.split("\r\n\r\n").nth(1).unwrap_or("");
        serde_json::from_str::<Value>(body.lines().next().unwrap_or(""))
            .ok()
            .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    }

    /// A header of the first response (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.text.split("\r\n\r\n").next().unwrap_or("");
        head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Writes `bytes` on a new connection and reads until the server closes or `deadline`.
pub async fn raw(addr: SocketAddr, bytes: &[u8], deadline: Duration) -> RawAnswer {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before everything is written: that is fine.
    let _ = stream.write_all(bytes).await;
    let (text, closed) = read_until_close(&mut stream, started + deadline).await;
    RawAnswer {
        text,
        closed,
        elapsed: started.elapsed(),
    }
}

/// Reads from `stream` until EOF/reset (`true`) or `deadline` (`false`).
pub async fn read_until_close(stream: &mut TcpStream, deadline: Instant) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > 4 << 20 {
                    break false;
                }
            }
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}
