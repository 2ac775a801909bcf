//! Malformed WebSocket after a real `/exec` upgrade, for each channel subprotocol: random
//! bytes, and sequences of frames built by hand (any opcode, reserved bits, masked or not,
//! lengths that lie, oversized control frames, bad close payloads, invalid UTF-8 and base64,
//! unknown channels) whose bytes are then flipped and cut. Each case runs through
//! [`Harness::run`]: no panic, the server closes, no task left behind.
//!
//! Default counts: 192 byte soups and 256 frame sequences. `PROPTEST_CASES=N` runs N of each,
//! for example `PROPTEST_CASES=20000 cargo test -p node-agent --lib fuzz::websocket`.

use base64::Engine as _;
use proptest::prelude::*;

use super::harness::{Harness, run_all};
use crate::kubelet_api::remotecommand::over_spdy::SpdySessionConfig;

const PROTOCOLS: [&str; 5] = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "base64.channel.k8s.io",
    "channel.k8s.io",
];
const QUERIES: [&str; 2] = ["command=sh&input=1&output=1&error=1", "command=sh&input=1&output=1&tty=1"];

fn upgrade(protocol: usize, query: usize) -> String {
    format!(
        "GET /exec/default/p/app?{} HTTP/1.1\r\nHost: vk\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: {}\r\n\r\n",
        QUERIES[query % QUERIES.len()],
        PROTOCOLS[protocol % PROTOCOLS.len()]
    )
}

/// One hand-built frame.
#[derive(Clone, Debug)]
struct WsFrame {
    fin: bool,
    /// RSV1..3 (non-zero is a protocol error without extensions).
    rsv: u8,
    opcode: u8,
    /// Clients must mask; `None` sends the payload in the clear.
    mask: Option<[u8; 4]>,
    /// A length that differs from the payload's, when set.
    claimed: Option<u64>,
    payload: Vec<u8>,
}

impl WsFrame {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.fin) << 7 | (self.rsv & 7) << 4 | (self.opcode & 0x0f));
        let length = self.claimed.unwrap_or(self.payload.len() as u64);
        let masked = if self.mask.is_some() { 0x80 } else { 0 };
        match length {
            0..=125 => out.push(masked | length as u8),
            126..=0xffff => {
                out.push(masked | 126);
                out.extend_from_slice(&(length as u16).to_be_bytes());
            }
            _ => {
                out.push(masked | 127);
                out.extend_from_slice(&length.to_be_bytes());
            }
        }
        match self.mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(self.payload.iter().enumerate().map(|(i, byte)| byte ^ key[i % 4]));
            }
            None => out.extend_from_slice(&self.payload),
        }
    }
}

/// A payload in the shape the channel protocols expect, or not.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    let data = || proptest::collection::vec(any::<u8>(), 0..48);
    prop_oneof![
        // Binary channel message: channel byte then data (channels 0..=4 exist, 255 is CLOSE).
        (prop_oneof![0u8..6, Just(255u8), any::<u8>()], data()).prop_map(|(channel, mut data)| {
            data.insert(0, channel);
            data
        }),
        // Base64 channel message: channel digit then base64 (sometimes broken).
        (0u8..6, data(), any::<bool>()).prop_map(|(channel, data, broken)| {
            let mut text = vec![b'0' + channel];
            text.extend(base64::engine::general_purpose::STANDARD.encode(data).bytes());
            if broken {
                text.push(b'*');
            }
            text
        }),
        // v5 CLOSE with a missing, known or unknown channel.
        proptest::collection::vec(any::<u8>(), 0..3).prop_map(|mut rest| {
            rest.insert(0, 255);
            rest
        }),
        data(),
        Just(Vec::new()),
    ]
}

fn ws_frame() -> impl Strategy<Value = WsFrame> {
    let opcode = prop_oneof![4 => Just(2u8), 2 => Just(1u8), 1 => Just(0u8), 1 => Just(8u8), 1 => Just(9u8), 1 => Just(10u8), 1 => 0u8..16];
    let rsv = prop_oneof![6 => Just(0u8), 1 => 0u8..8];
    let mask = prop_oneof![6 => any::<[u8; 4]>().prop_map(Some), 1 => Just(None)];
    let claimed = prop_oneof![
        8 => Just(None),
        1 => (0u64..300).prop_map(Some),
        1 => prop_oneof![Just(u64::MAX), Just(1u64 << 62), Just(70_000u64), Just(17u64 << 20)].prop_map(Some),
    ];
    let oversized = proptest::collection::vec(any::<u8>(), 126..300);
    let payload = prop_oneof![8 => payload(), 1 => oversized];
    (any::<bool>(), rsv, opcode, mask, claimed, payload).prop_map(
        |(fin, rsv, opcode, mask, claimed, payload)| WsFrame {
            fin: fin || opcode >= 8,
            rsv,
            opcode,
            mask,
            claimed,
            payload,
        },
    )
}

fn wire(frames: &[WsFrame], flips: &[(usize, u8)], keep: Option<usize>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for frame in frames {
        frame.write(&mut bytes);
    }
    if !bytes.is_empty() {
        let len = bytes.len();
        for (at, xor) in flips {
            bytes[at % len] ^= xor;
        }
    }
    if let Some(keep) = keep {
        bytes.truncate(keep);
    }
    bytes
}

#[test]
fn websocket_sessions_survive_192_byte_soups() {
    let harness = Harness::new(SpdySessionConfig::default());
    let soup = (0usize..5, 0usize..2, proptest::collection::vec(any::<u8>(), 1..2048));
    run_all(soup, 192, |(protocol, query, bytes)| harness.run(&upgrade(protocol, query), &bytes, true));
}

#[test]
fn websocket_sessions_survive_256_mutated_frame_sequences() {
    let harness = Harness::new(SpdySessionConfig::default());
    let sequences = (
        0usize..5,
        0usize..2,
        proptest::collection::vec(ws_frame(), 1..8),
        proptest::collection::vec((any::<usize>(), 1u8..=255), 0..3),
        proptest::option::weighted(0.2, 0usize..400),
    );
    run_all(sequences, 256, |(protocol, query, frames, flips, keep)| {
        harness.run(&upgrade(protocol, query), &wire(&frames, &flips, keep), true)
    });
    assert!(harness.provider_sessions() > 0, "cases reached the provider");
    println!("{} WebSocket cases reached the provider", harness.provider_sessions());
}
