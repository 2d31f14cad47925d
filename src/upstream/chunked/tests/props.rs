//! Generated bodies: any valid encoding, however split, decodes to its data; a damaged one
//! decodes or fails but never panics.

use super::*;
use proptest::prelude::*;

/// A chunk extension as an upstream might send one: BWS, `;`, a name, maybe a value.
fn extension() -> impl Strategy<Value = String> {
    "[ \t]{0,2};[ \t]{0,2}[a-z]{1,8}([ \t]{0,2}=[ \t]{0,2}([!-~]{0,10}|\"[ !#-~]{0,10}\"))?"
}

/// A chunk size as hex in either case, with leading zeros up to the 16-digit cap.
fn size_text(size: usize, upper: bool, zeros: usize) -> String {
    let hex = if upper {
        format!("{size:X}")
    } else {
        format!("{size:x}")
    };
    format!(
        "{}{hex}",
        "0".repeat(zeros.min(MAX_SIZE_DIGITS - hex.len()))
    )
}

/// A valid chunked body of `chunks`, each with its extensions, then `trailers`.
fn encode(chunks: &[(Vec<u8>, Vec<String>, bool, usize)], trailers: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for (data, exts, upper, zeros) in chunks {
        out.extend_from_slice(size_text(data.len(), *upper, *zeros).as_bytes());
        out.extend_from_slice(exts.concat().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    for t in trailers {
        out.extend_from_slice(t.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn chunks() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<String>, bool, usize)>> {
    prop::collection::vec(
        (
            prop::collection::vec(any::<u8>(), 1..300),
            prop::collection::vec(extension(), 0..3),
            any::<bool>(),
            0..4usize,
        ),
        0..8,
    )
}

fn trailers() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[A-Za-z-]{1,10}:[ \t]?[ -~]{0,20}", 0..3)
}

/// `input` cut at `cuts` (indexes into it, in any order).
fn split<'a>(input: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
    at.push(0);
    at.push(input.len());
    at.sort_unstable();
    at.windows(2)
        .filter_map(|w| input.get(w[0]..w[1]))
        .collect()
}

proptest! {
    #[test]
    fn any_valid_body_decodes_to_its_data_however_it_is_split(
        chunks in chunks(),
        trailers in trailers(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let input = with_next(&encode(&chunks, &trailers));
        let data: Vec<u8> = chunks.iter().flat_map(|c| c.0.iter().copied()).collect();
        prop_assert_eq!(
            feed(split(&input, &cuts)),
            Outcome::Done { data, rest: NEXT.to_vec() }
        );
    }

    #[test]
    fn a_damaged_body_decodes_or_fails_but_never_panics(
        chunks in chunks(),
        trailers in trailers(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        insert in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut input = with_next(&encode(&chunks, &trailers));
        if insert {
            input.insert(at.index(input.len() + 1), byte);
        } else {
            let i = at.index(input.len());
            input[i] ^= byte.max(1);
        }
        // `feed` checks that every Data is a front of the buffer; here the outcome may be
        // anything, but the data decoded can never outgrow the input.
        if let Outcome::Done { data, rest } = feed(split(&input, &cuts)) {
            prop_assert!(data.len() + rest.len() <= input.len());
        }
    }
}
