//! Frame codec: bytes on the wire to [`Frame`]s and back, with header (de)compression.
//!
//! A decoding error leaves the zlib context in an unknown state, so the connection that
//! owns the codec must end after one.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;
use tokio_util::codec::{Decoder, Encoder};

use super::compression::{CompressionError, HeaderCompressor, HeaderDecompressor};
use super::frame::{
    FLAG_CLEAR_SETTINGS, FLAG_FIN, FLAG_UNIDIRECTIONAL, Frame, GoAwayStatus, MAX_FRAME_PAYLOAD,
    MAX_STREAM_ID, RstStatus, Setting, SynStream, VERSION, frame_type,
};
use super::header_block::{HeaderBlock, HeaderBlockError};

/// Largest control frame payload accepted (header blocks are small).
pub const MAX_CONTROL_PAYLOAD: usize = 1024 * 1024;

/// Why bytes from the peer could not be decoded, or a frame could not be encoded.
#[derive(Debug, Error)]
pub enum FrameError {
    /// Reading or writing the transport failed.
    #[error("spdy transport: {0}")]
    Io(#[from] std::io::Error),
    /// A control frame of another SPDY version.
    #[error("decoding frame: unsupported SPDY version {0}")]
    UnsupportedVersion(u16),
    /// A control frame longer than [`MAX_CONTROL_PAYLOAD`].
    #[error("decoding frame: control frame of {0} bytes is too large")]
    ControlFrameTooLarge(usize),
    /// A frame whose length does not fit its type.
    #[error("decoding frame: {kind} frame with invalid length {len}")]
    InvalidLength {
        /// Frame kind.
        kind: &'static str,
        /// Announced payload length.
        len: usize,
    },
    /// Stream id 0 where a stream is required.
    #[error("decoding frame: {0} frame on stream 0")]
    ZeroStreamId(&'static str),
    /// A field with a value the protocol forbids.
    #[error("decoding frame: invalid {0}")]
    InvalidField(&'static str),
    /// The header block could not be decompressed.
    #[error(transparent)]
    Compression(#[from] CompressionError),
    /// The decompressed header block is malformed.
    #[error(transparent)]
    HeaderBlock(#[from] HeaderBlockError),
    /// A frame we were asked to send does not fit in one SPDY frame.
    #[error("encoding frame: payload of {0} bytes is too large")]
    PayloadTooLarge(usize),
}

/// Reads SPDY/3.1 frames; owns the peer-to-us zlib context of a connection.
#[derive(Default)]
pub struct FrameDecoder {
    decompressor: HeaderDecompressor,
}

/// Writes SPDY/3.1 frames; owns the us-to-peer zlib context of a connection.
pub struct FrameEncoder {
    compressor: HeaderCompressor,
}

impl FrameDecoder {
    /// A decoder for a new connection.
    pub fn new() -> Self {
        Self::default()
    }

    fn decode_control(&mut self, kind: u16, flags: u8, mut payload: Bytes) -> Result<Frame, FrameError> {
        let len = payload.len();
        let fin = flags & FLAG_FIN != 0;
        let fixed = |kind: &'static str, want: usize| {
            if len == want { Ok(()) } else { Err(FrameError::InvalidLength { kind, len }) }
        };
        let frame = match kind {
            frame_type::SYN_STREAM => {
                if len < 10 {
                    return Err(FrameError::InvalidLength { kind: "SYN_STREAM", len });
                }
                let stream_id = stream_id(payload.get_u32(), "SYN_STREAM")?;
                let associated_to = payload.get_u32() & MAX_STREAM_ID;
                let priority = payload.get_u8() >> 5;
                let slot = payload.get_u8();
                let headers = self.decode_headers(&payload)?;
                Frame::SynStream(SynStream {
                    stream_id,
                    associated_to,
                    priority,
                    slot,
                    fin,
                    unidirectional: flags & FLAG_UNIDIRECTIONAL != 0,
                    headers,
                })
            }
            frame_type::SYN_REPLY | frame_type::HEADERS => {
                let name = if kind == frame_type::SYN_REPLY { "SYN_REPLY" } else { "HEADERS" };
                if len < 4 {
                    return Err(FrameError::InvalidLength { kind: name, len });
                }
                let stream_id = stream_id(payload.get_u32(), name)?;
                let headers = self.decode_headers(&payload)?;
                if kind == frame_type::SYN_REPLY {
                    Frame::SynReply { stream_id, fin, headers }
                } else {
                    Frame::Headers { stream_id, fin, headers }
                }
            }
            frame_type::RST_STREAM => {
                fixed("RST_STREAM", 8)?;
                let stream_id = stream_id(payload.get_u32(), "RST_STREAM")?;
                let code = payload.get_u32();
                if code == 0 {
                    return Err(FrameError::InvalidField("RST_STREAM status 0"));
                }
                Frame::RstStream { stream_id, status: RstStatus::from_code(code) }
            }
            frame_type::SETTINGS => {
                if len < 4 {
                    return Err(FrameError::InvalidLength { kind: "SETTINGS", len });
                }
                let count = payload.get_u32() as usize;
                if count.checked_mul(8) != Some(payload.len()) {
                    return Err(FrameError::InvalidLength { kind: "SETTINGS", len });
                }
                let entries = (0..count)
                    .map(|_| {
                        let word = payload.get_u32();
                        Setting {
                            flags: (word >> 24) as u8,
                            id: word & 0x00ff_ffff,
                            value: payload.get_u32(),
                        }
                    })
                    .collect();
                Frame::Settings { clear: flags & FLAG_CLEAR_SETTINGS != 0, entries }
            }
            frame_type::PING => {
                fixed("PING", 4)?;
                Frame::Ping { id: payload.get_u32() }
            }
            frame_type::GOAWAY => {
                fixed("GOAWAY", 8)?;
                let last_good_stream_id = payload.get_u32() & MAX_STREAM_ID;
                Frame::GoAway { last_good_stream_id, status: GoAwayStatus::from_code(payload.get_u32()) }
            }
            frame_type::WINDOW_UPDATE => {
                fixed("WINDOW_UPDATE", 8)?;
                let stream_id = payload.get_u32() & MAX_STREAM_ID;
                let delta = payload.get_u32() & MAX_STREAM_ID;
                if delta == 0 {
                    return Err(FrameError::InvalidField("WINDOW_UPDATE delta 0"));
                }
                Frame::WindowUpdate { stream_id, delta }
            }
            other => Frame::Unknown { frame_type: other },
        };
        Ok(frame)
    }

    fn decode_headers(&mut self, compressed: &[u8]) -> Result<HeaderBlock, FrameError> {
        let plain = self.decompressor.decompress(compressed)?;
        Ok(HeaderBlock::decode(&plain)?)
    }
}

impl FrameEncoder {
    /// An encoder for a new connection.
    pub fn new() -> Result<Self, FrameError> {
        Ok(Self { compressor: HeaderCompressor::new()? })
    }

    fn encode_headers(&mut self, headers: &HeaderBlock) -> Result<Vec<u8>, FrameError> {
        Ok(self.compressor.compress(&headers.encode())?)
    }

    /// SYN_REPLY and HEADERS share a layout: stream id, then the compressed block.
    fn encode_stream_headers(
        &mut self,
        dst: &mut BytesMut,
        kind: u16,
        stream_id: u32,
        fin: bool,
        headers: &HeaderBlock,
    ) -> Result<(), FrameError> {
        let block = self.encode_headers(headers)?;
        put_control_header(dst, kind, if fin { FLAG_FIN } else { 0 }, 4 + block.len())?;
        dst.put_u32(stream_id & MAX_STREAM_ID);
        dst.put_slice(&block);
        Ok(())
    }
}

fn stream_id(word: u32, kind: &'static str) -> Result<u32, FrameError> {
    let id = word & MAX_STREAM_ID;
    if id == 0 { Err(FrameError::ZeroStreamId(kind)) } else { Ok(id) }
}

fn put_control_header(dst: &mut BytesMut, kind: u16, flags: u8, len: usize) -> Result<(), FrameError> {
    if len > MAX_FRAME_PAYLOAD {
        return Err(FrameError::PayloadTooLarge(len));
    }
    dst.reserve(8 + len);
    dst.put_u16(0x8000 | VERSION);
    dst.put_u16(kind);
    dst.put_u32((u32::from(flags) << 24) | len as u32);
    Ok(())
}

impl Decoder for FrameDecoder {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if src.len() < 8 {
            return Ok(None);
        }
        let first = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        let flags = src[4];
        let len = usize::from(src[5]) << 16 | usize::from(src[6]) << 8 | usize::from(src[7]);
        let control = first & 0x8000_0000 != 0;
        if control {
            let version = ((first >> 16) & 0x7fff) as u16;
            if version != VERSION {
                return Err(FrameError::UnsupportedVersion(version));
            }
            if len > MAX_CONTROL_PAYLOAD {
                return Err(FrameError::ControlFrameTooLarge(len));
            }
        }
        if src.len() < 8 + len {
            src.reserve(8 + len - src.len());
            return Ok(None);
        }
        src.advance(8);
        let payload = src.split_to(len).freeze();
        if control {
            self.decode_control((first & 0xffff) as u16, flags, payload).map(Some)
        } else {
            let stream_id = stream_id(first, "DATA")?;
            Ok(Some(Frame::Data { stream_id, fin: flags & FLAG_FIN != 0, data: payload }))
        }
    }
}

impl Encoder<Frame> for FrameEncoder {
    type Error = FrameError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        let fin_flag = |fin: bool| if fin { FLAG_FIN } else { 0 };
        match frame {
            Frame::SynStream(syn) => {
                let block = self.encode_headers(&syn.headers)?;
                let flags = fin_flag(syn.fin) | if syn.unidirectional { FLAG_UNIDIRECTIONAL } else { 0 };
                put_control_header(dst, frame_type::SYN_STREAM, flags, 10 + block.len())?;
                dst.put_u32(syn.stream_id & MAX_STREAM_ID);
                dst.put_u32(syn.associated_to & MAX_STREAM_ID);
                dst.put_u8(syn.priority << 5);
                dst.put_u8(syn.slot);
                dst.put_slice(&block);
            }
            Frame::SynReply { stream_id, fin, headers } => {
                self.encode_stream_headers(dst, frame_type::SYN_REPLY, stream_id, fin, &headers)?;
            }
            Frame::Headers { stream_id, fin, headers } => {
                self.encode_stream_headers(dst, frame_type::HEADERS, stream_id, fin, &headers)?;
            }
            Frame::RstStream { stream_id, status } => {
                put_control_header(dst, frame_type::RST_STREAM, 0, 8)?;
                dst.put_u32(stream_id & MAX_STREAM_ID);
                dst.put_u32(status.code());
            }
            Frame::Settings { clear, entries } => {
                let flags = if clear { FLAG_CLEAR_SETTINGS } else { 0 };
                put_control_header(dst, frame_type::SETTINGS, flags, 4 + 8 * entries.len())?;
                dst.put_u32(entries.len() as u32);
                for entry in entries {
                    dst.put_u32((u32::from(entry.flags) << 24) | (entry.id & 0x00ff_ffff));
                    dst.put_u32(entry.value);
                }
            }
            Frame::Ping { id } => {
                put_control_header(dst, frame_type::PING, 0, 4)?;
                dst.put_u32(id);
            }
            Frame::GoAway { last_good_stream_id, status } => {
                put_control_header(dst, frame_type::GOAWAY, 0, 8)?;
                dst.put_u32(last_good_stream_id & MAX_STREAM_ID);
                dst.put_u32(status.code());
            }
            Frame::WindowUpdate { stream_id, delta } => {
                put_control_header(dst, frame_type::WINDOW_UPDATE, 0, 8)?;
                dst.put_u32(stream_id & MAX_STREAM_ID);
                dst.put_u32(delta & MAX_STREAM_ID);
            }
            Frame::Data { stream_id, fin, data } => {
                if data.len() > MAX_FRAME_PAYLOAD {
                    return Err(FrameError::PayloadTooLarge(data.len()));
                }
                dst.reserve(8 + data.len());
                dst.put_u32(stream_id & MAX_STREAM_ID);
                dst.put_u32((u32::from(fin_flag(fin)) << 24) | data.len() as u32);
                dst.put_slice(&data);
            }
            Frame::Unknown { frame_type } => {
                put_control_header(dst, frame_type, 0, 0)?;
            }
        }
        Ok(())
    }
}
