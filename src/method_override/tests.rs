//! The scanners as specifications: what each finds, and that splitting the input into
//! chunks anywhere never changes the answer.

use std::ops::ControlFlow;

use proptest::prelude::*;

use super::boundary::boundaries;
use super::multipart::MultipartScanner;
use super::urlencoded::UrlScanner;
use super::{Event, Params};

mod body;

fn params() -> Params {
    Params::new(["_method"]).unwrap()
}

/// What a scan reported, as text: `key`, `value:<v>`, `value:-` (too long), `unreadable`.
fn record(events: &mut Vec<String>) -> impl FnMut(Event<'_>) -> ControlFlow<()> + '_ {
    |e| {
        events.push(match e {
            Event::Key => "key".into(),
            Event::Value(Some(v)) => format!("value:{}", String::from_utf8_lossy(v)),
            Event::Value(None) => "value:-".into(),
            Event::Unreadable => "unreadable".into(),
        });
        ControlFlow::Continue(())
    }
}

fn url(chunks: &[&[u8]], need_value: bool) -> Vec<String> {
    let mut events = Vec::new();
    let mut on = record(&mut events);
    let mut s = UrlScanner::new(need_value);
    for c in chunks {
        let _ = s.feed(c, &params(), &mut on);
    }
    let _ = s.finish(&params(), &mut on);
    drop(on);
    events
}

fn multipart(chunks: &[&[u8]], need_value: bool) -> Vec<String> {
    let mut events = Vec::new();
    let mut on = record(&mut events);
    let mut s = MultipartScanner::new(b"XyZ", need_value);
    for c in chunks {
        let _ = s.feed(c, &params(), &mut on);
    }
    let _ = s.finish(&params(), &mut on);
    drop(on);
    events
}

const URL_OVERRIDES: &[&str] = &[
    "_method=DELETE",
    "a=1&_method=DELETE",
    "a=1;_method=DELETE",
    "%5Fmethod=DELETE",
    "%5fMETHOD=DELETE",
    "_me%74hod=DELETE",
    "_method[]=DELETE",
    "_method%5B%5D=DELETE",
    "_method[x][y]=1",
    ".method=DELETE",
    "+_method=DELETE",
    "_METHOD=delete",
    "_method%00junk=DELETE",
    "a=1&_method",
    "_method&a=1",
];

const URL_PLAIN: &[&str] = &[
    "a=1&b=2",
    "x_method=DELETE",
    "_methods=DELETE",
    "+method=DELETE",
    "a=_method",
    "note=x%26_method%3DDELETE",
    "_method%=DELETE",
    "",
];

#[test]
fn urlencoded_override_keys_are_found_however_they_are_spelled() {
    for body in URL_OVERRIDES {
        assert_eq!(
            url(&[body.as_bytes()], false).first().map(String::as_str),
            Some("key"),
            "{body}"
        );
    }
}

#[test]
fn urlencoded_other_keys_and_values_are_not_overrides() {
    for body in URL_PLAIN {
        assert_eq!(
            url(&[body.as_bytes()], false),
            Vec::<String>::new(),
            "{body}"
        );
    }
}

#[test]
fn urlencoded_values_are_decoded_bounded_and_each_one_reported() {
    assert_eq!(url(&[b"_method=DEL%45TE"], true), ["key", "value:DELETE"]);
    assert_eq!(url(&[b"_method=de+l"], true), ["key", "value:de l"]);
    assert_eq!(
        url(&[b"_method=PATCH&_method=DELETE"], true),
        ["key", "value:PATCH", "key", "value:DELETE"]
    );
    assert_eq!(url(&[b"_method"], true), ["key", "value:"]);
    let long = format!("_method={}", "A".repeat(40));
    assert_eq!(
        url(&[long.as_bytes()], true).get(1).map(String::as_str),
        Some("value:-")
    );
}

#[test]
fn configured_names_are_compared_normalized() {
    let p = Params::new(["X.Method", "_method"]).unwrap();
    let mut found = false;
    let mut s = UrlScanner::new(false);
    let _ = s.feed(b"x_METHOD=PUT", &p, &mut |_| {
        found = true;
        ControlFlow::<()>::Continue(())
    });
    assert!(found);
}

fn part(disposition: &str, content: &str) -> String {
    format!("--XyZ\r\nContent-Disposition: {disposition}\r\n\r\n{content}\r\n")
}

fn form(parts: &[String]) -> String {
    format!("preamble\r\n{}--XyZ--\r\nepilogue", parts.concat())
}

#[test]
fn multipart_parts_named_like_an_override_are_found() {
    let cases = [
        part("form-data; name=\"_method\"", "DELETE"),
        part("form-data; name=_method", "DELETE"),
        part("form-data;name=\"_method[]\"", "DELETE"),
        part("form-data; NAME = \"%5Fmethod\"", "DELETE"),
        part("form-data; name*=utf-8''_method", "DELETE"),
        part("name=\".method\"", "DELETE"),
        // Rack's `;\s*name=` also matches inside a quoted filename.
        part(
            "form-data; name=\"file\"; filename=\"a; name=_method; b\"",
            "x",
        ),
        "--XyZ\r\nContent-Disposition: form-data;\r\n name=\"_method\"\r\n\r\nDELETE\r\n".into(),
        "--XyZ\ncontent-disposition: form-data; name=\"_method\"\n\nDELETE\n".into(),
    ];
    for (i, case) in cases.iter().enumerate() {
        let body = form(&[part("form-data; name=\"a\"", "1"), case.clone()]);
        assert!(
            multipart(&[body.as_bytes()], false).contains(&"key".into()),
            "case {i}: {body:?}"
        );
    }
}

#[test]
fn multipart_file_content_that_mentions_the_override_is_not_an_override() {
    let content =
        "Content-Disposition: form-data; name=\"_method\"\r\n\r\nDELETE\r\n_method=DELETE";
    let body = form(&[
        part(
            "form-data; name=\"upload\"; filename=\"notes.txt\"",
            content,
        ),
        part("form-data; name=\"title\"", "name=\"_method\""),
    ]);
    assert_eq!(multipart(&[body.as_bytes()], false), Vec::<String>::new());
}

#[test]
fn multipart_override_values_are_read_up_to_the_delimiter() {
    let body = form(&[part("form-data; name=\"_method\"", "delete")]);
    assert_eq!(multipart(&[body.as_bytes()], true), ["key", "value:delete"]);
    let body = form(&[part("form-data; name=\"_method\"", "")]);
    assert_eq!(multipart(&[body.as_bytes()], true), ["key", "value:"]);
    let body = form(&[part("form-data; name=\"_method\"", &"A".repeat(100))]);
    assert_eq!(
        multipart(&[body.as_bytes()], true)
            .get(1)
            .map(String::as_str),
        Some("value:-")
    );
}

#[test]
fn multipart_disposition_lines_too_long_to_read_are_unreadable() {
    let long = format!(
        "form-data; filename=\"{}\"; name=\"_method\"",
        "a".repeat(5000)
    );
    let body = form(&[part(&long, "DELETE")]);
    assert_eq!(multipart(&[body.as_bytes()], false), ["unreadable"]);
}

#[test]
fn boundaries_cover_what_rfc_php_and_rack_each_read() {
    assert_eq!(
        boundaries(b"multipart/form-data; boundary=abc"),
        [b"abc".to_vec()]
    );
    assert_eq!(
        boundaries(b"multipart/form-data; BOUNDARY=\"a b\""),
        [b"a b".to_vec()]
    );
    let both = boundaries(b"multipart/form-data; boundary=one; boundary=two");
    assert!(both.contains(&b"one".to_vec()) && both.contains(&b"two".to_vec()));
    assert_eq!(boundaries(b"multipart/form-data"), Vec::<Vec<u8>>::new());
}

/// Every way of cutting `body` into two or three pieces.
fn every_split(body: &[u8], check: impl Fn(&[&[u8]])) {
    for i in 0..=body.len() {
        check(&[&body[..i], &body[i..]]);
        for j in i..=body.len() {
            check(&[&body[..i], &body[i..j], &body[j..]]);
        }
    }
}

#[test]
fn urlencoded_answers_do_not_depend_on_chunk_boundaries() {
    for body in URL_OVERRIDES
        .iter()
        .chain(URL_PLAIN)
        .chain(&["_method=DEL%45TE&x=1"])
    {
        for need_value in [false, true] {
            let whole = url(&[body.as_bytes()], need_value);
            every_split(body.as_bytes(), |chunks| {
                assert_eq!(url(chunks, need_value), whole, "{body} {chunks:?}")
            });
        }
    }
}

#[test]
fn multipart_answers_do_not_depend_on_chunk_boundaries() {
    let bodies = [
        form(&[
            part("form-data; name=\"a\"", "1"),
            part("form-data; name=\"_method\"", "DELETE"),
        ]),
        form(&[part(
            "form-data; name=\"f\"; filename=\"x\"",
            "name=\"_method\"\r\n--XY",
        )]),
    ];
    for body in &bodies {
        for need_value in [false, true] {
            let whole = multipart(&[body.as_bytes()], need_value);
            every_split(body.as_bytes(), |chunks| {
                assert_eq!(multipart(chunks, need_value), whole, "{chunks:?}")
            });
        }
    }
}

fn split_at(body: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for c in cuts.into_iter().chain([body.len()]) {
        out.push(body[at..c].to_vec());
        at = c;
    }
    out
}

proptest! {
    #[test]
    fn any_chunking_of_a_form_gives_the_same_findings(
        fields in proptest::collection::vec(("[._a-zA-Z%5F+\\[\\]]{0,9}", "[A-Za-z%+&;=]{0,8}"), 0..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        need_value in any::<bool>(),
    ) {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let body = body.join("&");
        let pieces = split_at(body.as_bytes(), &cuts);
        let chunks: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(url(&chunks, need_value), url(&[body.as_bytes()], need_value));
    }

    #[test]
    fn any_chunking_of_a_multipart_body_gives_the_same_findings(
        names in proptest::collection::vec("(_method|file|_METHOD\\[\\]|x)", 1..4),
        content in "[-A-Za-z\r\n\"=_]{0,20}",
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        need_value in any::<bool>(),
    ) {
        let parts: Vec<String> = names.iter().map(|n| part(&format!("form-data; name=\"{n}\""), &content)).collect();
        let body = form(&parts);
        let pieces = split_at(body.as_bytes(), &cuts);
        let chunks: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(multipart(&chunks, need_value), multipart(&[body.as_bytes()], need_value));
    }
}
