//! Per-route request metrics without hashing on the hot path, and the status class label.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use super::{Metrics, RequestLabels, RequestMode};

/// Every `decision` label value, in [`decision_slot`] order.
const DECISIONS: [&str; crate::decision::Decision::LABELS.len()] =
    crate::decision::Decision::LABELS;

fn decision_slot(decision: &str) -> Option<usize> {
    DECISIONS.iter().position(|d| *d == decision)
}

type Handles = (Counter, Histogram);

/// Slots per route: one per decision and mode.
const SLOTS: usize = DECISIONS.len() * RequestMode::ALL.len();

/// The request counter and duration histogram of every route of one config, by route name,
/// decision and mode, each created on first use (so `/metrics` shows only sets that happened).
pub struct RouteMetrics {
    metrics: Arc<Metrics>,
    routes: HashMap<Arc<str>, [OnceLock<Handles>; SLOTS], foldhash::fast::RandomState>,
}

impl RouteMetrics {
    /// Slots for `names` (the routes, the defaults, `invalid`); others fall back to a lookup.
    pub fn new<'a>(metrics: Arc<Metrics>, names: impl IntoIterator<Item = &'a Arc<str>>) -> Self {
        let routes = names
            .into_iter()
            .map(|name| (name.clone(), Default::default()))
            .collect();
        RouteMetrics { metrics, routes }
    }

    /// Records one finished request.
    pub fn record(
        &self,
        route: &Arc<str>,
        decision: &'static str,
        mode: RequestMode,
        seconds: f64,
    ) {
        let offset = mode as usize * DECISIONS.len();
        let slot = decision_slot(decision).and_then(|d| {
            self.routes
                .get(&**route)
                .and_then(|slots| slots.get(offset + d))
        });
        let Some(slot) = slot else {
            self.metrics.record_request(route, decision, mode, seconds);
            return;
        };
        let (count, duration) = slot.get_or_init(|| {
            let labels = RequestLabels {
                route: route.clone(),
                decision,
                mode: mode.label(),
            };
            (
                self.metrics.requests.get_or_create_owned(&labels),
                self.metrics.request_duration.get_or_create_owned(&labels),
            )
        });
        count.inc();
        duration.observe(seconds);
    }
}

/// `1xx`…`5xx` for a status code.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
