//! POSIX shell text for an argument vector, made to survive being typed into an interactive shell
//! through a terminal: only printable characters, and physical lines short enough for any line
//! editor (busybox ash reads at most 1024 bytes a line, a canonical-mode terminal 4095).
//!
//! Every argument becomes single-quoted text (`'` itself as `\'` outside the quotes). An argument
//! with control characters (which a terminal or line editor would act on) is rebuilt inside the
//! shell with `printf '%b'` from octal escapes and passed as `"$__vkN"`. Long lines are broken with
//! backslash-newline outside quotes, which the shell removes before reading words, so a long argument
//! may be split into adjacent quoted pieces that the shell joins again.

/// Longest physical line sent to the shell.
pub const MAX_LINE: usize = 400;
/// Longest quoted piece of an argument.
const MAX_PIECE: usize = 120;

/// Why an argument vector cannot become shell text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// The command has no elements.
    #[error("quoting the command: the command is empty")]
    Empty,
    /// An argument holds a NUL byte, which no process argument can carry.
    #[error("quoting the command: argument {index} contains a NUL character, which no argument can carry")]
    Nul {
        /// Position in the command.
        index: usize,
    },
}

/// Shell text made of pieces that may be separated by a line continuation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    atoms: Vec<String>,
}

impl Text {
    /// Appends syntax or a quoted piece that must stay on one line.
    pub fn push(&mut self, atom: impl Into<String>) -> &mut Self {
        self.atoms.push(atom.into());
        self
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: Text) -> &mut Self {
        self.atoms.extend(other.atoms);
        self
    }

    /// The text on one logical line, broken into physical lines of at most `max` bytes (longer
    /// atoms stay whole), each but the last ending with a backslash-newline continuation.
    pub fn lines(&self, max: usize) -> String {
        let mut out = String::new();
        let mut line = 0usize;
        for atom in &self.atoms {
            if line > 0 && line + atom.len() + 1 > max {
                out.push_str("\\\n");
                line = 0;
            }
            out.push_str(atom);
            line += atom.len();
        }
        out
    }
}

fn is_control(c: char) -> bool {
    c.is_control()
}

/// `s` as single-quoted pieces, `'` as `\'`, split so no piece exceeds [`MAX_PIECE`] bytes.
fn single_quoted(s: &str, out: &mut Text) {
    if s.is_empty() {
        out.push("''");
        return;
    }
    let mut piece = String::new();
    let flush = |piece: &mut String, out: &mut Text| {
        if !piece.is_empty() {
            out.push(format!("'{piece}'"));
            piece.clear();
        }
    };
    for c in s.chars() {
        if c == '\'' {
            flush(&mut piece, out);
            out.push("\\'");
            continue;
        }
        if piece.len() + c.len_utf8() > MAX_PIECE {
            flush(&mut piece, out);
        }
        piece.push(c);
    }
    flush(&mut piece, out);
}

/// `s` with backslashes doubled and control characters as `\0ooo`, for `printf '%b'`.
fn printf_escaped(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if is_control(c) && (c as u32) < 0x80 => out.push_str(&format!("\\0{:03o}", c as u32)),
            c if is_control(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\0{b:03o}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The words of `argv` for a POSIX shell: assignments (for arguments with control characters)
/// and the words themselves, as `(assignments, words)`.
pub fn posix_words(argv: &[String]) -> Result<(Text, Text), QuoteError> {
    if argv.is_empty() {
        return Err(QuoteError::Empty);
    }
    let mut assignments = Text::default();
    let mut words = Text::default();
    for (index, arg) in argv.iter().enumerate() {
        if arg.contains('\0') {
            return Err(QuoteError::Nul { index });
        }
        if index > 0 {
            words.push(" ");
        }
        if arg.chars().any(is_control) {
            let var = format!("__vk{index}");
            assignments.push(format!("{var}=$(printf '%b_' "));
            single_quoted(&printf_escaped(arg), &mut assignments);
            assignments.push(format!("); {var}=${{{var}%_}}; "));
            words.push(format!("\"${var}\""));
        } else {
            single_quoted(arg, &mut words);
        }
    }
    Ok((assignments, words))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(argv: &[&str]) -> String {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let (a, w) = posix_words(&argv).expect("quotable");
        format!("{}{}", a.lines(usize::MAX), w.lines(usize::MAX))
    }

    #[test]
    fn plain_arguments_are_single_quoted() {
        assert_eq!(words(&["printf", "%s\\n", "a b"]), "'printf' '%s\\n' 'a b'");
    }

    #[test]
    fn a_single_quote_is_spliced_in_outside_the_quotes() {
        assert_eq!(words(&["it's"]), "'it'\\''s'");
        assert_eq!(words(&["'"]), "\\'");
        assert_eq!(words(&[""]), "''");
    }

    #[test]
    fn control_characters_are_rebuilt_by_printf() {
        assert_eq!(words(&["a\tb\\"]), "__vk0=$(printf '%b_' 'a\\0011b\\\\'); __vk0=${__vk0%_}; \"$__vk0\"");
    }

    #[test]
    fn long_lines_break_between_atoms_only() {
        let long = "x".repeat(1000);
        let (_, w) = posix_words(std::slice::from_ref(&long)).expect("quotable");
        let text = w.lines(MAX_LINE);
        assert!(text.lines().all(|l| l.len() <= MAX_LINE), "{text}");
        assert_eq!(text.replace("\\\n", "").replace('\'', ""), long);
    }

    #[test]
    fn nul_and_empty_commands_are_refused() {
        assert_eq!(posix_words(&[]), Err(QuoteError::Empty));
        assert_eq!(posix_words(&["a".into(), "b\0".into()]), Err(QuoteError::Nul { index: 1 }));
    }
}
