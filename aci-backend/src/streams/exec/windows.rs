//! The line typed into a Windows container's `cmd.exe` (started by ACI without arguments):
//!
//! ```text
//! cmd /d /s /v:on /c "echo vk!__vk!S<nonce>&<command line>&echo vk!__vk!E<nonce>:!errorlevel!"&exit
//! ```
//!
//! A nested `cmd` with delayed expansion runs the command between the two markers; `!errorlevel!`
//! is read when the exit marker runs, so it is the command's status. The typed text shows the
//! markers as `vk!__vk!S...` (the console echoes it), the output as `vkS...`, so the echo never
//! looks like a marker. The outer `cmd.exe` exits right after.
//!
//! The command line follows the Microsoft C runtime's rules (arguments with spaces in double
//! quotes, backslashes before a closing quote doubled). Characters that `cmd.exe` would act on in
//! ways that cannot be escaped reliably in every position (`"`, `%`, `!`, `^`, `&`, `|`, `<`, `>`,
//! `(`, `)`, control characters) are refused instead of guessed at.

use super::script::Markers;

/// Why a command cannot be typed into `cmd.exe`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdQuoteError {
    /// The command has no elements.
    #[error("quoting the command for cmd.exe: the command is empty")]
    Empty,
    /// An argument holds a character cmd.exe cannot be given reliably.
    #[error(
        "quoting the command for cmd.exe: argument {index} contains {character:?}, which cannot be passed \
         through cmd.exe on ACI's Windows exec (refused: \" % ! ^ & | < > ( ) and control characters)"
    )]
    Character {
        /// Position in the command.
        index: usize,
        /// The character.
        character: char,
    },
}

fn refused(c: char) -> bool {
    c.is_control() || matches!(c, '"' | '%' | '!' | '^' | '&' | '|' | '<' | '>' | '(' | ')')
}

/// One argument as the C runtime reads it back.
fn msvc_quote(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t']) {
        return arg.to_owned();
    }
    let trailing = arg.len() - arg.trim_end_matches('\\').len();
    format!("\"{arg}{}\"", "\\".repeat(trailing))
}

/// The whole input for `cmd.exe` (ending with Enter).
pub fn cmd_script(argv: &[String], markers: &Markers) -> Result<String, CmdQuoteError> {
    if argv.is_empty() {
        return Err(CmdQuoteError::Empty);
    }
    let mut words = Vec::with_capacity(argv.len());
    for (index, arg) in argv.iter().enumerate() {
        if let Some(character) = arg.chars().find(|&c| refused(c)) {
            return Err(CmdQuoteError::Character { index, character });
        }
        words.push(msvc_quote(arg));
    }
    let nonce = markers.nonce();
    Ok(format!(
        "cmd /d /s /v:on /c \"echo vk!__vk!S{nonce}&{}&echo vk!__vk!E{nonce}:!errorlevel!\"&exit\r",
        words.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_with_spaces_are_quoted_as_the_c_runtime_reads_them() {
        assert_eq!(msvc_quote("plain"), "plain");
        assert_eq!(msvc_quote(""), "\"\"");
        assert_eq!(msvc_quote("a b"), "\"a b\"");
        assert_eq!(msvc_quote("C:\\dir with space\\"), "\"C:\\dir with space\\\\\"");
    }

    #[test]
    fn the_script_runs_the_command_between_the_markers_and_exits() {
        let script = cmd_script(&argv(&["ping", "-n", "1", "a b"]), &Markers::plain("n1")).expect("script");
        assert_eq!(
            script,
            "cmd /d /s /v:on /c \"echo vk!__vk!Sn1&ping -n 1 \"a b\"&echo vk!__vk!En1:!errorlevel!\"&exit\r"
        );
        let markers = Markers::plain("n1");
        let contains = |needle: &[u8]| script.as_bytes().windows(needle.len()).any(|w| w == needle);
        assert!(!contains(&markers.start()) && !contains(&markers.exit()), "the echo is not a marker");
    }

    #[test]
    fn characters_cmd_would_act_on_are_refused_with_their_position() {
        let err = cmd_script(&argv(&["echo", "100%"]), &Markers::plain("n")).expect_err("refused");
        assert_eq!(err, CmdQuoteError::Character { index: 1, character: '%' });
        assert!(err.to_string().contains("cannot be passed"), "{err}");
        assert_eq!(cmd_script(&[], &Markers::plain("n")), Err(CmdQuoteError::Empty));
    }
}
