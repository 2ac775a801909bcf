//! The resize stream: a sequence of JSON objects `{"Width":80,"Height":24}`.

use serde::Deserialize;
use thiserror::Error;
use vk_proto::v1::TerminalSize;

/// Most bytes of an unfinished resize message kept while waiting for the rest.
const MAX_PENDING: usize = 64 * 1024;

/// Why the resize stream could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ResizeError {
    /// Not a sequence of size objects.
    #[error("decoding resize message: {0}")]
    Invalid(String),
    /// An unfinished message grew beyond reason.
    #[error("decoding resize message: more than {MAX_PENDING} bytes without a complete object")]
    TooLong,
}

#[derive(Deserialize)]
struct Size {
    #[serde(rename = "Width", alias = "width", default)]
    width: u16,
    #[serde(rename = "Height", alias = "height", default)]
    height: u16,
}

/// Turns stream chunks into terminal sizes; objects may span chunks.
#[derive(Default)]
pub struct ResizeDecoder {
    pending: Vec<u8>,
}

impl ResizeDecoder {
    /// Adds a chunk and returns the sizes it completes.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<TerminalSize>, ResizeError> {
        self.pending.extend_from_slice(chunk);
        let mut sizes = Vec::new();
        let mut consumed = 0;
        let mut values = serde_json::Deserializer::from_slice(&self.pending).into_iter::<Size>();
        loop {
            match values.next() {
                Some(Ok(size)) => {
                    consumed = values.byte_offset();
                    sizes.push(TerminalSize { width: u32::from(size.width), height: u32::from(size.height) });
                }
                Some(Err(err)) if err.is_eof() => break,
                Some(Err(err)) => return Err(ResizeError::Invalid(err.to_string())),
                None => {
                    consumed = values.byte_offset();
                    break;
                }
            }
        }
        self.pending.drain(..consumed);
        if self.pending.len() > MAX_PENDING {
            return Err(ResizeError::TooLong);
        }
        Ok(sizes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(width: u32, height: u32) -> TerminalSize {
        TerminalSize { width, height }
    }

    #[test]
    fn consecutive_objects_decode() {
        let mut decoder = ResizeDecoder::default();
        let sizes = decoder.push(br#"{"Width":80,"Height":24}{"Width":120,"Height":40}"#).expect("valid");
        assert_eq!(sizes, vec![size(80, 24), size(120, 40)]);
    }

    #[test]
    fn an_object_split_across_chunks_decodes_when_complete() {
        let mut decoder = ResizeDecoder::default();
        assert_eq!(decoder.push(br#"{"Width":1"#).expect("partial"), vec![]);
        assert_eq!(decoder.push(b"00,\"Height\":30}\n").expect("rest"), vec![size(100, 30)]);
    }

    #[test]
    fn garbage_is_refused() {
        let mut decoder = ResizeDecoder::default();
        assert!(matches!(decoder.push(b"not json"), Err(ResizeError::Invalid(_))));
    }

    #[test]
    fn sizes_out_of_range_are_refused() {
        let mut decoder = ResizeDecoder::default();
        assert!(matches!(decoder.push(br#"{"Width":70000,"Height":1}"#), Err(ResizeError::Invalid(_))));
    }

    #[test]
    fn an_endless_unfinished_object_is_refused() {
        let mut decoder = ResizeDecoder::default();
        let mut chunk = br#"{"Width":"#.to_vec();
        chunk.extend(std::iter::repeat_n(b' ', MAX_PENDING + 1));
        assert_eq!(decoder.push(&chunk), Err(ResizeError::TooLong));
    }
}
