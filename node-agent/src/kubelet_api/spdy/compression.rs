//! zlib compression of header blocks, primed with the SPDY/3 dictionary.
//!
//! Each direction of a connection is one zlib stream: every header block is compressed
//! with a sync flush so the peer can decode it at once, and the compression context lives
//! as long as the connection.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use thiserror::Error;

use super::dictionary::{DICTIONARY, DICTIONARY_ADLER32};

/// Largest decompressed header block accepted (guards against zlib bombs).
pub const MAX_DECOMPRESSED_BLOCK: usize = 256 * 1024;

/// Why compressing or decompressing a header block failed.
#[derive(Debug, Error)]
pub enum CompressionError {
    /// zlib refused to compress.
    #[error("compressing header block: {0}")]
    Compress(String),
    /// The peer's zlib data is corrupt.
    #[error("decompressing header block: {0}")]
    Corrupt(String),
    /// The peer's zlib stream asks for a dictionary other than SPDY/3's.
    #[error("decompressing header block: unknown dictionary {0:#010x}")]
    UnknownDictionary(u32),
    /// The peer ended its zlib stream, which SPDY never does.
    #[error("decompressing header block: zlib stream ended")]
    StreamEnded,
    /// The block decompresses to more than [`MAX_DECOMPRESSED_BLOCK`].
    #[error("decompressing header block: more than {MAX_DECOMPRESSED_BLOCK} bytes")]
    TooLarge,
}

/// Compresses our outgoing header blocks.
pub struct HeaderCompressor {
    inner: Compress,
}

impl HeaderCompressor {
    /// A fresh zlib stream primed with the SPDY/3 dictionary.
    pub fn new() -> Result<Self, CompressionError> {
        let mut inner = Compress::new(Compression::default(), true);
        inner.set_dictionary(DICTIONARY).map_err(|e| CompressionError::Compress(e.to_string()))?;
        Ok(Self { inner })
    }

    /// Compresses one block and sync-flushes it.
    pub fn compress(&mut self, plain: &[u8]) -> Result<Vec<u8>, CompressionError> {
        let mut out = Vec::with_capacity(plain.len() / 2 + 64);
        let start = self.inner.total_in();
        loop {
            let consumed = usize::try_from(self.inner.total_in() - start).unwrap_or(usize::MAX);
            let input = plain.get(consumed..).unwrap_or_default();
            if out.capacity() - out.len() < 64 {
                out.reserve(256);
            }
            self.inner
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| CompressionError::Compress(e.to_string()))?;
            let consumed = usize::try_from(self.inner.total_in() - start).unwrap_or(usize::MAX);
            // A sync flush is complete once zlib stops short of filling the output buffer.
            if consumed >= plain.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

/// Decompresses the peer's header blocks.
pub struct HeaderDecompressor {
    inner: Decompress,
    dictionary_set: bool,
}

impl Default for HeaderDecompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderDecompressor {
    /// A fresh zlib stream; the dictionary is supplied when the stream asks for it.
    pub fn new() -> Self {
        Self { inner: Decompress::new(true), dictionary_set: false }
    }

    /// Decompresses the whole compressed payload of one frame.
    pub fn decompress(&mut self, compressed: &[u8]) -> Result<Vec<u8>, CompressionError> {
        let mut out: Vec<u8> = Vec::with_capacity(compressed.len() * 4 + 64);
        let start = self.inner.total_in();
        loop {
            let consumed = usize::try_from(self.inner.total_in() - start).unwrap_or(usize::MAX);
            let input = compressed.get(consumed..).unwrap_or_default();
            if out.capacity() - out.len() < 256 {
                out.reserve(4096);
            }
            let produced_before = self.inner.total_out();
            match self.inner.decompress_vec(input, &mut out, FlushDecompress::Sync) {
                Ok(Status::StreamEnd) => return Err(CompressionError::StreamEnded),
                Ok(Status::Ok | Status::BufError) => {}
                Err(e) => match e.needs_dictionary() {
                    Some(adler) if adler == DICTIONARY_ADLER32 && !self.dictionary_set => {
                        self.inner
                            .set_dictionary(DICTIONARY)
                            .map_err(|e| CompressionError::Corrupt(e.to_string()))?;
                        self.dictionary_set = true;
                        continue;
                    }
                    Some(adler) => return Err(CompressionError::UnknownDictionary(adler)),
                    None => return Err(CompressionError::Corrupt(e.to_string())),
                },
            }
            if out.len() > MAX_DECOMPRESSED_BLOCK {
                return Err(CompressionError::TooLarge);
            }
            let consumed_now = usize::try_from(self.inner.total_in() - start).unwrap_or(usize::MAX);
            let produced = self.inner.total_out() - produced_before;
            if consumed_now >= compressed.len() && out.len() < out.capacity() {
                return Ok(out);
            }
            if consumed_now == consumed && produced == 0 {
                // No progress with input left and room to write: the data cannot be decoded.
                return Err(CompressionError::Corrupt("no progress".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_matches_its_published_checksum() {
        let mut inner = Compress::new(Compression::default(), true);
        let adler = inner.set_dictionary(DICTIONARY).expect("dictionary is accepted");
        assert_eq!(adler, DICTIONARY_ADLER32);
        assert_eq!(DICTIONARY.len(), 1423);
    }

    #[test]
    fn blocks_share_one_zlib_stream_per_direction() {
        let mut compressor = HeaderCompressor::new().expect("compressor");
        let mut decompressor = HeaderDecompressor::new();
        for round in 0..5 {
            let plain = format!("\0\0\0\x01\0\0\0\x0astreamtype\0\0\0\x06stdout round {round}");
            let compressed = compressor.compress(plain.as_bytes()).expect("compress");
            let back = decompressor.decompress(&compressed).expect("decompress");
            assert_eq!(back, plain.as_bytes());
        }
    }

    #[test]
    fn a_stream_primed_with_another_dictionary_is_refused() {
        let mut other = Compress::new(Compression::default(), true);
        other.set_dictionary(b"not the spdy dictionary").expect("dictionary");
        let mut out = Vec::with_capacity(256);
        other.compress_vec(b"hello", &mut out, FlushCompress::Sync).expect("compress");
        let err = HeaderDecompressor::new().decompress(&out).expect_err("wrong dictionary");
        assert!(matches!(err, CompressionError::UnknownDictionary(_)), "{err}");
    }

    #[test]
    fn garbage_is_refused() {
        let err = HeaderDecompressor::new().decompress(&[0xde, 0xad, 0xbe, 0xef]).expect_err("garbage");
        assert!(matches!(err, CompressionError::Corrupt(_)), "{err}");
    }

    #[test]
    fn a_zlib_bomb_is_refused() {
        let mut compressor = HeaderCompressor::new().expect("compressor");
        let plain = vec![b'a'; MAX_DECOMPRESSED_BLOCK + 10];
        let compressed = compressor.compress(&plain).expect("compress");
        let err = HeaderDecompressor::new().decompress(&compressed).expect_err("too large");
        assert!(matches!(err, CompressionError::TooLarge), "{err}");
    }
}
