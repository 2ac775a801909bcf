//! SPDY/3 name/value header blocks (uncompressed form).
//!
//! Layout: a 32-bit pair count, then for each pair a 32-bit name length, the name, a 32-bit
//! value length and the value. Several values of one name are joined with NUL bytes. Names
//! are lowercase, non-empty and unique within a block.

use thiserror::Error;

/// Most name/value pairs accepted in one block.
pub const MAX_HEADERS: usize = 256;

/// Why a decompressed header block was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HeaderBlockError {
    /// The block ended before the announced data.
    #[error("decoding header block: truncated")]
    Truncated,
    /// Bytes were left after the announced pairs.
    #[error("decoding header block: {0} trailing bytes")]
    TrailingBytes(usize),
    /// More pairs than [`MAX_HEADERS`].
    #[error("decoding header block: {0} pairs exceed the limit")]
    TooManyHeaders(u32),
    /// A name of length zero.
    #[error("decoding header block: empty header name")]
    EmptyName,
    /// A name with uppercase characters.
    #[error("decoding header block: header name {0:?} is not lowercase")]
    UppercaseName(String),
    /// A name that appears twice.
    #[error("decoding header block: duplicate header name {0:?}")]
    DuplicateName(String),
    /// A name or value that is not UTF-8.
    #[error("decoding header block: header text is not UTF-8")]
    NotUtf8,
}

/// The headers of a SYN_STREAM, SYN_REPLY or HEADERS frame, in wire order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderBlock {
    entries: Vec<(String, Vec<String>)>,
}

impl HeaderBlock {
    /// An empty block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` under `name` (lowercased); a repeated name gets one more value.
    pub fn insert(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value.to_owned()),
            None => self.entries.push((name, vec![value.to_owned()])),
        }
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values(name).first().map(String::as_str)
    }

    /// All values of `name` (case-insensitive).
    pub fn values(&self, name: &str) -> &[String] {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, values)| values.as_slice())
            .unwrap_or(&[])
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the block has no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Serializes the block (before compression).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&wire_len(self.entries.len()).to_be_bytes());
        for (name, values) in &self.entries {
            let joined = values.join("\0");
            out.extend_from_slice(&wire_len(name.len()).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&wire_len(joined.len()).to_be_bytes());
            out.extend_from_slice(joined.as_bytes());
        }
        out
    }

    /// Parses a decompressed block; it must hold exactly the announced pairs.
    pub fn decode(plain: &[u8]) -> Result<Self, HeaderBlockError> {
        let mut cursor = Cursor { rest: plain };
        let count = cursor.u32()?;
        if count as usize > MAX_HEADERS {
            return Err(HeaderBlockError::TooManyHeaders(count));
        }
        let mut block = HeaderBlock::new();
        for _ in 0..count {
            let name = cursor.text()?;
            if name.is_empty() {
                return Err(HeaderBlockError::EmptyName);
            }
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(HeaderBlockError::UppercaseName(name.to_owned()));
            }
            if block.entries.iter().any(|(n, _)| n == name) {
                return Err(HeaderBlockError::DuplicateName(name.to_owned()));
            }
            let value = cursor.text()?;
            let values = value.split('\0').map(str::to_owned).collect();
            block.entries.push((name.to_owned(), values));
        }
        if !cursor.rest.is_empty() {
            return Err(HeaderBlockError::TrailingBytes(cursor.rest.len()));
        }
        Ok(block)
    }
}

/// Lengths in our own blocks are bounded by memory, far below 4 GiB; saturate to be total.
fn wire_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HeaderBlockError> {
        if self.rest.len() < n {
            return Err(HeaderBlockError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, HeaderBlockError> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn text(&mut self) -> Result<&'a str, HeaderBlockError> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| HeaderBlockError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_round_trips_with_repeated_values() {
        let mut block = HeaderBlock::new();
        block.insert("streamType", "stdout");
        block.insert("x-multi", "a");
        block.insert("X-Multi", "b");
        let decoded = HeaderBlock::decode(&block.encode()).expect("own encoding decodes");
        assert_eq!(decoded, block);
        assert_eq!(decoded.get("streamtype"), Some("stdout"));
        assert_eq!(decoded.values("x-multi"), ["a", "b"]);
    }

    #[test]
    fn uppercase_names_are_refused() {
        let plain = [0, 0, 0, 1, 0, 0, 0, 1, b'A', 0, 0, 0, 0];
        assert_eq!(HeaderBlock::decode(&plain), Err(HeaderBlockError::UppercaseName("A".into())));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let plain = [0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 0, 0];
        assert_eq!(HeaderBlock::decode(&plain), Err(HeaderBlockError::DuplicateName("a".into())));
    }

    #[test]
    fn a_truncated_block_is_refused() {
        let plain = [0, 0, 0, 1, 0, 0, 0, 9, b'a'];
        assert_eq!(HeaderBlock::decode(&plain), Err(HeaderBlockError::Truncated));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let plain = [0, 0, 0, 0, 7];
        assert_eq!(HeaderBlock::decode(&plain), Err(HeaderBlockError::TrailingBytes(1)));
    }

    #[test]
    fn a_huge_pair_count_is_refused_before_allocating() {
        let plain = [0xff, 0xff, 0xff, 0xff];
        assert_eq!(HeaderBlock::decode(&plain), Err(HeaderBlockError::TooManyHeaders(u32::MAX)));
    }
}
