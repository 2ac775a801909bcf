//! Malformed SPDY/3.1 after a real `/exec` upgrade: random bytes, and sequences of frames
//! (valid ones from our encoder, with its shared header compression, and raw control frames
//! with arbitrary type, flags and length) whose bytes are then flipped and cut. Each case
//! runs through [`Harness::run`]: no panic, the server closes, no task left behind.
//!
//! Default counts: 192 byte soups and 192 frame sequences on half-closed connections, and 24
//! byte soups on connections the client keeps open (the server must give up on its own at
//! the stream-creation timeout). `PROPTEST_CASES=N` runs N of each, for example
//! `PROPTEST_CASES=20000 cargo test -p node-agent --lib fuzz::spdy -- --nocapture`.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::Encoder;

use super::harness::{Harness, run_all};
use crate::kubelet_api::remotecommand::over_spdy::SpdySessionConfig;
use crate::kubelet_api::spdy::{
    self, Frame, FrameEncoder, GoAwayStatus, HeaderBlock, RstStatus, Setting, SynStream,
};

const PROTOCOLS: [&str; 5] =
    ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];
const QUERIES: [&str; 2] =
    ["command=sh&input=1&output=1&error=1", "command=sh&stdin=true&stdout=true&tty=true"];
const STREAM_TYPES: [&str; 7] = ["error", "stdin", "stdout", "stderr", "resize", "", "junk"];

fn harness() -> Harness {
    Harness::new(SpdySessionConfig {
        stream_creation_timeout: Duration::from_millis(300),
        drain_timeout: Duration::from_secs(1),
        connection: spdy::Config { idle_timeout: Some(Duration::from_secs(5)), ..spdy::Config::default() },
    })
}

fn upgrade(protocol: usize, query: usize) -> String {
    format!(
        "POST /exec/default/p/app?{} HTTP/1.1\r\nHost: vk\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\
         X-Stream-Protocol-Version: {}\r\nContent-Length: 0\r\n\r\n",
        QUERIES[query % QUERIES.len()],
        PROTOCOLS[protocol % PROTOCOLS.len()]
    )
}

/// One piece of a frame sequence.
#[derive(Clone, Debug)]
enum Piece {
    Frame(Frame),
    /// A control frame header with any type, flags and length, then `payload`.
    RawControl {
        version: u16,
        frame_type: u16,
        flags: u8,
        length: u32,
        payload: Vec<u8>,
    },
    /// A data frame header claiming `length`, then `payload`.
    RawData {
        stream_id: u32,
        flags: u8,
        length: u32,
        payload: Vec<u8>,
    },
}

fn stream_id() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..12, any::<u32>()]
}

fn frame() -> impl Strategy<Value = Frame> {
    let syn = (stream_id(), 0usize..STREAM_TYPES.len(), any::<bool>(), any::<bool>(), 0u8..8).prop_map(
        |(stream_id, kind, fin, unidirectional, priority)| {
            let mut headers = HeaderBlock::new();
            headers.insert("streamType", STREAM_TYPES[kind]);
            Frame::SynStream(SynStream {
                stream_id,
                associated_to: 0,
                priority,
                slot: 0,
                fin,
                unidirectional,
                headers,
            })
        },
    );
    let data = (stream_id(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64))
        .prop_map(|(stream_id, fin, data)| Frame::Data { stream_id, fin, data: Bytes::from(data) });
    prop_oneof![
        3 => syn,
        3 => data,
        1 => any::<u32>().prop_map(|id| Frame::Ping { id }),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(stream_id, delta)| Frame::WindowUpdate { stream_id, delta }),
        1 => (stream_id(), any::<u32>())
            .prop_map(|(stream_id, code)| Frame::RstStream { stream_id, status: RstStatus::from_code(code) }),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(last_good_stream_id, code)| Frame::GoAway {
            last_good_stream_id,
            status: GoAwayStatus::from_code(code),
        }),
        1 => proptest::collection::vec((any::<u8>(), any::<u32>(), any::<u32>()), 0..4).prop_map(|entries| {
            let entries = entries.into_iter().map(|(flags, id, value)| Setting { flags, id, value }).collect();
            Frame::Settings { clear: false, entries }
        }),
        1 => any::<u16>().prop_map(|frame_type| Frame::Unknown { frame_type: frame_type & 0x7fff }),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    let payload = || proptest::collection::vec(any::<u8>(), 0..48);
    prop_oneof![
        6 => frame().prop_map(Piece::Frame),
        1 => (prop_oneof![Just(3u16), any::<u16>()], any::<u16>(), any::<u8>(), any::<u32>(), payload())
            .prop_map(|(version, frame_type, flags, length, payload)| Piece::RawControl {
                version, frame_type, flags, length, payload
            }),
        1 => (stream_id(), any::<u8>(), any::<u32>(), payload())
            .prop_map(|(stream_id, flags, length, payload)| Piece::RawData { stream_id, flags, length, payload }),
    ]
}

/// SYN_STREAMs for every stream a session of `query` waits for, so that cases also reach
/// the provider.
fn opening(query: usize) -> Vec<Piece> {
    let mut types = vec!["error", "stdin", "stdout"];
    types.push(if query.is_multiple_of(QUERIES.len()) { "stderr" } else { "resize" });
    types
        .into_iter()
        .zip((1u32..).step_by(2))
        .map(|(kind, stream_id)| {
            let mut headers = HeaderBlock::new();
            headers.insert("streamType", kind);
            Piece::Frame(Frame::SynStream(SynStream {
                stream_id,
                associated_to: 0,
                priority: 0,
                slot: 0,
                fin: false,
                unidirectional: false,
                headers,
            }))
        })
        .collect()
}

/// Encodes `pieces` (valid frames share one header compressor, as on a real connection),
/// then XORs bytes at `flips` and keeps at most `keep` bytes.
fn wire(pieces: &[Piece], flips: &[(usize, u8)], keep: Option<usize>) -> Vec<u8> {
    let mut encoder = FrameEncoder::new().expect("a header compressor");
    let mut out = BytesMut::new();
    for piece in pieces {
        match piece {
            Piece::Frame(frame) => {
                // Frames the encoder refuses (none of these sizes) are simply left out.
                let _ = encoder.encode(frame.clone(), &mut out);
            }
            Piece::RawControl { version, frame_type, flags, length, payload } => {
                out.put_u16(0x8000 | (version & 0x7fff));
                out.put_u16(*frame_type);
                out.put_u32((u32::from(*flags) << 24) | (length & 0x00ff_ffff));
                out.put_slice(payload);
            }
            Piece::RawData { stream_id, flags, length, payload } => {
                out.put_u32(stream_id & 0x7fff_ffff);
                out.put_u32((u32::from(*flags) << 24) | (length & 0x00ff_ffff));
                out.put_slice(payload);
            }
        }
    }
    let mut bytes = out.to_vec();
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
fn spdy_sessions_survive_192_byte_soups_on_half_closed_connections() {
    let harness = harness();
    let soup = (0usize..5, 0usize..2, proptest::collection::vec(any::<u8>(), 1..2048));
    run_all(soup, 192, |(protocol, query, bytes)| harness.run(&upgrade(protocol, query), &bytes, true));
}

#[test]
fn spdy_sessions_survive_192_mutated_frame_sequences() {
    let harness = harness();
    let sequences = (
        0usize..5,
        0usize..2,
        any::<bool>(),
        proptest::collection::vec(piece(), 1..10),
        proptest::collection::vec((any::<usize>(), 1u8..=255), 0..4),
        proptest::option::weighted(0.3, 0usize..600),
    );
    run_all(sequences, 192, |(protocol, query, opened, mut pieces, flips, keep)| {
        if opened {
            pieces.splice(0..0, opening(query));
        }
        harness.run(&upgrade(protocol, query), &wire(&pieces, &flips, keep), true)
    });
    assert!(harness.provider_sessions() > 0, "some cases reached the provider");
    println!("{} SPDY cases reached the provider", harness.provider_sessions());
}

#[test]
fn spdy_sessions_end_by_themselves_after_24_byte_soups_on_connections_kept_open() {
    let harness = harness();
    let soup = (0usize..5, proptest::collection::vec(any::<u8>(), 1..512));
    run_all(soup, 24, |(protocol, bytes)| harness.run(&upgrade(protocol, 0), &bytes, false));
}
