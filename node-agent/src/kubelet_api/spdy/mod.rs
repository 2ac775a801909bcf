//! SPDY/3.1, server side, as Kubernetes clients speak it for exec, attach and port-forward.
//!
//! - [`frame`] and [`codec`]: the wire format, with header blocks compressed by zlib primed
//!   with the SPDY/3 [`dictionary`].
//! - [`Connection`]: accepts the peer's streams (each answered with SYN_REPLY), answers
//!   PINGs, keeps flow-control windows and ends with GOAWAY.

mod codec;
mod compression;
mod connection;
mod dictionary;
mod frame;
mod header_block;
mod reader;
mod shared;
mod stream;

pub use codec::{FrameDecoder, FrameEncoder, FrameError, MAX_CONTROL_PAYLOAD};
pub use compression::{CompressionError, HeaderCompressor, HeaderDecompressor, MAX_DECOMPRESSED_BLOCK};
pub use connection::{Config, Connection, ConnectionError, Driver};
pub use dictionary::{DICTIONARY, DICTIONARY_ADLER32};
pub use frame::{
    FLAG_FIN, FLAG_UNIDIRECTIONAL, Frame, GoAwayStatus, MAX_FRAME_PAYLOAD, RstStatus, Setting, SynStream,
    VERSION,
};
pub use header_block::{HeaderBlock, HeaderBlockError};
pub use shared::{PeerWindowPolicy, StreamError};
pub use stream::{RecvHalf, STREAM_TYPE_HEADER, SendHalf, SpdyStream};

#[cfg(test)]
mod codec_tests;
#[cfg(test)]
mod connection_tests;
#[cfg(test)]
pub(crate) mod test_client;
