//! `[clerk]` settings of Clerk's browser rules: the instance type from the publishable key,
//! satellite domains refused, and the warning when a sign-in page on another origin cannot
//! be given this site's origin.

use base64::Engine;

use super::{parse, MINIMAL};

fn with_clerk(extra: &str) -> String {
    MINIMAL.replace("[[upstreams]]", &format!("{extra}\n[[upstreams]]"))
}

fn pk(kind: &str) -> String {
    let host = base64::engine::general_purpose::STANDARD.encode("clerk.example.com$");
    format!("publishable_key = \"pk_{kind}_{host}\"")
}

#[test]
fn the_publishable_key_gives_the_instance_type_and_frontend_api_host() {
    let c = parse(&with_clerk(&pk("test"))).unwrap();
    assert!(c.clerk.development);
    assert_eq!(
        c.clerk.frontend_api_host.as_deref(),
        Some("clerk.example.com")
    );
    let c = parse(&with_clerk(&pk("live"))).unwrap();
    assert!(!c.clerk.development);
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.clerk.frontend_api_host, None);
}

#[test]
fn satellite_domains_are_refused_with_what_to_do() {
    for extra in ["is_satellite = true", "domain = \"satellite.example\""] {
        let err = parse(&with_clerk(extra)).unwrap_err().to_string();
        assert!(err.contains("clerk.is_satellite"), "{extra}: {err}");
        assert!(err.contains("satellite domains are not supported"), "{err}");
    }
    assert!(parse(&with_clerk("is_satellite = false")).is_ok());
}

#[test]
fn a_sign_in_page_on_another_origin_without_a_known_origin_is_warned_about() {
    let portal = "[redirects]\nsign_in_url = \"https://accounts.example.com/sign-in\"\n";
    let c = parse(&format!("{MINIMAL}{portal}")).unwrap();
    let w: Vec<_> = c.warnings.iter().map(|w| w.at.as_str()).collect();
    assert!(w.contains(&"redirects.sign_in_url"), "{w:?}");
    let known = with_clerk("app_origin = \"https://app.example.com\"");
    let c = parse(&format!("{known}{portal}")).unwrap();
    assert_eq!(
        c.clerk.app_origin.as_deref(),
        Some("https://app.example.com")
    );
    assert!(
        !c.warnings.iter().any(|w| w.at == "redirects.sign_in_url"),
        "{:?}",
        c.warnings
    );
}
