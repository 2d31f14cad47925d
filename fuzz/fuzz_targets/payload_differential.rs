//! The typed, borrowing payload read (`Payload::parse`, `Raw`) against the tree builder it
//! replaced on the token path (`from_slice_strict`), on the same bytes: both accept exactly
//! the same JSON objects (duplicate keys refused at any depth, keys compared unescaped, the
//! same number, string and nesting rules), and every claim and every pointer into an
//! accepted payload reads the same value through both. A disagreement is a token-confusion
//! hole (the verifier and a feature reading different claims from one signed token).

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

use doorman::token::{from_slice_strict, Payload};

fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Value::Array(a) => a.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => return,
    };
    for (token, child) in children {
        let pointer = format!("{prefix}/{token}");
        out.push(pointer.clone());
        pointers(child, pointer, out);
    }
}

fuzz_target!(|bytes: &[u8]| {
    let tree = from_slice_strict(bytes);
    let payload = Payload::parse(bytes.to_vec());
    assert_eq!(payload.is_some(), matches!(tree, Ok(Value::Object(_))));
    let (Some(payload), Ok(tree)) = (payload, tree) else {
        return;
    };
    let mut all = vec![String::new(), "/0".to_owned(), "/00".to_owned(), "/+1".to_owned()];
    pointers(&tree, String::new(), &mut all);
    for pointer in &all {
        let got = payload.pointer(pointer);
        let want = tree.pointer(pointer);
        assert_eq!(got.map(|raw| raw.to_value()).as_ref(), want, "{pointer:?}");
        if let (Some(got), Some(want)) = (got, want) {
            assert_eq!(got.as_str().as_deref(), want.as_str());
            assert_eq!(got.as_i64(), want.as_i64());
            assert_eq!(got.as_bool(), want.as_bool());
            assert_eq!(got.is_null(), want.is_null());
        }
    }
    assert_eq!(payload.value(), &tree);
});
