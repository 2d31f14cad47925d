//! The label sets of doorman's metric families: fixed values or names from the config,
//! never a raw path, token, user id or header value.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;

/// `route` + `decision`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteDecision {
    pub route: Arc<str>,
    pub decision: &'static str,
}

/// `result`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

/// `kind`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

/// `upstream` + `status_class`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub upstream: Arc<str>,
    pub status_class: &'static str,
}

/// `version`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabel {
    pub version: &'static str,
}

/// `hash` of the loaded config.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HashLabel {
    pub hash: String,
}

/// `event` + `result`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventResult {
    pub event: &'static str,
    pub result: &'static str,
}

/// `upstream` + `kind`: `doorman_upstream_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamKind {
    pub upstream: Arc<str>,
    pub kind: &'static str,
}

/// `route` + `decision` + `mode` of `doorman_requests_total` and its duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: Arc<str>,
    pub decision: &'static str,
    /// [`RequestMode::label`]: `inline` (proxied) or `forward_auth` (another proxy asked).
    pub mode: &'static str,
}

/// How a request reached doorman: through the public listener (decided and forwarded) or as
/// a forward-auth call from another proxy (decided and answered).
#[derive(Clone, Copy, Debug, Default, Hash, PartialEq, Eq)]
pub enum RequestMode {
    #[default]
    Inline,
    ForwardAuth,
}

impl RequestMode {
    /// Every mode, in slot order.
    pub const ALL: [RequestMode; 2] = [RequestMode::Inline, RequestMode::ForwardAuth];

    /// The `mode` label value.
    pub const fn label(self) -> &'static str {
        match self {
            RequestMode::Inline => "inline",
            RequestMode::ForwardAuth => "forward_auth",
        }
    }
}

/// `user_type` + `field`: both bounded by `[claims.onboarding_requires]`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeField {
    pub user_type: String,
    pub field: String,
}
