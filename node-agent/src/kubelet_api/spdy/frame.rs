//! SPDY/3.1 frames in their decoded form.
//!
//! Every frame starts with 8 bytes. A control frame: control bit, 15-bit version (3),
//! 16-bit type, 8-bit flags, 24-bit length. A data frame: control bit clear, 31-bit stream
//! id, 8-bit flags, 24-bit length.

use bytes::Bytes;

use super::header_block::HeaderBlock;

/// The protocol version carried by control frames.
pub const VERSION: u16 = 3;
/// FIN: the sender will send nothing more on this stream.
pub const FLAG_FIN: u8 = 0x01;
/// UNIDIRECTIONAL (SYN_STREAM): the receiver must not send on this stream.
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// CLEAR_SETTINGS (SETTINGS): forget persisted settings.
pub const FLAG_CLEAR_SETTINGS: u8 = 0x01;
/// Largest frame payload the 24-bit length allows.
pub const MAX_FRAME_PAYLOAD: usize = 0x00ff_ffff;
/// Largest stream id (31 bits).
pub const MAX_STREAM_ID: u32 = 0x7fff_ffff;
/// Largest flow-control window (31 bits).
pub const MAX_WINDOW: u32 = 0x7fff_ffff;
/// SETTINGS id of INITIAL_WINDOW_SIZE.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u32 = 7;

/// Control frame type numbers.
pub mod frame_type {
    /// SYN_STREAM.
    pub const SYN_STREAM: u16 = 1;
    /// SYN_REPLY.
    pub const SYN_REPLY: u16 = 2;
    /// RST_STREAM.
    pub const RST_STREAM: u16 = 3;
    /// SETTINGS.
    pub const SETTINGS: u16 = 4;
    /// PING.
    pub const PING: u16 = 6;
    /// GOAWAY.
    pub const GOAWAY: u16 = 7;
    /// HEADERS.
    pub const HEADERS: u16 = 8;
    /// WINDOW_UPDATE.
    pub const WINDOW_UPDATE: u16 = 9;
}

/// RST_STREAM status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RstStatus {
    /// 1: generic protocol error.
    ProtocolError,
    /// 2: frame for a stream that is not active.
    InvalidStream,
    /// 3: stream refused before any processing.
    RefusedStream,
    /// 4: unsupported SPDY version.
    UnsupportedVersion,
    /// 5: the stream is no longer needed.
    Cancel,
    /// 6: internal error.
    InternalError,
    /// 7: flow-control violation.
    FlowControlError,
    /// 8: SYN_STREAM for a stream already open.
    StreamInUse,
    /// 9: data or SYN_REPLY for a half-closed stream.
    StreamAlreadyClosed,
    /// 11: frame too large.
    FrameTooLarge,
    /// Any other code.
    Other(u32),
}

impl RstStatus {
    /// The wire code.
    pub fn code(self) -> u32 {
        match self {
            Self::ProtocolError => 1,
            Self::InvalidStream => 2,
            Self::RefusedStream => 3,
            Self::UnsupportedVersion => 4,
            Self::Cancel => 5,
            Self::InternalError => 6,
            Self::FlowControlError => 7,
            Self::StreamInUse => 8,
            Self::StreamAlreadyClosed => 9,
            Self::FrameTooLarge => 11,
            Self::Other(code) => code,
        }
    }

    /// The status for a wire code.
    pub fn from_code(code: u32) -> Self {
        match code {
            1 => Self::ProtocolError,
            2 => Self::InvalidStream,
            3 => Self::RefusedStream,
            4 => Self::UnsupportedVersion,
            5 => Self::Cancel,
            6 => Self::InternalError,
            7 => Self::FlowControlError,
            8 => Self::StreamInUse,
            9 => Self::StreamAlreadyClosed,
            11 => Self::FrameTooLarge,
            other => Self::Other(other),
        }
    }
}

/// GOAWAY status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoAwayStatus {
    /// 0: normal session teardown.
    Ok,
    /// 1: the peer broke the protocol.
    ProtocolError,
    /// 2: internal error.
    InternalError,
    /// Any other code.
    Other(u32),
}

impl GoAwayStatus {
    /// The wire code.
    pub fn code(self) -> u32 {
        match self {
            Self::Ok => 0,
            Self::ProtocolError => 1,
            Self::InternalError => 2,
            Self::Other(code) => code,
        }
    }

    /// The status for a wire code.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Self::Ok,
            1 => Self::ProtocolError,
            2 => Self::InternalError,
            other => Self::Other(other),
        }
    }
}

/// One SETTINGS entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    /// Entry flags (PERSIST_VALUE 0x1, PERSISTED 0x2).
    pub flags: u8,
    /// Setting id (24 bits).
    pub id: u32,
    /// Value.
    pub value: u32,
}

/// SYN_STREAM: the peer opens a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynStream {
    /// New stream id (odd when opened by a client).
    pub stream_id: u32,
    /// Stream this one is associated with (0: none).
    pub associated_to: u32,
    /// Priority, 0 (highest) to 7.
    pub priority: u8,
    /// Credential slot (unused by SPDY/3.1).
    pub slot: u8,
    /// The opener sends nothing more.
    pub fin: bool,
    /// The receiver must not send on this stream.
    pub unidirectional: bool,
    /// Request headers.
    pub headers: HeaderBlock,
}

/// A decoded SPDY frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// SYN_STREAM.
    SynStream(SynStream),
    /// SYN_REPLY: accepts a stream.
    SynReply {
        /// Stream id.
        stream_id: u32,
        /// The replier sends nothing more.
        fin: bool,
        /// Reply headers.
        headers: HeaderBlock,
    },
    /// RST_STREAM: aborts a stream.
    RstStream {
        /// Stream id.
        stream_id: u32,
        /// Why.
        status: RstStatus,
    },
    /// SETTINGS.
    Settings {
        /// CLEAR_SETTINGS flag.
        clear: bool,
        /// Entries.
        entries: Vec<Setting>,
    },
    /// PING: echoed back by the receiver when the peer started it.
    Ping {
        /// Ping id (odd from clients, even from servers).
        id: u32,
    },
    /// GOAWAY: no new streams after `last_good_stream_id`.
    GoAway {
        /// Last stream the sender processed.
        last_good_stream_id: u32,
        /// Why.
        status: GoAwayStatus,
    },
    /// HEADERS: extra headers on an open stream.
    Headers {
        /// Stream id.
        stream_id: u32,
        /// The sender sends nothing more.
        fin: bool,
        /// Headers.
        headers: HeaderBlock,
    },
    /// WINDOW_UPDATE: the sender may send `delta` more bytes (stream 0: whole connection).
    WindowUpdate {
        /// Stream id, 0 for the connection.
        stream_id: u32,
        /// Window increment (1..=2^31-1).
        delta: u32,
    },
    /// DATA.
    Data {
        /// Stream id.
        stream_id: u32,
        /// The sender sends nothing more.
        fin: bool,
        /// Payload.
        data: Bytes,
    },
    /// A control frame type this implementation ignores (for example NOOP or CREDENTIAL).
    Unknown {
        /// Its type number.
        frame_type: u16,
    },
}
