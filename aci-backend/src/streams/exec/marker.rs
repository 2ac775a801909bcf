//! Finds a marker line (`<marker><rest>\n`) in output that arrives in arbitrary chunks. Output
//! before the marker is released as soon as it cannot be the start of the marker; only a tail that
//! could still grow into the marker is held back.

/// What one chunk of output held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// No complete marker line yet; `0` is output that is certainly not part of it.
    Output(Vec<u8>),
    /// The marker line ended.
    Found {
        /// Output before the marker.
        before: Vec<u8>,
        /// What followed the marker on its line, without the line end (and a `\r` before it).
        rest: Vec<u8>,
        /// Output after the marker line.
        after: Vec<u8>,
    },
}

/// A marker scanner.
#[derive(Debug, Clone)]
pub struct MarkerScanner {
    marker: Vec<u8>,
    held: Vec<u8>,
    /// `Some` once the marker was seen: the rest of its line so far.
    line: Option<Vec<u8>>,
}

/// Longest rest of a marker line kept (an exit status is a few digits).
const MAX_REST: usize = 64;

impl MarkerScanner {
    /// A scanner for `marker` (not empty).
    pub fn new(marker: Vec<u8>) -> Self {
        MarkerScanner { marker, held: Vec::new(), line: None }
    }

    /// Bytes held back because they may begin the marker.
    pub fn held(&self) -> &[u8] {
        &self.held
    }

    /// Feeds one chunk.
    pub fn push(&mut self, chunk: &[u8]) -> Scan {
        if self.line.is_some() {
            return self.line_part(Vec::new(), chunk);
        }
        self.held.extend_from_slice(chunk);
        match find(&self.held, &self.marker) {
            Some(at) => {
                let before = self.held[..at].to_vec();
                let tail = self.held[at + self.marker.len()..].to_vec();
                self.held.clear();
                self.line = Some(Vec::new());
                self.line_part(before, &tail)
            }
            None => {
                let keep = partial_suffix(&self.held, &self.marker);
                let out: Vec<u8> = self.held.drain(..self.held.len() - keep).collect();
                Scan::Output(out)
            }
        }
    }

    /// Collects the rest of the marker line; after its end the scanner looks for the marker again.
    fn line_part(&mut self, before: Vec<u8>, bytes: &[u8]) -> Scan {
        let Some(line) = self.line.as_mut() else { return Scan::Output(before) };
        let end = bytes.iter().position(|&b| b == b'\n');
        let part = &bytes[..end.unwrap_or(bytes.len())];
        if line.len() < MAX_REST {
            line.extend_from_slice(&part[..part.len().min(MAX_REST - line.len())]);
        }
        let Some(end) = end else { return Scan::Output(before) };
        let mut rest = self.line.take().unwrap_or_default();
        if rest.last() == Some(&b'\r') {
            rest.pop();
        }
        Scan::Found { before, rest, after: bytes[end + 1..].to_vec() }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest proper prefix of `marker` that `data` ends with.
fn partial_suffix(data: &[u8], marker: &[u8]) -> usize {
    let longest = marker.len().saturating_sub(1).min(data.len());
    (1..=longest).rev().find(|&k| data[data.len() - k..] == marker[..k]).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rest of the marker line and what followed it.
    type Found = Option<(Vec<u8>, Vec<u8>)>;

    /// Feeds chunks and returns the output before the marker and what was found.
    fn feed(chunks: &[&[u8]]) -> (Vec<u8>, Found) {
        let mut scanner = MarkerScanner::new(b"\x1eEND:".to_vec());
        let mut out = Vec::new();
        for chunk in chunks {
            match scanner.push(chunk) {
                Scan::Output(o) => out.extend(o),
                Scan::Found { before, rest, after } => {
                    out.extend(before);
                    return (out, Some((rest, after)));
                }
            }
        }
        (out, None)
    }

    #[test]
    fn a_marker_split_across_chunks_is_found_and_stripped() {
        let (out, found) = feed(&[b"hello\n\x1eE", b"ND", b":1", b"2\r", b"\nafter"]);
        assert_eq!(out, b"hello\n");
        assert_eq!(found, Some((b"12".to_vec(), b"after".to_vec())));
    }

    #[test]
    fn output_that_only_looks_like_a_marker_start_is_released() {
        let mut scanner = MarkerScanner::new(b"\x1eEND:".to_vec());
        assert_eq!(scanner.push(b"a\x1eEN"), Scan::Output(b"a".to_vec()));
        assert_eq!(scanner.held(), b"\x1eEN");
        assert_eq!(scanner.push(b"X"), Scan::Output(b"\x1eENX".to_vec()));
        assert!(scanner.held().is_empty());
    }

    #[test]
    fn a_marker_in_the_middle_of_a_line_is_found() {
        let (out, found) = feed(&[b"no newline\x1eEND:0\n"]);
        assert_eq!(out, b"no newline");
        assert_eq!(found, Some((b"0".to_vec(), Vec::new())));
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_result(
            body in proptest::collection::vec(any::<u8>(), 0..200),
            cuts in proptest::collection::vec(0usize..250, 0..8),
        ) {
            // Output without the marker's lead byte cannot contain the marker.
            let body: Vec<u8> = body.into_iter().map(|b| if b == 0x1e { b'x' } else { b }).collect();
            let mut whole = body.clone();
            whole.extend_from_slice(b"\x1eEND:7\nrest");
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(whole.len())).collect();
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for c in cuts {
                chunks.push(&whole[from..c]);
                from = c;
            }
            chunks.push(&whole[from..]);
            let (out, found) = feed(&chunks);
            prop_assert_eq!(out, body);
            let (rest, _) = found.expect("found");
            prop_assert_eq!(rest, b"7".to_vec());
        }
    }
}
