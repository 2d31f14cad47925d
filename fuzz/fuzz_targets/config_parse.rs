//! `Config::parse` on arbitrary UTF-8 (every `${VAR}` reads as `x`). Never panics. When a
//! config compiles, every route's upstream exists, and the route table agrees with the
//! patterns: for probe paths derived from the route patterns, the route `route_for` picks
//! matches the path and allows the method, and `route_for` falls back to the defaults only
//! when no route matches and allows.
#![no_main]

use doorman::config::Config;
use doorman::path::normalize;
use http::Method;
use libfuzzer_sys::fuzz_target;

fn probes(pattern: &str) -> [String; 2] {
    let concrete = |tail: &str| {
        let mut out = String::new();
        for segment in pattern.split('/').filter(|s| !s.is_empty()) {
            out.push('/');
            match segment {
                "**" => out.push_str(tail),
                "*" => out.push('x'),
                s if s.starts_with('{') => out.push('x'),
                s => out.push_str(s),
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out.replace("//", "/")
    };
    [concrete("a/b"), concrete("")]
}

fuzz_target!(|text: &str| {
    let Ok(config) = Config::parse(text, "fuzz", &|_| Some("x".into())) else {
        return;
    };
    assert!(config.upstream_of(&config.defaults).is_some());
    for route in &config.routes {
        assert!(config.upstream_of(route).is_some(), "route {} has no upstream", route.name);
        assert!(route.pattern.is_some());
    }
    let methods = [Method::GET, Method::HEAD, Method::POST, Method::DELETE];
    let mut paths: Vec<String> = vec!["/".into(), "/x".into()];
    for route in config.routes.iter().take(32) {
        if let Some(pattern) = &route.pattern {
            paths.extend(probes(pattern.as_str()));
        }
    }
    for raw in &paths {
        let Ok(path) = normalize(raw) else {
            continue;
        };
        for method in &methods {
            let chosen = config.route_for(method, &path);
            let allows = |route: &doorman::config::Route| {
                route.pattern.as_ref().is_some_and(|p| p.matches(&path))
                    && route.methods.as_ref().is_none_or(|m| m.allows(method))
            };
            if std::ptr::eq(chosen, &config.defaults) {
                assert!(
                    !config.routes.iter().any(allows),
                    "{method} {raw}: defaults chosen though a route matches"
                );
            } else {
                assert!(allows(chosen), "{method} {raw}: route {} does not match", chosen.name);
            }
        }
    }
});
