//! HTTP/2 control-frame flood detection over the raw frame stream, without decoding it.
//!
//! RFC 9113 obliges a server to answer every PING (§6.7) and to apply and acknowledge every
//! SETTINGS frame (§6.5); hyper and h2 do so forever and never send GOAWAY for a flood
//! (CVE-2019-9512 "Ping Flood", CVE-2019-9515 "Settings Flood"). [`Inbound`] reads the client
//! side: the 24-byte preface, then 9-byte frame headers (length 24 bits, type, flags,
//! stream 31 bits) whose payloads it skips, counting non-ACK PING (0x6) and SETTINGS (0x4)
//! frames per window. [`Outbound`] follows the server side's frame boundaries (framed from
//! byte 0) so a GOAWAY (§6.8) can be put between two frames. A few integer operations per
//! frame header and a clock read only for PING and SETTINGS frames; nothing allocates, and no
//! input can make it panic.

use std::time::Duration;

use tokio::time::Instant;

pub use crate::config::FloodLimits;

/// Which limit a client passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    Ping,
    Settings,
}

impl Flood {
    /// The `kind` label of `doorman_limits_hit_total`.
    pub fn metric(self) -> &'static str {
        match self {
            Flood::Ping => "http2_ping_flood",
            Flood::Settings => "http2_settings_flood",
        }
    }

    /// The GOAWAY's debug data.
    fn debug_data(self) -> &'static [u8] {
        match self {
            Flood::Ping => b"ping flood",
            Flood::Settings => b"settings flood",
        }
    }
}

const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADER_LEN: usize = 9;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const ACK: u8 = 0x1;
/// RFC 9113 §7: the peer "is exhibiting a behavior that might be generating excessive load".
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// Where the client's byte stream is.
#[derive(Debug, Clone, Copy)]
enum In {
    /// Matched this many bytes of the preface so far.
    Preface(u8),
    /// Collecting a frame header.
    Header { have: u8, bytes: [u8; HEADER_LEN] },
    /// Skipping this many payload bytes.
    Payload(u32),
    /// Not HTTP/2 (or given up): nothing more is looked at.
    Off,
}

/// Frames per window of one kind.
#[derive(Debug, Clone, Copy)]
struct Counter {
    since: Option<Instant>,
    count: u32,
}

impl Counter {
    /// Counts one frame; true when that makes more than `max` in the window.
    fn hit(&mut self, max: u32, window: Duration) -> bool {
        let now = Instant::now();
        match self.since {
            Some(since) if now.saturating_duration_since(since) < window => {
                self.count = self.count.saturating_add(1);
            }
            _ => {
                self.since = Some(now);
                self.count = 1;
            }
        }
        self.count > max
    }
}

/// The client side of one connection.
#[derive(Debug, Clone)]
pub struct Inbound {
    state: In,
    limits: FloodLimits,
    pings: Counter,
    settings: Counter,
    /// Highest client stream id seen on a HEADERS frame: the GOAWAY's last stream id.
    last_stream: u32,
}

impl Inbound {
    pub fn new(limits: FloodLimits) -> Self {
        Inbound {
            state: In::Preface(0),
            limits,
            pings: Counter {
                since: None,
                count: 0,
            },
            settings: Counter {
                since: None,
                count: 0,
            },
            last_stream: 0,
        }
    }

    /// False once the stream turned out not to be HTTP/2.
    pub fn active(&self) -> bool {
        !matches!(self.state, In::Off)
    }

    /// Follows `bytes` (the next bytes the client sent); `Some` when they passed a limit.
    pub fn scan(&mut self, mut bytes: &[u8]) -> Option<Flood> {
        let mut flood = None;
        while !bytes.is_empty() {
            match &mut self.state {
                In::Off => return flood,
                In::Preface(matched) => {
                    let at = usize::from(*matched);
                    let want = PREFACE.get(at..).unwrap_or_default();
                    let n = want.len().min(bytes.len());
                    if want.get(..n) != bytes.get(..n) {
                        self.state = In::Off;
                        return flood;
                    }
                    bytes = bytes.get(n..).unwrap_or_default();
                    let matched = at + n;
                    self.state = if matched == PREFACE.len() {
                        In::Header {
                            have: 0,
                            bytes: [0; HEADER_LEN],
                        }
                    } else {
                        In::Preface(u8::try_from(matched).unwrap_or(0))
                    };
                }
                In::Header {
                    have,
                    bytes: header,
                } => {
                    let at = usize::from(*have);
                    let n = (HEADER_LEN - at).min(bytes.len());
                    if let (Some(to), Some(from)) = (header.get_mut(at..at + n), bytes.get(..n)) {
                        to.copy_from_slice(from);
                    }
                    bytes = bytes.get(n..).unwrap_or_default();
                    if at + n < HEADER_LEN {
                        *have = u8::try_from(at + n).unwrap_or(0);
                        continue;
                    }
                    let header = *header;
                    flood = flood.or(self.frame(&header));
                    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]);
                    self.state = In::Payload(len);
                }
                In::Payload(left) => {
                    let n = usize::try_from(*left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    bytes = bytes.get(n..).unwrap_or_default();
                    *left -= u32::try_from(n).unwrap_or(*left);
                    if *left == 0 {
                        self.state = In::Header {
                            have: 0,
                            bytes: [0; HEADER_LEN],
                        };
                    }
                }
            }
        }
        // A frame with an empty payload ends exactly at a header.
        if let In::Payload(0) = self.state {
            self.state = In::Header {
                have: 0,
                bytes: [0; HEADER_LEN],
            };
        }
        flood
    }

    /// One complete frame header.
    fn frame(&mut self, h: &[u8; HEADER_LEN]) -> Option<Flood> {
        let (kind, flags) = (h[3], h[4]);
        match kind {
            PING if flags & ACK == 0 => self
                .pings
                .hit(self.limits.max_pings, self.limits.window)
                .then_some(Flood::Ping),
            SETTINGS if flags & ACK == 0 => self
                .settings
                .hit(self.limits.max_settings, self.limits.window)
                .then_some(Flood::Settings),
            HEADERS => {
                let id = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
                if id % 2 == 1 {
                    self.last_stream = self.last_stream.max(id);
                }
                None
            }
            _ => None,
        }
    }

    /// The GOAWAY (RFC 9113 §6.8) that ends a connection for `flood`: ENHANCE_YOUR_CALM, the
    /// highest stream the client opened, a short debug text.
    pub fn goaway(&self, flood: Flood) -> Goaway {
        let debug = flood.debug_data();
        let mut bytes = [0u8; GOAWAY_MAX];
        let payload = 8 + debug.len();
        let len = u32::try_from(payload).unwrap_or(8).to_be_bytes();
        bytes[..3].copy_from_slice(&len[1..]);
        bytes[3] = GOAWAY;
        bytes[9..13].copy_from_slice(&self.last_stream.to_be_bytes());
        bytes[13..17].copy_from_slice(&ENHANCE_YOUR_CALM.to_be_bytes());
        let end = (HEADER_LEN + payload).min(GOAWAY_MAX);
        if let (Some(to), Some(from)) = (bytes.get_mut(17..end), debug.get(..end - 17)) {
            to.copy_from_slice(from);
        }
        Goaway { bytes, len: end }
    }
}

const GOAWAY_MAX: usize = HEADER_LEN + 8 + 16;

/// A GOAWAY frame ready to write.
#[derive(Debug, Clone, Copy)]
pub struct Goaway {
    bytes: [u8; GOAWAY_MAX],
    len: usize,
}

impl Goaway {
    pub fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The frame boundaries of what the server wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outbound {
    /// Header bytes of the current frame seen so far (0 between frames).
    have: u8,
    /// The length bytes of the current header.
    len: [u8; 3],
    /// Payload bytes of the current frame still to come.
    left: u32,
}

impl Outbound {
    /// Follows `bytes`, which the server just wrote.
    pub fn advance(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.left > 0 {
                let n = usize::try_from(self.left).map_or(bytes.len(), |l| l.min(bytes.len()));
                bytes = bytes.get(n..).unwrap_or_default();
                self.left -= u32::try_from(n).unwrap_or(self.left);
                continue;
            }
            let at = usize::from(self.have);
            let n = (HEADER_LEN - at).min(bytes.len());
            for (i, b) in bytes.iter().take(n).enumerate() {
                if let Some(slot) = self.len.get_mut(at + i) {
                    *slot = *b;
                }
            }
            bytes = bytes.get(n..).unwrap_or_default();
            if at + n < HEADER_LEN {
                self.have = u8::try_from(at + n).unwrap_or(0);
            } else {
                self.have = 0;
                self.left = u32::from_be_bytes([0, self.len[0], self.len[1], self.len[2]]);
            }
        }
    }

    /// Between two frames.
    pub fn at_boundary(&self) -> bool {
        self.have == 0 && self.left == 0
    }

    /// How many bytes may be written before the next point where [`Self::at_boundary`] can
    /// be checked again (the rest of a header, or of a payload).
    pub fn step(&self) -> usize {
        if self.left > 0 {
            usize::try_from(self.left).unwrap_or(usize::MAX)
        } else {
            HEADER_LEN - usize::from(self.have)
        }
    }
}

#[cfg(test)]
mod tests;
