//! Why an upstream exchange failed: the error, its reason and metric kind, and how a
//! hyper or connector error is classified.

use crate::reason::Reason;

/// Why an upstream exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamError {
    /// Connection refused, reset or unreachable (502).
    Unreachable,
    /// No response head within the timeout (504).
    Timeout,
    /// The exchange broke after connecting (502).
    Failed,
    /// A 101 the request did not ask for, or for a protocol that was not forwarded (502).
    /// The upstream connection is closed, never pooled or spliced.
    UnexpectedUpgrade,
    /// The client's body passed the route's `max_body_bytes` while streaming (413).
    BodyTooLarge,
    /// The client's body was malformed or broke off (400): not the upstream's fault.
    ClientBody,
    /// The client sent its body slower than `[limits] request_body_min_rate` (408).
    BodyTooSlow,
}

/// Classifies a failed exchange: the body limit, or a broken exchange.
pub(super) fn failure(e: &hyper::Error) -> UpstreamError {
    if crate::body::is_too_large(e) {
        UpstreamError::BodyTooLarge
    } else if crate::body::is_too_slow(e) {
        UpstreamError::BodyTooSlow
    } else if crate::body::is_client_body(e) {
        UpstreamError::ClientBody
    } else {
        UpstreamError::Failed
    }
}

impl UpstreamError {
    /// The stable reason id.
    pub fn reason(self) -> Reason {
        match self {
            UpstreamError::Unreachable => Reason::UpstreamUnreachable,
            UpstreamError::Timeout => Reason::UpstreamTimeout,
            UpstreamError::Failed => Reason::UpstreamFailed,
            UpstreamError::UnexpectedUpgrade => Reason::UpstreamUnexpectedUpgrade,
            UpstreamError::BodyTooLarge => Reason::BodyTooLarge,
            UpstreamError::ClientBody => Reason::BodyInvalid,
            UpstreamError::BodyTooSlow => Reason::BodyTooSlow,
        }
    }

    /// The `kind` label of `doorman_upstream_errors_total`.
    pub fn kind(self) -> &'static str {
        match self {
            UpstreamError::Unreachable => "connect",
            UpstreamError::Timeout => "timeout",
            UpstreamError::Failed => "protocol",
            UpstreamError::UnexpectedUpgrade => "unexpected_upgrade",
            UpstreamError::BodyTooLarge => "body_too_large",
            UpstreamError::ClientBody => "client_body",
            UpstreamError::BodyTooSlow => "body_too_slow",
        }
    }
}

/// True when the failure was a connect timeout somewhere down the error chain.
pub(super) fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
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
