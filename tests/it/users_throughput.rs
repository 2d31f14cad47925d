//! The throughput of `users sync` against the fake Backend API at Clerk's production rate
//! limit, against the limit's theoretical maximum. A measurement, not a check: ignored by
//! default, run by name (the command is in docs/users.md#throughput).

use std::time::Duration;

use doorman::users::layout::Layout;
use doorman::users::progress::{Mode, Progress};
use doorman::users::sync::{self, Options};

use crate::support::bapi::{FakeBapi, Faults};
use crate::users_sync::{api, config, never, populate};

/// The throughput of `users sync` at Clerk's production limit (1,000 requests per 10 s),
/// every answer taking 50 ms, against the limit's theoretical maximum. Takes about a minute:
/// `cargo test --test it users_throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a one-minute measurement; run it by name with --ignored --nocapture"]
async fn throughput_at_clerks_production_rate_limit() {
    let window = Duration::from_secs(10);
    let fake = FakeBapi::start(Faults {
        slow_every: 1,
        slow: Duration::from_millis(50),
        ..Faults::polite(1000, window)
    })
    .await;
    let n = 5000;
    let records = populate(&fake, n);
    let config = config("");
    let layout = Layout::new(&config.claims, &config.users).unwrap();
    let api = api(&fake, 1000, window);
    let options = Options {
        concurrency: 10,
        dry_run: false,
        report: None,
        resume: None,
    };
    let start = std::time::Instant::now();
    let summary = sync::run(
        &api,
        &layout,
        records,
        &options,
        &mut Progress::new(Mode::Lines, n),
        &mut std::io::sink(),
        never(),
    )
    .await
    .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(summary.succeeded + summary.unchanged, n);
    let since = |times: Vec<std::time::Instant>| {
        let late = times.iter().filter(|t| (**t - start).as_secs_f64() >= 10.0);
        late.count() as f64 / (seconds - 10.0)
    };
    let writes = since(fake.counts(|c| c.patch_times.clone()));
    let requests = since(fake.counts(|c| c.accepted_times.clone()));
    // Each written user costs one PATCH plus a hundredth of a list request; a tenth of the
    // users are unchanged and cost only their share of the list.
    let per_user = summary.requests as f64 / n as f64;
    let allowed = (1000.0 + 100.0 * (seconds - 10.0)) / per_user / seconds;
    let rate = n as f64 / seconds;
    println!("users sync at Clerk's production limit (1000 requests/10 s), 50 ms per answer, concurrency 10:");
    println!("  {n} users in {seconds:.1}s: {rate:.1} users/s (with every user written the limit's maximum is 100 users/s)");
    println!("  at {per_user:.3} requests per user (a tenth unchanged) the limit allows {allowed:.1} users/s over {seconds:.1}s: {:.0}% reached", 100.0 * rate / allowed);
    println!("  after the first window: {requests:.1} requests/s of the 100 allowed ({writes:.1} writes/s)");
    println!(
        "  {} requests, {} met a 429 (client and fake see the window a little apart)",
        summary.requests, summary.rate_limited
    );
    println!(
        "  fake: at most {} requests in one window, {} in flight",
        fake.counts(|c| c.max_in_window),
        fake.counts(|c| c.max_in_flight)
    );
}
