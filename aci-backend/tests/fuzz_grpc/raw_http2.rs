//! Broken HTTP/2 on fresh connections: an optional client preface, then frames with any
//! type, flags, stream id and a length that may lie, then flipped bytes.

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::served::{ANSWER_TIMEOUT, Served};

/// Random HTTP/2: an optional client preface, then frames with any type, flags, stream id
/// and a length that may lie, then flipped bytes.
#[derive(Clone, Debug)]
pub struct RawFrame {
    frame_type: u8,
    flags: u8,
    stream_id: u32,
    claimed: Option<u32>,
    payload: Vec<u8>,
}

pub fn raw_frame() -> impl Strategy<Value = RawFrame> {
    let frame_type = prop_oneof![0u8..10, any::<u8>()];
    let stream_id = prop_oneof![Just(0u32), 1u32..8, any::<u32>()];
    let claimed = prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(|n| Some(n & 0x00ff_ffff))];
    (frame_type, any::<u8>(), stream_id, claimed, proptest::collection::vec(any::<u8>(), 0..40)).prop_map(
        |(frame_type, flags, stream_id, claimed, payload)| RawFrame {
            frame_type,
            flags,
            stream_id,
            claimed,
            payload,
        },
    )
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub fn raw_connection(preface: bool, frames: &[RawFrame], flips: &[(usize, u8)]) -> Vec<u8> {
    let mut out = Vec::new();
    if preface {
        out.extend_from_slice(PREFACE);
        // An empty SETTINGS frame, as every client sends first.
        out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    }
    for frame in frames {
        let length = frame.claimed.unwrap_or(frame.payload.len() as u32);
        out.extend_from_slice(&length.to_be_bytes()[1..]);
        out.push(frame.frame_type);
        out.push(frame.flags);
        out.extend_from_slice(&frame.stream_id.to_be_bytes());
        out.extend_from_slice(&frame.payload);
    }
    let start = if preface { PREFACE.len() } else { 0 };
    if out.len() > start {
        let span = out.len() - start;
        for (at, xor) in flips {
            out[start + at % span] ^= xor;
        }
    }
    out
}

/// Writes `bytes` on a fresh connection, half-closes, and reads until the server closes.
pub async fn raw(served: &Served, bytes: &[u8]) -> Result<(), String> {
    let mut stream = served.connect().await?;
    // The server may close at the first bad byte: a failed write is fine.
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
    let mut sink = Vec::new();
    match tokio::time::timeout(ANSWER_TIMEOUT, stream.read_to_end(&mut sink)).await {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("the server kept the connection open {ANSWER_TIMEOUT:?} after our end")),
    }
}
