//! Soak: a few thousand mixed hostile and valid requests at concurrency 16, bounded in count
//! and time; afterwards valid requests still succeed and the process's resident memory is
//! back near its baseline.
//!
//! doorman runs in this test process (the `soak` test binary, alone), so `VmRSS` of
//! `/proc/self/status` is doorman's memory
//! plus the harness's (clients, echo upstream and its bounded record of requests) plus
//! whatever other tests running in parallel in this binary hold at that moment. The slack is
//! therefore generous (64 MiB): it catches a leak per request (3,000 requests × even 20 KiB
//! would be ~60 MiB, and a leak of the 40 KiB tokens or 70 KiB headers sent here would be far
//! more), not allocator noise. Memory is measured after a warm-up round, so pools, caches and
//! allocator arenas that are filled once are part of the baseline.

use std::time::{Duration, Instant};

use super::{raw, RawAnswer};
use crate::support::{b64, claims, key, token, with, Client, Harness, RequestExt, NOW};
use doorman::dev::mint::mint;

const WORKERS: usize = 16;
const PER_WORKER: usize = 200;
const WARM_UP_PER_WORKER: usize = 26;
const KINDS: usize = 12;

/// Resident set size of this process in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// One request of kind `kind`; returns whether it got the answer it must get.
async fn one(client: &Client, kind: usize, n: usize, valid: &str) -> Result<(), String> {
    let addr = client.addr;
    let expect = |got: u16, want: u16, what: &str| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what}: got {got}, want {want}"))
        }
    };
    let raw_status = |a: &RawAnswer| a.status().unwrap_or(0);
    match kind {
        0 => {
            let reply = client
                .send(client.request("GET", "/api/projects/1").bearer(valid))
                .await;
            expect(reply.status.as_u16(), 200, "valid")
        }
        1 => {
            let none = format!(
                "{}.{}.",
                b64(r#"{"alg":"none"}"#),
                b64(claims().to_string())
            );
            let reply = client
                .send(client.request("GET", "/api/projects/1").bearer(&none))
                .await;
            expect(reply.status.as_u16(), 401, "alg none")
        }
        2 => {
            let jwt = mint(key(), &format!("ins_soak_{n}"), &claims()).unwrap();
            let reply = client
                .send(client.request("GET", "/api/projects/1").bearer(&jwt))
                .await;
            expect(reply.status.as_u16(), 401, "random kid")
        }
        3 => {
            let huge = format!("{}.{}.x", b64(r#"{"alg":"RS256"}"#), "A".repeat(40_000));
            let reply = client
                .send(client.request("GET", "/api/projects/1").bearer(&huge))
                .await;
            expect(reply.status.as_u16(), 401, "huge token")
        }
        4 => {
            let reply = client.get("/public/%2e%2e/admin").await;
            expect(reply.status.as_u16(), 400, "dot segment")
        }
        5 => {
            let mut req = client.request("GET", "/public/x");
            for name in ["x-user-id", "X_User_Id", "x-user-roles", "x-forwarded-for"] {
                req = req.with_header(name, "evil");
            }
            let reply = client.send(req).await;
            expect(reply.status.as_u16(), 200, "spoofed headers")?;
            if reply.text().contains("evil") {
                return Err("a spoofed header reached the upstream".into());
            }
            Ok(())
        }
        6 => {
            let smuggle = b"POST /public/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
            // (Answered 200 today rather than 400: see the ignored class 7 case. What must
            // hold is that the hidden request is never parsed.)
            let answer = raw(addr, smuggle, Duration::from_secs(5)).await;
            if answer.responses() == 1 && answer.closed {
                Ok(())
            } else {
                Err(format!("CL+TE: {:?}", answer.text))
            }
        }
        7 => {
            let big = format!(
                "GET /public/x HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
                "a".repeat(70 * 1024)
            );
            let answer = raw(addr, big.as_bytes(), Duration::from_secs(5)).await;
            expect(raw_status(&answer), 431, "huge header")
        }
        8 => {
            let reply = client
                .send_h2(client.request("GET", "/api/projects/1").bearer(valid))
                .await;
            expect(reply.status.as_u16(), 200, "valid over HTTP/2")
        }
        9 => {
            let expired = token(&with(claims(), "/exp", serde_json::json!(NOW - 60)));
            let reply = client
                .send(
                    client
                        .request("GET", "/dashboard")
                        .bearer(&expired)
                        .navigate(),
                )
                .await;
            expect(reply.status.as_u16(), 302, "expired page")
        }
        10 => {
            let garbage: Vec<u8> = (0..200u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            let answer = raw(addr, &garbage, Duration::from_secs(5)).await;
            if answer.closed {
                Ok(())
            } else {
                Err("garbage left the connection open".into())
            }
        }
        _ => {
            let reply = client.get("/admin%2F..%2Fpublic").await;
            expect(reply.status.as_u16(), 400, "encoded slash")
        }
    }
}

/// `per_worker` requests on each of [`WORKERS`] workers; returns the failures.
async fn round(h: &Harness, per_worker: usize, offset: usize) -> Vec<String> {
    let valid = token(&claims());
    let tasks: Vec<_> = (0..WORKERS)
        .map(|w| {
            let client = Client::new(h.client.addr);
            let valid = valid.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for i in 0..per_worker {
                    let n = offset + w * per_worker + i;
                    if let Err(e) = one(&client, (w + i) % KINDS, n, &valid).await {
                        failures.push(e);
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        failures.extend(task.await.expect("worker panicked"));
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_mixed_hostile_and_valid_requests_leave_memory_near_baseline() {
    let h = Harness::start().await;
    let failures = round(&h, WARM_UP_PER_WORKER, 1_000_000).await;
    assert!(failures.is_empty(), "warm-up: {failures:?}");
    let baseline = rss_kib();
    let started = Instant::now();
    let failures = tokio::time::timeout(Duration::from_secs(60), round(&h, PER_WORKER, 0))
        .await
        .expect("the soak did not finish within 60 s");
    let elapsed = started.elapsed();
    let requests = WORKERS * PER_WORKER;
    assert!(
        failures.is_empty(),
        "{} of {requests} failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    // Valid requests still succeed afterwards, over both protocols.
    let client = Client::new(h.client.addr);
    let valid = token(&claims());
    for _ in 0..20 {
        let reply = client
            .send(client.request("GET", "/api/projects/1").bearer(&valid))
            .await;
        assert_eq!(reply.status, 200);
        let reply = client
            .send_h2(client.request("GET", "/dashboard").bearer(&valid))
            .await;
        assert_eq!(reply.status, 200);
    }
    // Nothing hostile reached the upstream.
    for seen in h.echo.seen() {
        assert!(
            !seen.target.contains("smuggled") && !seen.target.contains("admin"),
            "{}",
            seen.target
        );
        assert!(
            seen.headers.iter().all(|(_, v)| v != "evil"),
            "{:?}",
            seen.headers
        );
    }
    let after = rss_kib();
    let grown_kib = after.saturating_sub(baseline);
    println!(
        "soak: {requests} requests ({} kinds, {WORKERS} workers) in {elapsed:?} ({:.0} req/s); \
         RSS {} MiB before, {} MiB after (+{} KiB)",
        KINDS,
        requests as f64 / elapsed.as_secs_f64(),
        baseline / 1024,
        after / 1024,
        grown_kib
    );
    assert!(
        grown_kib < 64 * 1024,
        "RSS grew by {grown_kib} KiB over {requests} requests (baseline {baseline} KiB)"
    );
}
