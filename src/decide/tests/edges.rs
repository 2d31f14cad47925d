//! Edges of the decision order: `[defaults] access = "deny"`, onboarding redirects that
//! must not loop, and CORS preflights.

use super::*;

#[test]
fn defaults_deny_refuses_unmatched_paths() {
    let c = Config::parse(
        &CONFIG.replace(
            "access = \"signed_in\"\n[[routes]]",
            "access = \"deny\"\n[[routes]]",
        ),
        "t",
        &|_| None,
    )
    .unwrap();
    assert_eq!(
        run(&c, "/unknown", false, &valid(|_| {})),
        Decision::Forbidden {
            reason: id("route_denied")
        }
    );
    assert_eq!(
        run(&c, "/public/x", false, &Auth::Anonymous),
        Decision::Forward
    );
}

#[test]
fn after_onboarding_never_redirects_a_page_to_itself() {
    let c = Config::parse(
        &CONFIG.replace(
            "[claims]",
            "[redirects]\nafter_onboarding_url = \"/onboarding/done\"\n[claims]",
        ),
        "t",
        &|_| None,
    )
    .unwrap();
    assert_eq!(
        run(&c, "/onboarding/done", true, &valid(|_| {})),
        Decision::Forward
    );
    assert_eq!(
        run(&c, "/onboarding", true, &valid(|_| {})),
        Decision::RedirectAfterOnboarding {
            to: "/onboarding/done".into()
        }
    );
}

#[test]
fn cors_preflights_are_authenticated_unless_configured_to_forward() {
    let preflight = |c: &Config| {
        let method = Method::OPTIONS;
        let uri: Uri = "/api/projects".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("origin", HeaderValue::from_static("https://shop.example"));
        headers.insert(
            "access-control-request-method",
            HeaderValue::from_static("POST"),
        );
        let facts = Facts::read(&method, &uri, &headers).unwrap();
        decide(
            &facts,
            &c.route_for(&method, &facts.path).policy,
            &Auth::Anonymous,
            &crate::decide::Settings::of(c),
        )
    };
    assert_eq!(
        preflight(&config()),
        Decision::Unauthorized {
            reason: id("token_missing")
        }
    );
    let forward = Config::parse(
        &format!("[server]\ncors_preflight = \"forward\"\n{CONFIG}"),
        "t",
        &|_| None,
    )
    .unwrap();
    assert_eq!(preflight(&forward), Decision::Forward);
    // A deny route stays denied, preflight or not.
    let method = Method::OPTIONS;
    let uri: Uri = "/closed/x".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_static("https://shop.example"));
    headers.insert(
        "access-control-request-method",
        HeaderValue::from_static("GET"),
    );
    let facts = Facts::read(&method, &uri, &headers).unwrap();
    assert_eq!(
        decide(
            &facts,
            &forward.route_for(&method, &facts.path).policy,
            &Auth::Anonymous,
            &crate::decide::Settings::of(&forward)
        ),
        Decision::Forbidden {
            reason: id("route_denied")
        }
    );
}
