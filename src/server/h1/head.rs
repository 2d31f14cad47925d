//! Reading one request head: is it complete, may this loop serve it, and the request it is.
//!
//! The head is parsed once, with `httparse`, and remembered as offsets into the buffer, so the
//! request built from it ([`Parsed::request`]) borrows its target and header values from the
//! frozen head instead of copying them.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

/// Header lines a head may have here; a head with more goes to hyper (which refuses it).
const MAX_HEADERS: usize = 100;
/// Headers doorman typically adds to a request before it goes upstream.
const ADDED_HEADERS: usize = 12;

/// What the buffer holds.
pub enum Classified {
    /// Not a whole head yet.
    Partial,
    /// A head this loop serves.
    Fast(Parsed),
    /// Anything else (a body, an upgrade, `Expect`, HTTP/1.0, a form or byte hyper is to
    /// judge): the connection goes to hyper.
    Hyper,
}

/// A complete head, as offsets into the buffer it was parsed from.
pub struct Parsed {
    /// Length of the head, its final empty line included.
    pub len: usize,
    /// The connection closes after this request: the client asked, or the head is
    /// ambiguous (both `Content-Length` and `Transfer-Encoding`; the request is refused with
    /// 400 `ambiguous_framing` by `request::check_message` and its body never read).
    pub close: bool,
    method: (usize, usize),
    target: (usize, usize),
    headers: Vec<((usize, usize), (usize, usize))>,
}

/// Parses the head at the front of `buf`, if it is complete, and classifies it.
pub fn classify(buf: &[u8]) -> Classified {
    if buf.is_empty() {
        return Classified::Partial;
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Classified::Partial,
        Err(_) => return Classified::Hyper,
    };
    let (Some(method), Some(target), Some(1)) = (req.method, req.path, req.version) else {
        return Classified::Hyper;
    };
    // hyper reads every CONNECT as a switch of protocols after a 2xx, whatever its target.
    if !target.starts_with('/') || method == "CONNECT" {
        return Classified::Hyper;
    }
    let base = buf.as_ptr() as usize;
    let span = |s: &[u8]| {
        let start = s.as_ptr() as usize - base;
        (start, start + s.len())
    };
    let (mut length, mut coding, mut close) = (false, false, false);
    let mut headers = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            length = true;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            coding = true;
        } else if name.eq_ignore_ascii_case(b"upgrade")
            || name.eq_ignore_ascii_case(b"expect")
            || name.eq_ignore_ascii_case(b"http2-settings")
        {
            return Classified::Hyper;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in crate::forward::list_members(h.value) {
                if option.eq_ignore_ascii_case(b"upgrade") {
                    return Classified::Hyper;
                }
                close |= option.eq_ignore_ascii_case(b"close");
            }
        }
        headers.push((span(name), span(h.value)));
    }
    match (length, coding) {
        (false, false) | (true, true) => Classified::Fast(Parsed {
            len,
            close: close || length,
            method: span(method.as_bytes()),
            target: span(target.as_bytes()),
            headers,
        }),
        _ => Classified::Hyper,
    }
}

impl Parsed {
    /// The request, its target and header values sliced from `head` (the buffer `classify`
    /// read, frozen); `None` when `http` refuses a part `httparse` accepted.
    pub fn request<B>(&self, head: &Bytes, body: B) -> Option<Request<B>> {
        let slice = |(start, end): (usize, usize)| head.get(start..end);
        // Offsets come from parsing this very head; checked all the same, never trusted.
        let shared = |(start, end): (usize, usize)| {
            (start <= end && end <= head.len()).then(|| head.slice(start..end))
        };
        let method = Method::from_bytes(slice(self.method)?).ok()?;
        let uri = Uri::from_maybe_shared(shared(self.target)?).ok()?;
        // Room for what doorman adds on the way (request id, `X-Forwarded-*`, identity), so
        // the map is not grown and rehashed part-way through the request.
        let mut map = HeaderMap::with_capacity(self.headers.len() + ADDED_HEADERS);
        for &(name, value) in &self.headers {
            let name = HeaderName::from_bytes(slice(name)?).ok()?;
            let value = HeaderValue::from_maybe_shared(shared(value)?).ok()?;
            map.append(name, value);
        }
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = map;
        Some(request)
    }
}

#[cfg(test)]
mod tests;
