//! `[server] method_override_params`: the parameter names frameworks read as a method
//! override, normalized once at load (the scanners in [`crate::method_override`] compare
//! keys against them).

/// Longest parameter name that can be configured.
pub const MAX_PARAM_LEN: usize = 64;

/// The configured parameter names, normalized as keys are compared: ASCII lowercase, `.`
/// and space as `_`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    names: Vec<Box<[u8]>>,
}

impl Params {
    /// Normalizes `names`; a name that is empty or longer than [`MAX_PARAM_LEN`] is an error.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Params, String> {
        let mut out: Vec<Box<[u8]>> = Vec::new();
        for name in names {
            if name.is_empty() || name.len() > MAX_PARAM_LEN {
                return Err(format!("{name:?}: 1 to {MAX_PARAM_LEN} bytes"));
            }
            let normalized: Box<[u8]> = name
                .bytes()
                .map(|b| match b {
                    b'.' | b' ' => b'_',
                    b => b.to_ascii_lowercase(),
                })
                .collect();
            if !out.contains(&normalized) {
                out.push(normalized);
            }
        }
        Ok(Params { names: out })
    }

    /// No names: nothing is checked.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub(crate) fn matches(&self, key: &[u8]) -> bool {
        self.names.iter().any(|n| **n == *key)
    }

    pub(crate) fn has_prefix(&self, key: &[u8]) -> bool {
        self.names.iter().any(|n| n.starts_with(key))
    }
}
