//! The cost per request of the revocation check (issue: Clerk webhooks at the edge):
//! an empty set (the common case, skipped by a counter), and sets of 10 / 10,000 / 100,000
//! revoked sessions and stale users where the checked token matches nothing.

use std::sync::Arc;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use doorman::revocation::{Entry, Kind, Revocations};
use doorman::token::claims::Identity;

fn identity() -> Identity {
    Identity {
        user_id: "user_2abcdefghijklmnopqrstuvwxyz".into(),
        session_id: "sess_2abcdefghijklmnopqrstuvwxyz".into(),
        onboarding_complete: true,
        expires_at: 2_000_000_060,
        issued_at: Some(2_000_000_000),
        ..Identity::default()
    }
}

fn filled(n: usize) -> Revocations {
    let r = Revocations::new(120);
    for i in 0..n {
        let kind = if i % 2 == 0 {
            Kind::Session
        } else {
            Kind::Stale
        };
        let id = if kind == Kind::Session {
            format!("sess_{i:026}")
        } else {
            format!("user_{i:026}")
        };
        r.apply(
            &Entry {
                kind,
                id,
                at_ms: 1_999_999_000_000,
                expires_at: 2_000_000_100,
            },
            2_000_000_000,
        );
    }
    r
}

fn bench(c: &mut Criterion) {
    let who = Arc::new(identity());
    let mut group = c.benchmark_group("revocation_check");
    for n in [0usize, 10, 10_000, 100_000] {
        let set = filled(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| set.check(black_box(&who), black_box(2_000_000_001)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
