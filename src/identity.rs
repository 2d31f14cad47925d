//! The identity headers a verified identity is forwarded with, computed once per token (the
//! values are cached with the identity in the token cache).

use http::header::{HeaderName, HeaderValue};

use crate::config::IdentityHeaders;
use crate::token::claims::Identity;

/// The identity headers for a verified identity. Values that are not plain visible ASCII
/// are left out (never sent mangled), as are list items containing a comma.
pub fn identity_headers(
    identity: &Identity,
    names: &IdentityHeaders,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::with_capacity(9);
    let mut single = |name: &HeaderName, value: Option<&str>| {
        if let Some(v) = value.filter(|v| is_plain(v) && !v.is_empty()) {
            if let Ok(v) = HeaderValue::from_str(v) {
                out.push((name.clone(), v));
            }
        }
    };
    single(&names.user_id, Some(&identity.user_id));
    single(&names.session_id, Some(&identity.session_id));
    single(&names.user_type, identity.user_type.as_deref());
    single(&names.org_id, identity.org_id.as_deref());
    single(&names.org_role, identity.org_role.as_deref());
    single(
        &names.onboarding_status,
        identity.onboarding_status.as_deref(),
    );
    let mut list = |name: &HeaderName, items: &[String]| {
        let mut joined = String::with_capacity(items.iter().map(|i| i.len() + 1).sum());
        for item in items
            .iter()
            .filter(|i| is_plain(i) && !i.contains(',') && !i.is_empty())
        {
            if !joined.is_empty() {
                joined.push(',');
            }
            joined.push_str(item);
        }
        if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(joined)) {
            out.push((name.clone(), v));
        }
    };
    list(&names.roles, &identity.roles);
    list(&names.permissions, &identity.permissions);
    list(&names.feature_flags, &identity.feature_flags);
    out
}

fn is_plain(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b))
}
