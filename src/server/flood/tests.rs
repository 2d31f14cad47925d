use super::*;
use proptest::prelude::*;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut out = vec![len[1], len[2], len[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn limits(max: u32) -> FloodLimits {
    FloodLimits {
        max_pings: max,
        max_settings: max,
        window: Duration::from_secs(10),
    }
}

fn stream_of(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    for f in frames {
        out.extend_from_slice(f);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn pings_over_the_limit_are_a_flood_acks_and_other_frames_are_not() {
    let mut frames = vec![frame(SETTINGS, 0, 0, &[]), frame(SETTINGS, ACK, 0, &[])];
    for _ in 0..50 {
        frames.push(frame(PING, ACK, 0, &[0; 8]));
        frames.push(frame(0x0, 0, 1, &[7; 300]));
    }
    for _ in 0..5 {
        frames.push(frame(PING, 0, 0, &[0; 8]));
    }
    let mut inbound = Inbound::new(limits(5));
    assert_eq!(inbound.scan(&stream_of(&frames)), None);
    assert_eq!(inbound.scan(&frame(PING, 0, 0, &[1; 8])), Some(Flood::Ping));
}

#[tokio::test(start_paused = true)]
async fn settings_over_the_limit_are_a_flood_even_byte_by_byte() {
    let frames: Vec<_> = (0..4)
        .map(|_| frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]))
        .collect();
    let mut inbound = Inbound::new(limits(3));
    let mut found = None;
    for b in stream_of(&frames) {
        found = found.or(inbound.scan(&[b]));
    }
    assert_eq!(found, Some(Flood::Settings));
}

#[tokio::test(start_paused = true)]
async fn the_window_resets() {
    let mut inbound = Inbound::new(limits(3));
    assert_eq!(inbound.scan(PREFACE), None);
    for _ in 0..10 {
        for _ in 0..3 {
            assert_eq!(inbound.scan(&frame(PING, 0, 0, &[0; 8])), None);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
    }
}

#[test]
fn http1_turns_it_off() {
    let mut inbound = Inbound::new(limits(1));
    assert_eq!(inbound.scan(b"GET / HTTP/1.1\r\n"), None);
    assert!(!inbound.active());
    assert_eq!(inbound.scan(&frame(PING, 0, 0, &[0; 8]).repeat(5)), None);
    // A near-miss of the preface too.
    let mut inbound = Inbound::new(limits(1));
    assert_eq!(inbound.scan(b"PRI * HTTP/2.0\r\n\r\nXX"), None);
    assert!(!inbound.active());
}

#[tokio::test(start_paused = true)]
async fn the_goaway_names_the_last_stream_and_enhance_your_calm() {
    let mut inbound = Inbound::new(limits(1));
    inbound.scan(&stream_of(&[
        frame(HEADERS, 0x5, 7, &[0x82]),
        frame(HEADERS, 0x5, 3, &[0x82]),
    ]));
    let goaway = inbound.goaway(Flood::Ping);
    let bytes = goaway.bytes();
    let len = usize::from(bytes[2]);
    assert_eq!(bytes.len(), 9 + len);
    assert_eq!(bytes[3], GOAWAY);
    assert_eq!(&bytes[5..9], &[0, 0, 0, 0], "stream 0");
    assert_eq!(&bytes[9..13], &7u32.to_be_bytes());
    assert_eq!(&bytes[13..17], &0xbu32.to_be_bytes());
    assert_eq!(&bytes[17..], b"ping flood");
}

#[test]
fn outbound_boundaries_follow_frames_across_writes() {
    let mut out = Outbound::default();
    assert!(out.at_boundary());
    let mut bytes = frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
    bytes.extend(frame(0x0, 0, 1, &[1; 20_000]));
    bytes.extend(frame(SETTINGS, ACK, 0, &[]));
    let ends = [15, 15 + 20_009, bytes.len()];
    for (i, b) in bytes.iter().enumerate() {
        out.advance(std::slice::from_ref(b));
        assert_eq!(
            out.at_boundary(),
            ends.contains(&(i + 1)),
            "after byte {}",
            i + 1
        );
    }
    let mut out = Outbound::default();
    out.advance(&bytes[..4]);
    assert_eq!(out.step(), 5);
    out.advance(&bytes[4..9]);
    assert_eq!(out.step(), 6);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..64), preface in any::<bool>()) {
        let mut inbound = Inbound::new(limits(2));
        let mut out = Outbound::default();
        if preface {
            let _ = inbound.scan(PREFACE);
        }
        for c in &chunks {
            let _ = inbound.scan(c);
            out.advance(c);
            let _ = out.step();
        }
        let _ = inbound.goaway(Flood::Settings);
    }
}
