use super::*;

#[test]
fn browser_accept_headers_are_navigations() {
    for accept in [
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "text/html",
        "TEXT/HTML; q=1",
    ] {
        assert!(accept_prefers_html(accept), "{accept}");
    }
}

#[test]
fn api_accept_headers_are_not_navigations() {
    for accept in [
        "*/*",
        "application/json",
        "application/json, text/html;q=0.5",
        "text/html;q=0",
        "",
        "text/plain, text/html",
    ] {
        // The last one ties: equal quality for another type is not a preference.
        let expected = accept == "text/plain, text/html";
        assert_eq!(accept_prefers_html(accept), expected, "{accept}");
    }
}

#[test]
fn sec_fetch_headers_mark_navigations() {
    let mut h = HeaderMap::new();
    h.insert("sec-fetch-mode", "navigate".parse().unwrap());
    assert!(is_navigation(&h));
    let mut h = HeaderMap::new();
    h.insert("sec-fetch-dest", "document".parse().unwrap());
    assert!(is_navigation(&h));
    let mut h = HeaderMap::new();
    h.insert("sec-fetch-mode", "cors".parse().unwrap());
    h.insert("accept", "application/json".parse().unwrap());
    assert!(!is_navigation(&h));
}

#[test]
fn absolute_form_for_another_host_is_refused() {
    let method = Method::GET;
    let uri: Uri = "http://evil.example/admin".parse().unwrap();
    let mut h = HeaderMap::new();
    h.insert("host", "shop.example".parse().unwrap());
    assert_eq!(
        Facts::read(&method, &uri, &h).unwrap_err(),
        Reason::HostMismatch
    );
    h.insert("host", "EVIL.example".parse().unwrap());
    assert!(Facts::read(&method, &uri, &h).is_ok());
}

#[test]
fn case_variants_of_standard_methods_are_invalid_and_extension_methods_are_not() {
    let uri: Uri = "/public/x".parse().unwrap();
    let h = HeaderMap::new();
    for name in [
        "get", "gEt", "Post", "delete", "hEAD", "options", "Patch", "connect",
    ] {
        let method = Method::from_bytes(name.as_bytes()).unwrap();
        assert_eq!(
            Facts::read(&method, &uri, &h).unwrap_err(),
            Reason::MethodInvalid,
            "{name}"
        );
    }
    // TRACE in any case is refused; its exact spelling keeps its own reason.
    let trace = Method::from_bytes(b"trace").unwrap();
    assert_eq!(
        Facts::read(&trace, &uri, &h).unwrap_err(),
        Reason::MethodInvalid
    );
    for name in ["GET", "POST", "PATCH", "PURGE", "purge", "PROPFIND", "getx"] {
        let method = Method::from_bytes(name.as_bytes()).unwrap();
        assert!(Facts::read(&method, &uri, &h).is_ok(), "{name}");
    }
}

fn message(version: Version, target: &str, headers: &[(&str, &str)]) -> Result<(), Reason> {
    let uri: Uri = target.parse().unwrap();
    let mut h = HeaderMap::new();
    for (name, value) in headers {
        h.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    check_message(version, &uri, &h)
}

#[test]
fn host_is_required_for_http11_and_http2_but_not_http10() {
    let host = [("host", "shop.example")];
    assert_eq!(
        message(Version::HTTP_11, "/", &[]),
        Err(Reason::HostMissing)
    );
    assert_eq!(
        message(Version::HTTP_11, "http://shop.example/", &[]),
        Err(Reason::HostMissing),
        "RFC 9112 §3.2: absolute-form does not excuse a missing Host"
    );
    assert_eq!(message(Version::HTTP_11, "/", &host), Ok(()));
    assert_eq!(message(Version::HTTP_2, "/", &[]), Err(Reason::HostMissing));
    assert_eq!(
        message(Version::HTTP_2, "http://shop.example/", &[]),
        Ok(())
    );
    assert_eq!(message(Version::HTTP_2, "/", &host), Ok(()));
    assert_eq!(message(Version::HTTP_10, "/", &[]), Ok(()));
}

#[test]
fn only_exactly_one_chunked_transfer_coding_is_accepted() {
    let with = |te: &[&str]| {
        let mut headers = vec![("host", "shop.example")];
        headers.extend(te.iter().map(|v| ("transfer-encoding", *v)));
        message(Version::HTTP_11, "/", &headers)
    };
    assert_eq!(with(&[]), Ok(()));
    assert_eq!(with(&["chunked"]), Ok(()));
    assert_eq!(
        with(&["Chunked"]),
        Ok(()),
        "coding names are case-insensitive"
    );
    for refused in [
        &["gzip, chunked"][..],
        &["chunked, chunked"],
        &["identity, chunked"],
        &[", chunked"],
        &["gzip"],
        &["identity"],
        &["gzip", "chunked"],
        &["chunked", "chunked"],
    ] {
        assert_eq!(
            with(refused),
            Err(Reason::TransferCodingUnsupported),
            "{refused:?}"
        );
    }
}

#[test]
fn content_length_with_transfer_encoding_is_ambiguous() {
    for coding in ["chunked", "gzip", "identity"] {
        let headers = [
            ("host", "shop.example"),
            ("content-length", "4"),
            ("transfer-encoding", coding),
        ];
        assert_eq!(
            message(Version::HTTP_11, "/", &headers),
            Err(Reason::AmbiguousFraming),
            "{coding}"
        );
    }
}
