//! The typed, borrowing payload read against the tree builder it replaced on the hot path:
//! the same documents accepted and refused (duplicate keys at any depth, escaped spellings,
//! numbers, surrogates, trailing data, nesting), and every claim and pointer reading the same.

use super::*;
use crate::token::json::from_slice_strict;
use proptest::prelude::*;

/// Accept/reject and, when accepted, every path read the same through both parsers.
fn agree(doc: &[u8]) {
    let tree = from_slice_strict(doc);
    assert_eq!(
        check_strict(doc).is_ok(),
        tree.is_ok(),
        "strict check vs tree on {:?}",
        String::from_utf8_lossy(doc)
    );
    let payload = Payload::parse(doc.to_vec());
    let tree_object = matches!(tree, Ok(Value::Object(_)));
    assert_eq!(
        payload.is_some(),
        tree_object,
        "payload vs tree on {:?}",
        String::from_utf8_lossy(doc)
    );
    let (Some(payload), Ok(tree)) = (payload, tree) else {
        return;
    };
    let mut pointers = vec![String::new()];
    all_pointers(&tree, String::new(), &mut pointers);
    pointers.extend(["/0", "/00", "/+0", "/-1", "/nope", "/a/0", "/a/01"].map(String::from));
    for pointer in &pointers {
        let want = tree.pointer(pointer);
        let got = payload.pointer(pointer);
        assert_eq!(got.map(Raw::to_value).as_ref(), want, "pointer {pointer:?}");
        if let (Some(got), Some(want)) = (got, want) {
            assert_eq!(got.as_str().as_deref(), want.as_str(), "{pointer:?}");
            assert_eq!(got.as_i64(), want.as_i64(), "{pointer:?}");
            assert_eq!(got.as_bool(), want.as_bool(), "{pointer:?}");
            assert_eq!(got.is_null(), want.is_null(), "{pointer:?}");
            assert_eq!(got.is_object(), want.is_object(), "{pointer:?}");
            assert_eq!(got.is_array(), want.is_array(), "{pointer:?}");
            let members: Vec<(String, Value)> = got
                .members()
                .map(|(k, v)| (k.into_owned(), v.to_value()))
                .collect();
            let mut sorted = members.clone();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let want_members: Vec<(String, Value)> = want
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            assert_eq!(sorted, want_members, "{pointer:?}");
            let elements: Vec<Value> = got.elements().map(Raw::to_value).collect();
            assert_eq!(
                elements,
                want.as_array().cloned().unwrap_or_default(),
                "{pointer:?}"
            );
        }
    }
    let keys: Vec<String> = payload.keys().map(|k| k.into_owned()).collect();
    let mut keys_sorted: Vec<&str> = keys.iter().map(String::as_str).collect();
    keys_sorted.sort_unstable();
    let want: Vec<&str> = tree
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(keys_sorted, want);
    for key in &keys {
        assert_eq!(payload.get(key).map(Raw::to_value).as_ref(), tree.get(key));
    }
    assert_eq!(payload.value(), &tree);
}

fn all_pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (token, child) in children {
        let pointer = format!("{prefix}/{token}");
        out.push(pointer.clone());
        all_pointers(child, pointer, out);
    }
}

#[test]
fn hostile_documents_are_refused_or_read_exactly_as_by_the_tree() {
    let docs: &[&str] = &[
        r#"{"sub":"a","sub":"b"}"#,
        r#"{"sub":"a","s\u0075b":"b"}"#,
        r#"{"\u0073ub":"a","sub":"b"}"#,
        r#"{"o":{"id":"org_1","per":"a","p\u0065r":"b"}}"#,
        r#"{"o":{"id":"org_1","fpm":"1","fpm":"3"}}"#,
        r#"{"metadata":{"roles":["a"],"roles":["admin"]}}"#,
        r#"{"metadata":{"r":[{"name":"a","n\u0061me":"b"}]}}"#,
        r#"{"exp":1e999}"#,
        r#"{"exp":-1e999}"#,
        r#"{"exp":1.0}"#,
        r#"{"exp":1.5}"#,
        r#"{"exp":1e3}"#,
        r#"{"exp":-0}"#,
        r#"{"exp":9223372036854775807}"#,
        r#"{"exp":9223372036854775808}"#,
        r#"{"exp":18446744073709551616}"#,
        r#"{"exp":-9223372036854775809}"#,
        r#"{"exp":"1"}"#,
        r#"{"exp":01}"#,
        r#"{"sub":"\ud800"}"#,
        r#"{"sub":"\udc00x"}"#,
        r#"{"\ud800":1}"#,
        r#"{"sub":"\ud83d\ude00"}"#,
        r#"{"sub":"a\/b","iss":"https:\/\/x"}"#,
        r#"{"sub":"a"} x"#,
        r#"{"sub":"a"}{"sub":"b"}"#,
        r#"{"sub":"a"}  "#,
        r#"{"sub":"a",}"#,
        r#"{"a/b":{"m~n":[1,{"k":true}]},"":{"":null}}"#,
        r#"[{"sub":"a"}]"#,
        r#""sub""#,
        "",
        "{",
    ];
    for doc in docs {
        agree(doc.as_bytes());
    }
    agree(b"{\"sub\":\"\xff\"}");
    agree(b"{\"sub\":\"a\x01\"}");
}

#[test]
fn duplicates_among_many_keys_are_found() {
    let many: Vec<String> = (0..40).map(|i| format!(r#""k{i}":{i}"#)).collect();
    let unique = format!("{{{}}}", many.join(","));
    agree(unique.as_bytes());
    assert!(Payload::parse(unique.into_bytes()).is_some());
    for (first, second) in [(0, 39), (20, 21), (3, 30), (39, 38)] {
        let mut keys = many.clone();
        keys[second] = format!(r#""k{first}":"dup""#);
        let doc = format!("{{{}}}", keys.join(","));
        assert!(check_strict(doc.as_bytes()).is_err(), "{first}/{second}");
        agree(doc.as_bytes());
    }
    let escaped = format!(r#"{{{},"\u006b7":0}}"#, many.join(","));
    assert!(check_strict(escaped.as_bytes()).is_err());
}

#[test]
fn nesting_limit_is_the_tree_builders() {
    for depth in [1, 64, 125, 126, 127, 128, 129, 130, 1000, 100_000] {
        let arrays = format!(r#"{{"a":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        agree(arrays.as_bytes());
        let objects = format!(
            r#"{{"a":{}1{}}}"#,
            r#"{"o":"#.repeat(depth),
            "}".repeat(depth)
        );
        agree(objects.as_bytes());
    }
}

const KEYS: &[&str] = &[
    "sub",
    r"s\u0075b",
    "o",
    "per",
    "fpm",
    "a",
    r"\u0061",
    "",
    "a/b",
    "m~n",
    r#"x\"y"#,
    r"\ud800",
    r"\ud83d\ude00",
    "0",
    "roles",
    "name",
];

/// Scalars both parsers accept (numbers at the `i64`/`u64`/`f64` edges, escapes).
const SCALARS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "1.0",
    "1e3",
    "1E-2",
    "0.5e-400",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    r#""x""#,
    r#""""#,
    r#""\ud83d\ude00""#,
    r#""\u00e9""#,
    r#""a\/b""#,
    r#""a,b""#,
    r#""}""#,
    r#""\"""#,
    r#""\\""#,
    "true",
    "false",
    "null",
];

/// Scalars both must refuse (overflow, lone surrogates, bad escapes, bad number syntax).
const BAD_SCALARS: &[&str] = &[
    "1e999",
    "-1e999",
    "01",
    "1.",
    ".5",
    "1e",
    "+1",
    r#""\ud800""#,
    r#""\udc00""#,
    r#""bad\x""#,
    "nul",
    "NaN",
];

fn json_doc() -> impl Strategy<Value = String> {
    let ws = prop::sample::select(vec!["", "", "", " ", "\n", "\t", "  "]);
    let leaf = prop_oneof![
        12 => prop::sample::select(SCALARS.to_vec()),
        1 => prop::sample::select(BAD_SCALARS.to_vec()),
    ]
    .prop_map(String::from);
    let value = leaf.prop_recursive(5, 48, 6, move |inner| {
        let ws = ws.clone();
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("[{}]", items.join(","))),
            3 => prop::collection::vec(
                (prop::sample::select(KEYS.to_vec()), inner, ws.clone()),
                0..6
            )
            .prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v, w)| format!("{w}\"{k}\"{w}:{w}{v}{w}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    let tail = prop_oneof![
        12 => Just(""),
        1 => prop::sample::select(vec![" ", "x", "}", ",", "{}"]),
    ];
    (value, tail).prop_map(|(v, tail)| format!("{v}{tail}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_borrowing_parser_agrees_with_the_tree_builder(doc in json_doc()) {
        agree(doc.as_bytes());
        agree(format!(r#"{{"sub":"u","c":{doc}}}"#).as_bytes());
    }

    #[test]
    fn arbitrary_bytes_agree(doc in prop::collection::vec(any::<u8>(), 0..64)) {
        agree(&doc);
    }

    #[test]
    fn byte_flips_of_documents_agree(doc in json_doc(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = doc.into_bytes();
        if !bytes.is_empty() {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        agree(&bytes);
    }
}
