//! Formats a request line exactly as the rest of doorman's logs look: the JSON object of
//! `[logging] format = "json"` (`timestamp`, `level`, `message`, then the fields), or the
//! text line (`<timestamp> <LEVEL> request field=value …`, strings quoted). Pure: a record
//! in, bytes appended to a buffer; no allocation beyond the buffer's growth.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{round, Record};

/// Appends `record` as one line (with its `\n`) to `out`.
pub fn format(record: &Record, json: bool, out: &mut String) {
    let level = if record.status >= 500 { "WARN" } else { "INFO" };
    let mut line = Line { out, json };
    if json {
        line.out.push_str("{\"timestamp\":\"");
        timestamp(record.at, line.out);
        line.out.push_str("\",\"level\":\"");
        line.out.push_str(level);
        line.out.push_str("\",\"message\":\"request\"");
    } else {
        timestamp(record.at, line.out);
        let _ = write!(line.out, " {level:>5} request");
    }
    line.str("request_id", record.request_id.to_str().unwrap_or(""));
    if let Some(client) = record.client {
        line.ip("client", client);
    }
    line.str("method", record.method.as_str());
    line.str("path", &record.path);
    line.str("route", &record.route);
    if let Some(upstream) = &record.upstream {
        line.str("upstream", upstream);
    }
    line.str("decision", record.decision);
    line.str("reason", record.reason);
    if let Some(shadow) = &record.shadow {
        let mut text = String::new();
        let _ = write!(text, "{shadow}");
        line.str("shadow", &text);
    }
    line.number("status", f64::from(record.status));
    line.number("total_ms", round(record.total_seconds * 1e3, 3));
    line.number("auth_us", round(record.auth_seconds * 1e6, 1));
    if let Some(upstream) = record.upstream_seconds {
        line.number("upstream_ms", round(upstream * 1e3, 3));
    }
    if let Some(user) = record.user() {
        line.str("user", &user);
    }
    if json {
        line.out.push('}');
    }
    line.out.push('\n');
}

struct Line<'a> {
    out: &'a mut String,
    json: bool,
}

impl Line<'_> {
    fn key(&mut self, key: &str) {
        if self.json {
            self.out.push_str(",\"");
            self.out.push_str(key);
            self.out.push_str("\":");
        } else {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push('=');
        }
    }

    /// A quoted string: JSON escapes in JSON, Rust's `Debug` quoting in text (as `tracing`
    /// writes string fields).
    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        if self.json {
            json_string(value, self.out);
        } else if value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            // What `Debug` writes for printable ASCII without quotes or backslashes, without
            // going through the formatter for each character.
            self.out.push('"');
            self.out.push_str(value);
            self.out.push('"');
        } else {
            let _ = write!(self.out, "{value:?}");
        }
    }

    fn ip(&mut self, key: &str, value: IpAddr) {
        self.key(key);
        if self.json {
            let _ = write!(self.out, "\"{value}\"");
        } else {
            let _ = write!(self.out, "{value}");
        }
    }

    /// A number: integers without a fraction in text; in JSON a float keeps `.0`.
    fn number(&mut self, key: &str, value: f64) {
        self.key(key);
        if key == "status" {
            let _ = write!(self.out, "{}", value as u16);
        } else if value.is_finite() {
            let start = self.out.len();
            let _ = write!(self.out, "{value}");
            if self.json && !self.out[start..].contains('.') {
                self.out.push_str(".0");
            }
        } else {
            self.out.push_str("null");
        }
    }
}

/// A JSON string literal (RFC 8259 §7): quotes, backslashes and control characters escaped.
fn json_string(value: &str, out: &mut String) {
    out.push('"');
    let mut plain = 0;
    for (i, c) in value.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&value[plain..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push_str(escape);
        }
        plain = i + c.len_utf8();
    }
    out.push_str(&value[plain..]);
    out.push('"');
}

/// RFC 3339 in UTC with microseconds (`2026-12-03T16:08:04.123456Z`), as `tracing` writes it.
fn timestamp(at: SystemTime, out: &mut String) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros()
    );
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days` algorithm, public domain description).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let mut s = String::new();
        timestamp(UNIX_EPOCH, &mut s);
        assert_eq!(s, "1970-01-01T00:00:00.000000Z");
        for (secs, micros, want) in [
            (1_796_314_084, 123_456, "2026-12-03T16:08:04.123456Z"),
            (951_782_400, 7, "2000-02-29T00:00:00.000007Z"),
            (4_107_542_399, 999_999, "2100-02-28T23:59:59.999999Z"),
        ] {
            let mut s = String::new();
            timestamp(
                UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros),
                &mut s,
            );
            assert_eq!(s, want);
        }
    }

    #[test]
    fn text_strings_are_quoted_exactly_as_debug_quotes_them() {
        for value in [
            "",
            "/api/projects/1",
            "it's",
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "new\nline",
            "bell\u{7}",
            "del\u{7f}",
            "caf\u{e9}",
            "zero\u{200b}width",
        ] {
            let mut out = String::new();
            Line {
                out: &mut out,
                json: false,
            }
            .str("k", value);
            assert_eq!(out, format!(" k={value:?}"), "{value:?}");
        }
    }

    fn record(status: u16) -> Record {
        Record {
            at: UNIX_EPOCH + Duration::from_secs(1_796_314_084),
            request_id: http::HeaderValue::from_static("req-42"),
            client: Some("203.0.113.7".parse().unwrap()),
            upstream: Some("app".into()),
            method: http::Method::GET,
            path: "/a\"b".to_string(),
            route: "dashboard".into(),
            decision: "forward",
            reason: "",
            shadow: None,
            status,
            total_seconds: 0.000_612_000_1,
            auth_seconds: 0.000_021_349,
            upstream_seconds: Some(0.001),
            user: None,
            user_policy: crate::config::UserIdLogging::Plain,
        }
    }

    #[test]
    fn a_json_line_is_one_object_with_every_field() {
        let mut s = String::new();
        format(&record(200), true, &mut s);
        assert!(s.ends_with("}\n") && s.matches('\n').count() == 1, "{s}");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["timestamp"], "2026-12-03T16:08:04.000000Z");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "request");
        assert_eq!(v["request_id"], "req-42");
        assert_eq!(v["client"], "203.0.113.7");
        assert_eq!(v["path"], "/a\"b");
        assert_eq!(v["upstream"], "app");
        assert_eq!(v["status"], 200);
        assert_eq!(v["total_ms"], 0.612);
        assert_eq!(v["auth_us"], 21.3);
        assert_eq!(v["upstream_ms"], 1.0);
        assert!(v.get("user").is_none() && v.get("shadow").is_none(), "{s}");
    }

    #[test]
    fn a_text_line_quotes_strings_and_marks_5xx_as_warnings() {
        let mut s = String::new();
        format(&record(502), false, &mut s);
        assert_eq!(
            s,
            "2026-12-03T16:08:04.000000Z  WARN request request_id=\"req-42\" client=203.0.113.7 \
             method=\"GET\" path=\"/a\\\"b\" route=\"dashboard\" upstream=\"app\" \
             decision=\"forward\" reason=\"\" status=502 total_ms=0.612 auth_us=21.3 upstream_ms=1\n"
        );
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        let mut s = String::new();
        json_string("a\"b\\c\nd\u{1}é", &mut s);
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }
}
