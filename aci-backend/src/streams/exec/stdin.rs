//! Client stdin as terminal input. ACI gives the command a terminal, never a pipe, so stdin is
//! typed into a terminal in canonical mode:
//!
//! - Without a client terminal (`kubectl exec -i`), bytes must reach the command unchanged: every
//!   control character except newline is preceded by the literal-next character (Ctrl-V), which
//!   makes the terminal pass it on without acting on it (no signals, no erase, no EOF). A line the
//!   terminal holds is pushed to the reader with an end-of-file character every [`PUSH_EVERY`]
//!   bytes, so long lines never overflow the terminal's 4 KiB line buffer.
//! - With a client terminal, keystrokes pass unchanged: the client's Ctrl-C is meant as Ctrl-C.
//!
//! End of stdin is what a terminal user types: the end-of-file character at the start of a line
//! (twice when a partial line is pending: the first pushes it, the second is read as EOF).

/// Ctrl-D: end of file in canonical mode.
pub const EOF: u8 = 0x04;
/// Ctrl-V: the next character is taken literally.
pub const LITERAL_NEXT: u8 = 0x16;
/// Pending bytes after which a partial line is pushed to the reader.
pub const PUSH_EVERY: usize = 1024;

/// How stdin is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typing {
    /// A POSIX terminal in canonical mode, every byte delivered literally.
    Literal,
    /// Bytes unchanged (the client has a terminal).
    Raw,
    /// A Windows console: a line ends with Enter (`\r`), end of file is Ctrl-Z and Enter.
    Console,
}

/// Ctrl-Z: end of file on a Windows console (followed by Enter).
pub const CONSOLE_EOF: u8 = 0x1a;

/// Encodes client stdin for the container's terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdinEncoder {
    typing: Typing,
    /// Bytes typed since the last line end or push.
    pending: usize,
    /// End of stdin was sent.
    closed: bool,
}

impl StdinEncoder {
    /// An encoder; `raw` when the client has a terminal.
    pub fn new(raw: bool) -> Self {
        let typing = if raw { Typing::Raw } else { Typing::Literal };
        StdinEncoder { typing, pending: 0, closed: false }
    }

    /// An encoder for a Windows console.
    pub fn console() -> Self {
        StdinEncoder { typing: Typing::Console, pending: 0, closed: false }
    }

    /// True once end of stdin was sent.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Terminal input for `data` (nothing after end of stdin).
    pub fn encode(&mut self, data: &[u8]) -> Vec<u8> {
        if self.closed {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(data.len() + data.len() / 8);
        for &b in data {
            if self.typing == Typing::Console {
                out.push(if b == b'\n' { b'\r' } else { b });
                self.pending = if b == b'\n' || b == b'\r' { 0 } else { self.pending + 1 };
                continue;
            }
            if self.typing == Typing::Raw {
                out.push(b);
                self.pending = if b == b'\n' || b == b'\r' { 0 } else { self.pending + 1 };
                continue;
            }
            if b == b'\n' {
                out.push(b);
                self.pending = 0;
                continue;
            }
            if b < 0x20 || b == 0x7f {
                out.push(LITERAL_NEXT);
            }
            out.push(b);
            self.pending += 1;
            if self.pending >= PUSH_EVERY {
                out.push(EOF);
                self.pending = 0;
            }
        }
        out
    }

    /// Terminal input that ends stdin (empty when already ended).
    pub fn close(&mut self) -> Vec<u8> {
        if self.closed {
            return Vec::new();
        }
        self.closed = true;
        match (self.typing, self.pending > 0) {
            (Typing::Console, true) => vec![b'\r', CONSOLE_EOF, b'\r'],
            (Typing::Console, false) => vec![CONSOLE_EOF, b'\r'],
            (_, true) => vec![EOF, EOF],
            (_, false) => vec![EOF],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_newlines_are_not() {
        let mut e = StdinEncoder::new(false);
        assert_eq!(e.encode(b"a\x03\x04\r\n\x7f"), b"a\x16\x03\x16\x04\x16\r\n\x16\x7f");
    }

    #[test]
    fn end_of_stdin_after_a_partial_line_is_two_eof_characters() {
        let mut e = StdinEncoder::new(false);
        e.encode(b"no newline");
        assert_eq!(e.close(), vec![EOF, EOF]);
        assert!(e.is_closed());
        assert!(e.close().is_empty() && e.encode(b"late").is_empty());
        let mut e = StdinEncoder::new(false);
        e.encode(b"line\n");
        assert_eq!(e.close(), vec![EOF]);
    }

    #[test]
    fn long_lines_are_pushed_before_the_terminal_buffer_fills() {
        let mut e = StdinEncoder::new(false);
        let out = e.encode(&[b'x'; 2500]);
        assert_eq!(out.iter().filter(|&&b| b == EOF).count(), 2);
        assert_eq!(out.len(), 2502);
        assert_eq!(e.close(), vec![EOF, EOF], "452 bytes still pending");
    }

    #[test]
    fn a_client_terminal_gets_its_keystrokes_unchanged() {
        let mut e = StdinEncoder::new(true);
        assert_eq!(e.encode(b"\x03ls\r"), b"\x03ls\r");
        assert_eq!(e.close(), vec![EOF]);
    }

    #[test]
    fn a_windows_console_gets_enter_for_newline_and_ctrl_z_for_the_end() {
        let mut e = StdinEncoder::console();
        assert_eq!(e.encode(b"a\nb"), b"a\rb");
        assert_eq!(e.close(), vec![b'\r', CONSOLE_EOF, b'\r']);
    }
}
