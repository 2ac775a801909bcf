//! Round trips of every frame type, interoperability with Go's zlib, and malformed input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

use super::codec::{FrameDecoder, FrameEncoder, FrameError};
use super::frame::{Frame, GoAwayStatus, RstStatus, Setting, SynStream};
use super::header_block::HeaderBlock;

fn headers(pairs: &[(&str, &str)]) -> HeaderBlock {
    let mut block = HeaderBlock::new();
    for (name, value) in pairs {
        block.insert(name, value);
    }
    block
}

fn round_trip(frames: Vec<Frame>) {
    let mut encoder = FrameEncoder::new().expect("encoder");
    let mut decoder = FrameDecoder::new();
    let mut wire = BytesMut::new();
    for frame in &frames {
        encoder.encode(frame.clone(), &mut wire).expect("encode");
    }
    for frame in frames {
        let decoded = decoder.decode(&mut wire).expect("decode").expect("a whole frame");
        assert_eq!(decoded, frame);
    }
    assert!(wire.is_empty());
}

#[test]
fn syn_stream_round_trips_with_flags_priority_and_headers() {
    round_trip(vec![
        Frame::SynStream(SynStream {
            stream_id: 1,
            associated_to: 0,
            priority: 7,
            slot: 0,
            fin: false,
            unidirectional: false,
            headers: headers(&[("streamtype", "error")]),
        }),
        Frame::SynStream(SynStream {
            stream_id: 3,
            associated_to: 1,
            priority: 0,
            slot: 2,
            fin: true,
            unidirectional: true,
            headers: headers(&[("streamtype", "stdin"), ("port", "80")]),
        }),
    ]);
}

#[test]
fn syn_reply_and_headers_round_trip() {
    round_trip(vec![
        Frame::SynReply { stream_id: 5, fin: false, headers: HeaderBlock::new() },
        Frame::SynReply { stream_id: 7, fin: true, headers: headers(&[("status", "200")]) },
        Frame::Headers { stream_id: 5, fin: true, headers: headers(&[("x", "y")]) },
    ]);
}

#[test]
fn rst_stream_round_trips_every_status() {
    let statuses = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 42];
    round_trip(
        statuses
            .iter()
            .map(|code| Frame::RstStream { stream_id: 9, status: RstStatus::from_code(*code) })
            .collect(),
    );
    assert_eq!(RstStatus::from_code(5), RstStatus::Cancel);
    assert_eq!(RstStatus::Other(42).code(), 42);
}

#[test]
fn settings_round_trip() {
    round_trip(vec![
        Frame::Settings { clear: false, entries: vec![] },
        Frame::Settings {
            clear: true,
            entries: vec![
                Setting { flags: 1, id: 7, value: 1 << 20 },
                Setting { flags: 0, id: 4, value: 100 },
            ],
        },
    ]);
}

#[test]
fn ping_goaway_and_window_update_round_trip() {
    round_trip(vec![
        Frame::Ping { id: 1 },
        Frame::Ping { id: u32::MAX },
        Frame::GoAway { last_good_stream_id: 7, status: GoAwayStatus::Ok },
        Frame::GoAway { last_good_stream_id: 0, status: GoAwayStatus::ProtocolError },
        Frame::WindowUpdate { stream_id: 0, delta: 1 },
        Frame::WindowUpdate { stream_id: 3, delta: 0x7fff_ffff },
    ]);
}

#[test]
fn data_frames_round_trip_including_empty_fin() {
    round_trip(vec![
        Frame::Data { stream_id: 1, fin: false, data: Bytes::from_static(b"hello") },
        Frame::Data { stream_id: 1, fin: true, data: Bytes::new() },
        Frame::Data { stream_id: 0x7fff_ffff, fin: false, data: Bytes::from(vec![7u8; 70_000]) },
    ]);
}

#[test]
fn a_frame_split_across_reads_decodes_once_complete() {
    let mut encoder = FrameEncoder::new().expect("encoder");
    let mut wire = BytesMut::new();
    let frame = Frame::Data { stream_id: 3, fin: false, data: Bytes::from_static(b"abcdef") };
    encoder.encode(frame.clone(), &mut wire).expect("encode");
    let mut decoder = FrameDecoder::new();
    let mut partial = BytesMut::new();
    for byte in wire.iter() {
        assert_eq!(decoder.decode(&mut partial).expect("partial input is fine"), None);
        partial.extend_from_slice(&[*byte]);
    }
    assert_eq!(decoder.decode(&mut partial).expect("decode"), Some(frame));
}

#[test]
fn header_blocks_compressed_by_go_zlib_decode() {
    // Produced by Go's compress/zlib (BestCompression, SPDY/3 dictionary, Flush per block),
    // as moby/spdystream's framer does for two consecutive SYN_STREAMs.
    let blocks =
        ["78f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff", "c22ac5565c92925f5a02000000ffff"];
    let mut decoder = FrameDecoder::new();
    for (i, (block, want)) in blocks.iter().zip(["error", "stdout"]).enumerate() {
        let compressed = hex::decode(block).expect("hex");
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&[0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00]);
        wire.extend_from_slice(&[(10 + compressed.len()) as u8]);
        wire.extend_from_slice(&(2 * i as u32 + 1).to_be_bytes());
        wire.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        wire.extend_from_slice(&compressed);
        let Some(Frame::SynStream(syn)) = decoder.decode(&mut wire).expect("decode") else {
            panic!("expected SYN_STREAM");
        };
        assert_eq!(syn.headers.get("streamtype"), Some(want));
    }
}

fn decode_all(bytes: &[u8]) -> Result<Vec<Frame>, FrameError> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(bytes);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf)? {
        frames.push(frame);
    }
    Ok(frames)
}

#[test]
fn a_control_frame_of_another_version_is_refused() {
    let err = decode_all(&[0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1]).expect_err("version 2");
    assert!(matches!(err, FrameError::UnsupportedVersion(2)), "{err}");
}

#[test]
fn fixed_size_frames_with_a_wrong_length_are_refused() {
    let err = decode_all(&[0x80, 0x03, 0x00, 0x06, 0, 0, 0, 5, 0, 0, 0, 1, 0]).expect_err("ping of 5");
    assert!(matches!(err, FrameError::InvalidLength { kind: "PING", len: 5 }), "{err}");
    let err = decode_all(&[0x80, 0x03, 0x00, 0x09, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0]).expect_err("delta 0");
    assert!(matches!(err, FrameError::InvalidField(_)), "{err}");
}

#[test]
fn data_on_stream_zero_is_refused() {
    let err = decode_all(&[0, 0, 0, 0, 0, 0, 0, 1, b'x']).expect_err("stream 0");
    assert!(matches!(err, FrameError::ZeroStreamId("DATA")), "{err}");
}

#[test]
fn an_oversized_control_frame_is_refused_before_buffering() {
    let err = decode_all(&[0x80, 0x03, 0x00, 0x01, 0, 0xff, 0xff, 0xff]).expect_err("16 MiB control");
    assert!(matches!(err, FrameError::ControlFrameTooLarge(_)), "{err}");
}

#[test]
fn unknown_control_frames_are_passed_on_to_be_ignored() {
    let frames = decode_all(&[0x80, 0x03, 0x00, 0x0a, 0, 0, 0, 2, 1, 2]).expect("unknown type");
    assert_eq!(frames, vec![Frame::Unknown { frame_type: 10 }]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_all(&bytes);
    }

    #[test]
    fn arbitrary_control_frames_never_panic_the_decoder(
        kind in 0u16..12,
        flags in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut wire = vec![0x80, 0x03];
        wire.extend_from_slice(&kind.to_be_bytes());
        wire.push(flags);
        wire.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        wire.extend_from_slice(&body);
        let _ = decode_all(&wire);
    }

    #[test]
    fn corrupting_a_valid_syn_stream_never_panics(index in 0usize..64, value in any::<u8>()) {
        let mut encoder = FrameEncoder::new().expect("encoder");
        let mut wire = BytesMut::new();
        let syn = SynStream {
            stream_id: 1, associated_to: 0, priority: 0, slot: 0, fin: false, unidirectional: false,
            headers: headers(&[("streamtype", "stdout")]),
        };
        encoder.encode(Frame::SynStream(syn), &mut wire).expect("encode");
        let i = index % wire.len();
        wire[i] = value;
        let _ = decode_all(&wire);
    }
}
