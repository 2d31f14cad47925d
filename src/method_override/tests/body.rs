//! The body wrapper: what it passes on, what it withholds, and the verdict it leaves.

use std::error::Error as StdError;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use crate::decision::Decision;
use crate::method_override::body::{Refused, Scan, ScannedBody, Verdict};
use crate::method_override::urlencoded::UrlScanner;
use crate::method_override::{Judge, Params};
use crate::reason::Reason;

type BoxError = Box<dyn StdError + Send + Sync>;
type Frames = futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, BoxError>>>;

fn frames(chunks: &[&str]) -> StreamBody<Frames> {
    let frames: Vec<Result<Frame<Bytes>, BoxError>> = chunks
        .iter()
        .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c.as_bytes()))))
        .collect();
    StreamBody::new(futures_util::stream::iter(frames))
}

fn urlencoded(judge: Option<Judge>) -> Scan {
    Scan {
        params: Params::new(["_method"]).unwrap(),
        urlencoded: Some(UrlScanner::new(judge.is_some())),
        multipart: Vec::new(),
        judge,
    }
}

/// Only DELETE is refused (403), as for a member on an admin-only DELETE rule.
fn member() -> Judge {
    Box::new(|value: &[u8]| {
        value
            .eq_ignore_ascii_case(b"DELETE")
            .then_some(Decision::Forbidden {
                reason: Reason::RoleMissing,
            })
    })
}

/// Polls the body to its end: the bytes passed on, and whether it ended with `Refused`.
async fn drive(chunks: &[&str], scan: Scan) -> (String, bool, Verdict) {
    let (mut body, verdict) = ScannedBody::scanned(frames(chunks), scan);
    let mut passed = Vec::new();
    let mut refused = false;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => passed.extend_from_slice(frame.data_ref().unwrap()),
            Err(e) => {
                refused = e.is::<Refused>();
                break;
            }
        }
    }
    (String::from_utf8(passed).unwrap(), refused, verdict)
}

#[tokio::test]
async fn the_chunk_that_completes_an_override_key_is_withheld_and_the_body_fails() {
    let (passed, refused, verdict) =
        drive(&["a=1&", "_meth", "od=DELETE&b=2"], urlencoded(None)).await;
    assert_eq!(passed, "a=1&_meth");
    assert!(refused);
    assert_eq!(
        verdict.get(),
        Some(&Decision::BadRequest {
            reason: Reason::MethodOverride
        })
    );
}

#[tokio::test]
async fn a_key_that_only_the_end_of_the_body_completes_is_never_released() {
    let (passed, refused, verdict) = drive(&["a=1&_method"], urlencoded(None)).await;
    assert_eq!(passed, "");
    assert!(refused && verdict.get().is_some());
}

#[tokio::test]
async fn authorize_mode_passes_an_allowed_override_whole_and_in_order() {
    let (passed, refused, verdict) = drive(
        &["x=1&_method=PA", "TCH", "&y=2"],
        urlencoded(Some(member())),
    )
    .await;
    assert_eq!(passed, "x=1&_method=PATCH&y=2");
    assert!(!refused && verdict.get().is_none());
}

#[tokio::test]
async fn authorize_mode_withholds_every_chunk_of_a_refused_value_and_leaves_its_decision() {
    let (passed, refused, verdict) =
        drive(&["x=1&", "_method=DEL", "ETE"], urlencoded(Some(member()))).await;
    assert_eq!(passed, "x=1&");
    assert!(refused);
    assert_eq!(
        verdict.get(),
        Some(&Decision::Forbidden {
            reason: Reason::RoleMissing
        })
    );
}

#[tokio::test]
async fn an_unscanned_body_passes_through_untouched() {
    let mut body = ScannedBody::plain(frames(&["_method=DELETE"]));
    let bytes = (&mut body).collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b"_method=DELETE");
}
