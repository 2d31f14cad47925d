//! Text logs as an operator's file or container runtime receives them: no ANSI colour codes
//! when stderr is not a terminal (issue 17), and the request line names the client and the
//! upstream.

use std::io::{BufRead, BufReader};

use doorman::dev::echo::Echo;

use crate::support::process::{sigterm, spawn_binary, wait_ready};
use crate::support::Client;

#[tokio::test]
async fn text_logs_to_a_pipe_carry_no_colour_codes() {
    let echo = Echo::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut p = spawn_binary(
        &format!("http://{}", echo.addr),
        "",
        &[("DOORMAN_LOG_FORMAT", "text"), ("RUST_LOG", "info")],
    );
    wait_ready(&p.admin).await;
    let client = Client::new(p.addr.parse().unwrap());
    client.get("/public/page").await;
    sigterm(&p.child);
    let stderr = p.child.stderr.take().unwrap();
    let lines: Vec<String> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(p.child.wait().unwrap().success());
    let all = lines.join("\n");
    assert!(
        !all.contains('\u{1b}'),
        "ANSI escape codes in a piped log:\n{all}"
    );
    let request = lines
        .iter()
        .find(|l| l.contains(" request ") || l.ends_with(" request"))
        .unwrap_or_else(|| panic!("no request line in:\n{all}"));
    assert!(request.contains("client=127.0.0.1"), "{request}");
    assert!(
        request.contains("upstream=\"app\"") || request.contains("upstream=app"),
        "{request}"
    );
}
