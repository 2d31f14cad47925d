//! Config parsing never panics, whatever the file holds; valid configs stay valid.

use proptest::prelude::*;

use super::Config;

const VALID: &str = include_str!("../../config.toml");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = Config::parse(&text, "fuzz", &|_| Some("x".into()));
    }

    #[test]
    fn toml_shaped_text_never_panics(
        section in prop::sample::select(vec!["server", "clerk", "claims", "headers", "limits", "defaults", "redirects", "logging", "webhooks", "revocation"]),
        key in "[a-z_]{1,20}",
        value in prop_oneof![
            "\"[^\"\\\\]{0,40}\"".prop_map(|s| s),
            any::<i64>().prop_map(|n| n.to_string()),
            Just("true".to_string()),
            Just("[\"a\", \"b\"]".to_string()),
            Just("\"${UNSET_VARIABLE}\"".to_string()),
            Just("\"999999999999999999999h\"".to_string()),
        ],
    ) {
        let text = format!("{VALID}\n[{section}]\n{key} = {value}\n");
        let _ = Config::parse(&text, "fuzz", &|_| None);
    }

    #[test]
    fn mutating_one_byte_of_a_valid_config_never_panics(at in 0usize..VALID.len(), byte in any::<u8>()) {
        let mut bytes = VALID.as_bytes().to_vec();
        bytes[at] = byte;
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = Config::parse(&text, "fuzz", &|_| None);
        }
    }

    #[test]
    fn routes_with_arbitrary_patterns_and_methods_never_panic(
        path in "[/a-z*{}.%;\\\\]{0,30}",
        methods in prop::collection::vec("[A-Za-z ]{0,8}", 0..3),
    ) {
        let methods: Vec<String> = methods.iter().map(|m| format!("{m:?}")).collect();
        let text = format!(
            "[clerk]\nissuer = \"https://c.example\"\njwks_url = \"https://c.example/j\"\n[[upstreams]]\nname = \"a\"\nurl = \"http://127.0.0.1:1\"\n[[routes]]\nname = \"r\"\npath = {path:?}\nmethods = [{}]\n",
            methods.join(", ")
        );
        let _ = Config::parse(&text, "fuzz", &|_| None);
    }
}
