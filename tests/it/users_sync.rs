//! `doorman users sync` against the fake Backend API: 2,000 users through rate limits,
//! throttling, lost answers and slow answers end exactly as the input says with an exact
//! report; a dry run writes nothing; an interrupted run resumes without writing anyone twice.

use std::time::Duration;

use doorman::config::Config;
use doorman::users::client::{Api, Policy, SecretKey};
use doorman::users::input::{self, Record};
use doorman::users::layout::Layout;
use doorman::users::limiter::{Backoff, RateLimit};
use doorman::users::progress::{Mode, Progress};
use doorman::users::report::{Kind, Outcome, Summary};
use doorman::users::sync::{self, Options};
use serde_json::{json, Value};

use crate::support::bapi::{FakeBapi, Faults, SECRET_KEY};
use crate::support::process::temp_dir;
use crate::support::BASE_CONFIG;

/// The test config's `[users]` section (the claims pointers are BASE_CONFIG's).
pub const USERS: &str = r#"
[users]
onboarding_step = "/metadata/onboarding/step"
onboarding_total_steps = "/metadata/onboarding/totalSteps"
organization = "/metadata/organization"

[users.types.freelancer]
roles = [{ name = "freelancer", permissions = ["view_project"] }]
feature_flags = { advanced_search = false }
onboarding_status = "not_started"
onboarding_step = 0
onboarding_total_steps = 4
active = true
metadata = { freelancer = { tier = "new", verified = false } }

[users.types.customer]
roles = ["customer_member"]
onboarding_status = "not_started"
onboarding_step = 0
onboarding_total_steps = 2
active = true
"#;

pub fn config(extra: &str) -> Config {
    let text = format!("{BASE_CONFIG}\n{USERS}\n{extra}");
    Config::parse(&text, "test config", &|name| match name {
        "JWKS_URL" => Some("http://127.0.0.1:9/jwks.json".into()),
        "UPSTREAM_URL" => Some("http://127.0.0.1:9".into()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("test config invalid: {e}"))
}

/// A client pacing itself at `limit` per `window`, retrying fast.
pub fn api(fake: &FakeBapi, limit: u32, window: Duration) -> Api {
    let policy = Policy {
        rate: RateLimit {
            requests: limit,
            per: window,
        },
        attempts: 8,
        backoff: Backoff {
            first: Duration::from_millis(2),
            max: Duration::from_millis(50),
        },
        timeout: Duration::from_secs(5),
    };
    Api::new(&fake.url(), &SecretKey::new(SECRET_KEY), policy, None).unwrap()
}

/// What record `i` asks for, and the metadata it must end with.
fn wanted(i: usize) -> (Value, Value) {
    let kind = ["freelancer", "vendor_company", "customer"][i % 3];
    let done = !i.is_multiple_of(4);
    let record = json!({
        "user_id": format!("user_{i:04}"),
        "user_type": kind,
        "roles": [{"name": format!("role_{}", i % 5), "permissions": ["view_project"]}],
        "feature_flags": {"advanced_search": i.is_multiple_of(2)},
        "onboarding_status": if done { "completed" } else { "in_progress" },
        "onboarding_step": if done { 4 } else { 2 },
        "active": true,
    });
    let metadata = json!({
        "department": format!("d{i}"),
        "userType": kind,
        "roles": record["roles"],
        "featureFlags": record["feature_flags"],
        "onboarding": {"status": record["onboarding_status"], "step": record["onboarding_step"], "totalSteps": 4},
        "isActive": true,
    });
    (record, metadata)
}

/// Users `0..n` in the fake: every tenth already as wanted, the others out of date (an extra
/// flag the record does not list, an old onboarding state, keys the record leaves alone).
pub fn populate(fake: &FakeBapi, n: usize) -> Vec<Record> {
    let mut lines = String::new();
    for i in 0..n {
        let (record, metadata) = wanted(i);
        let initial = if i.is_multiple_of(10) {
            metadata
        } else {
            json!({"department": format!("d{i}"), "featureFlags": {"old_flag": true}, "onboarding": {"status": "not_started", "totalSteps": 4}, "isActive": false})
        };
        fake.add_user(&format!("user_{i:04}"), initial);
        lines.push_str(&format!("{record}\n"));
    }
    input::parse(&lines, "test input").unwrap()
}

fn report_lines(path: &std::path::Path) -> (Vec<Outcome>, Summary) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut outcomes = Vec::new();
    let mut summary = None;
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        match value.get("summary") {
            Some(s) => summary = Some(serde_json::from_value(s.clone()).unwrap()),
            None => outcomes.push(serde_json::from_value(value).unwrap()),
        }
    }
    (outcomes, summary.expect("a summary line"))
}

pub async fn never() {
    std::future::pending::<()>().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_users_through_rate_limits_and_failures_end_exactly_as_asked() {
    let window = Duration::from_millis(100);
    let fake = FakeBapi::start(Faults {
        limit: 100,
        window,
        unavailable_every: 41,
        lost_answer_every: 23,
        throttle_every: 97,
        slow_every: 31,
        slow: Duration::from_millis(30),
    })
    .await;
    let mut records = populate(&fake, 2000);
    let ghosts = input::parse(
        &(0..10)
            .map(|i| format!("{{\"user_id\":\"user_gone{i}\",\"active\":false}}\n"))
            .collect::<String>(),
        "ghosts",
    )
    .unwrap();
    records.extend(ghosts.into_iter().map(|r| Record {
        number: r.number + 2000,
        ..r
    }));
    let config = config("");
    let layout = Layout::new(&config.claims, &config.users).unwrap();
    let api = api(&fake, 100, window);
    let report = temp_dir("sync").join("report.ndjson");
    let options = Options {
        concurrency: 10,
        dry_run: false,
        report: Some(report.clone()),
        resume: None,
    };
    let mut progress = Progress::new(Mode::Quiet, records.len());
    let summary = sync::run(
        &api,
        &layout,
        records,
        &options,
        &mut progress,
        &mut std::io::sink(),
        never(),
    )
    .await
    .unwrap();

    assert_eq!(
        (
            summary.total,
            summary.succeeded,
            summary.unchanged,
            summary.failed
        ),
        (2010, 1800, 200, 10),
        "{}",
        summary.line()
    );
    assert!(!summary.interrupted);
    for i in 0..2000 {
        assert_eq!(
            fake.metadata(&format!("user_{i:04}")),
            wanted(i).1,
            "user_{i:04}"
        );
    }
    let (violations, max_in_flight, max_in_window, limited, unavailable, lost) = fake.counts(|c| {
        (
            c.violations.clone(),
            c.max_in_flight,
            c.max_in_window,
            c.rate_limited,
            c.unavailable,
            c.lost_answers,
        )
    });
    assert_eq!(
        violations,
        Vec::<String>::new(),
        "requests that break Clerk's spec"
    );
    assert!(max_in_flight <= 10, "{max_in_flight} requests in flight");
    assert!(
        max_in_window <= 100,
        "{max_in_window} requests in one window"
    );
    assert!(
        limited > 0 && unavailable > 0 && lost > 0,
        "faults were injected: {limited} {unavailable} {lost}"
    );
    assert_eq!(
        summary.rate_limited as usize, limited,
        "every 429 the fake sent was met"
    );

    let (outcomes, written) = report_lines(&report);
    assert_eq!(written, summary);
    assert_eq!(outcomes.len(), 2010);
    let mut users: Vec<&str> = outcomes.iter().map(|o| o.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    assert_eq!(users.len(), 2010, "one line per user");
    for outcome in &outcomes {
        let ghost = outcome.user.starts_with("user_gone");
        match outcome.outcome {
            Kind::Failed => assert!(
                ghost && outcome.reason.as_deref() == Some("no such user in Clerk (404)"),
                "{outcome:?}"
            ),
            Kind::Unchanged => assert!(outcome.change.is_none()),
            Kind::Succeeded => assert!(outcome.change.is_some()),
            Kind::WouldChange => panic!("not a dry run: {outcome:?}"),
        }
    }
}

#[tokio::test]
async fn a_dry_run_prints_each_change_and_writes_nothing() {
    let fake = FakeBapi::start(Faults::polite(100, Duration::from_millis(100))).await;
    let records = populate(&fake, 40);
    let before: Vec<Value> = (0..40)
        .map(|i| fake.metadata(&format!("user_{i:04}")))
        .collect();
    let config = config("");
    let layout = Layout::new(&config.claims, &config.users).unwrap();
    let api = api(&fake, 100, Duration::from_millis(100));
    let options = Options {
        concurrency: 4,
        dry_run: true,
        report: None,
        resume: None,
    };
    let mut printed = Vec::new();
    let summary = sync::run(
        &api,
        &layout,
        records,
        &options,
        &mut Progress::new(Mode::Quiet, 40),
        &mut printed,
        never(),
    )
    .await
    .unwrap();
    assert_eq!(
        (summary.would_change, summary.unchanged, summary.succeeded),
        (36, 4, 0)
    );
    let printed = String::from_utf8(printed).unwrap();
    assert_eq!(printed.lines().count(), 36, "{printed}");
    let first = printed
        .lines()
        .find(|l| l.starts_with("user_0001 "))
        .unwrap();
    assert!(
        first.contains(r#""featureFlags":{"advanced_search":false,"old_flag":null}"#),
        "{first}"
    );
    assert!(fake.counts(|c| c.patches.is_empty()), "a dry run wrote");
    let after: Vec<Value> = (0..40)
        .map(|i| fake.metadata(&format!("user_{i:04}")))
        .collect();
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sync_resumes_from_its_report_without_writing_anyone_twice() {
    let window = Duration::from_millis(100);
    let fake = FakeBapi::start(Faults::polite(100, window)).await;
    let records = populate(&fake, 300);
    let config = config("");
    let layout = Layout::new(&config.claims, &config.users).unwrap();
    let dir = temp_dir("resume");
    let (first, second) = (dir.join("first.ndjson"), dir.join("second.ndjson"));

    let options = Options {
        concurrency: 10,
        dry_run: false,
        report: Some(first.clone()),
        resume: None,
    };
    let stop = fake.patched_at_least(120);
    let api1 = api(&fake, 100, window);
    let summary = sync::run(
        &api1,
        &layout,
        records.clone(),
        &options,
        &mut Progress::new(Mode::Quiet, 300),
        &mut std::io::sink(),
        stop,
    )
    .await
    .unwrap();
    assert!(summary.interrupted, "{}", summary.line());
    assert!(
        summary.succeeded >= 120 && summary.not_attempted > 0,
        "{}",
        summary.line()
    );
    let (_, written) = report_lines(&first);
    assert!(written.interrupted);

    let options = Options {
        concurrency: 10,
        dry_run: false,
        report: Some(second.clone()),
        resume: Some(first),
    };
    let api2 = api(&fake, 100, window);
    let resumed = sync::run(
        &api2,
        &layout,
        records,
        &options,
        &mut Progress::new(Mode::Quiet, 300),
        &mut std::io::sink(),
        never(),
    )
    .await
    .unwrap();
    assert!(!resumed.interrupted);
    assert_eq!(resumed.resumed, summary.succeeded + summary.unchanged);
    assert_eq!(
        (resumed.succeeded, resumed.unchanged, resumed.failed),
        (270, 30, 0),
        "{}",
        resumed.line()
    );
    for i in 0..300 {
        assert_eq!(
            fake.metadata(&format!("user_{i:04}")),
            wanted(i).1,
            "user_{i:04}"
        );
    }
    let twice: Vec<(String, usize)> = fake.counts(|c| {
        c.patches
            .iter()
            .filter(|(_, n)| **n != 1)
            .map(|(u, n)| (u.clone(), *n))
            .collect()
    });
    assert_eq!(twice, vec![], "users written more than once");
    let (outcomes, _) = report_lines(&second);
    assert_eq!(outcomes.len(), 300, "the resumed report covers every user");
}

#[tokio::test]
async fn the_fake_answers_in_the_shapes_of_clerks_specification() {
    use crate::support::openapi::spec;
    use crate::support::Client;
    let fake = FakeBapi::start(Faults::polite(100, Duration::from_millis(100))).await;
    fake.add_user("user_a", json!({"userType": "customer"}));
    let client = Client::new(fake.addr);
    let get = |path: &str, auth: bool| {
        let mut req = client.request("GET", path);
        if auth {
            req.headers_mut().insert(
                "authorization",
                format!("Bearer {SECRET_KEY}").parse().unwrap(),
            );
        }
        req
    };
    let checks = [
        ("/v1/users/user_a", true, "/users/{user_id}", 200),
        ("/v1/users/user_b", true, "/users/{user_id}", 404),
        ("/v1/users?limit=5", true, "/users", 200),
        ("/v1/users?limit=5", false, "/users", 401),
    ];
    for (path, auth, operation, status) in checks {
        let reply = client.send(get(path, auth)).await;
        assert_eq!(reply.status.as_u16(), status, "{path}");
        let problems = spec().validate(spec().response(operation, "get", status), &reply.json());
        assert_eq!(problems, Vec::<String>::new(), "{path}");
    }
    assert!(spec().schema("User")["required"].as_array().unwrap().len() > 20);
}
