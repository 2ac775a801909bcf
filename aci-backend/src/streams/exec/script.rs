//! The line typed into the container's shell: it prints a start marker, runs the command, prints
//! an exit marker with the command's status, and makes the shell exit before it could read
//! anything else (so stdin the command left unread is never run as shell input).
//!
//! Without a terminal the command's stdout and stderr go through `cat` (when the container has
//! one) so the command sees a pipe, as it would under `kubectl exec` without `-t`; the terminal is
//! set to `-echo -opost` so stdin is not echoed and output bytes pass unchanged.

use super::quote::{MAX_LINE, QuoteError, Text, posix_words};

/// First byte of every marker: ASCII record separator, rare in output.
pub const MARKER_LEAD: u8 = 0x1e;

/// The unique markers of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markers {
    nonce: String,
    lead: Vec<u8>,
}

/// A fresh random nonce (hex digits).
pub fn random_nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}

impl Markers {
    /// Markers for a POSIX shell, made unique by `nonce` (letters and digits) and led by
    /// [`MARKER_LEAD`].
    pub fn new(nonce: impl Into<String>) -> Self {
        Markers { nonce: nonce.into(), lead: vec![MARKER_LEAD] }
    }

    /// Markers without the lead byte (for `cmd.exe`, which cannot easily print one).
    pub fn plain(nonce: impl Into<String>) -> Self {
        Markers { nonce: nonce.into(), lead: Vec::new() }
    }

    /// The nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// What the shell prints right before the command starts (followed by a line end).
    pub fn start(&self) -> Vec<u8> {
        let mut m = self.lead.clone();
        m.extend_from_slice(format!("vkS{}", self.nonce).as_bytes());
        m
    }

    /// What the shell prints after the command, followed by the status and a line end.
    pub fn exit(&self) -> Vec<u8> {
        let mut m = self.lead.clone();
        m.extend_from_slice(format!("vkE{}:", self.nonce).as_bytes());
        m
    }

    fn print_start(&self) -> String {
        format!("printf '\\036vkS%s\\n' {}", self.nonce)
    }

    fn print_exit(&self) -> String {
        format!("printf '\\036vkE%s:%d\\n' {} \"$?\"", self.nonce)
    }
}

/// How the command is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wiring {
    /// The client asked for a terminal.
    pub tty: bool,
    /// The client sends stdin (otherwise, without a terminal, the command reads `/dev/null`; with
    /// one, its stdin is the terminal, as under a container runtime).
    pub stdin: bool,
}

/// The whole input for `/bin/sh` (ending with a newline).
pub fn posix_script(argv: &[String], wiring: Wiring, markers: &Markers) -> Result<String, QuoteError> {
    let (assignments, words) = posix_words(argv)?;
    let mut run = Text::default();
    run.push("__vkrun() { (");
    run.extend(assignments);
    run.push("exec ");
    run.extend(words);
    if !wiring.stdin && !wiring.tty {
        run.push(" </dev/null");
    }
    run.push("); }; ");
    let mut text = Text::default();
    if !wiring.tty {
        text.push("stty -echo -opost 2>/dev/null; ");
    }
    text.extend(run);
    text.push(format!("{}; ", markers.print_start()));
    if wiring.tty {
        text.push(format!("__vkrun; {}; ", markers.print_exit()));
    } else {
        text.push("if command -v cat >/dev/null 2>&1; then ");
        text.push(format!("{{ __vkrun 2>&1; {}; }} | cat; ", markers.print_exit()));
        text.push(format!("else __vkrun; {}; fi; ", markers.print_exit()));
    }
    text.push("exit");
    let mut out = text.lines(MAX_LINE);
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;
    use std::process::Command;

    fn run(argv: &[&str], wiring: Wiring) -> (String, std::process::Output) {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let script = posix_script(&argv, wiring, &Markers::new("n1")).expect("script");
        let output = Command::new("/bin/sh").arg("-c").arg(&script).output().expect("sh runs");
        (script, output)
    }

    #[test]
    fn the_script_prints_both_markers_around_the_output_and_reports_the_status() {
        let (script, out) = run(&["sh", "-c", "echo out; exit 3"], Wiring { tty: false, stdin: false });
        assert_eq!(String::from_utf8_lossy(&out.stdout), "\u{1e}vkSn1\nout\n\u{1e}vkEn1:3\n", "{script}");
    }

    #[test]
    fn the_markers_never_appear_in_the_typed_text() {
        let argv = vec!["echo".to_string()];
        let markers = Markers::new("abc");
        let script = posix_script(&argv, Wiring { tty: true, stdin: true }, &markers).expect("script");
        let contains = |needle: &[u8]| script.as_bytes().windows(needle.len()).any(|w| w == needle);
        assert!(!contains(&markers.start()) && !contains(&markers.exit()));
        assert!(!contains(b"abc:"), "the status is printed apart from the nonce");
    }

    #[test]
    fn the_shell_exits_before_reading_input_the_command_left_unread() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let touched = dir.path().join("touched");
        let argv = vec!["true".to_string()];
        let script =
            posix_script(&argv, Wiring { tty: true, stdin: true }, &Markers::new("n1")).expect("script");
        let mut child = Command::new("/bin/sh")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(script.as_bytes()).expect("typed");
        input.write_all(format!("touch {}\n", touched.display()).as_bytes()).expect("typed");
        drop(input);
        let out = child.wait_with_output().expect("sh ends");
        assert!(String::from_utf8_lossy(&out.stdout).ends_with("\u{1e}vkEn1:0\n"));
        assert!(!touched.exists(), "the line after the script was not run");
    }

    #[test]
    fn a_shell_builtin_name_is_looked_up_as_an_executable() {
        let (_, out) = run(&["exit", "4"], Wiring { tty: true, stdin: false });
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.ends_with("\u{1e}vkEn1:127\n"), "exit is not a builtin here: {text}");
    }

    fn tricky_char() -> impl proptest::strategy::Strategy<Value = char> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::sample::select(vec![
                '\'', '"', '\\', '$', '`', ' ', '\t', '\n', '\r', '!', '*', '?', ';', '&', '|', '(', ')',
                '{', '}', '#', '~', '%', '\u{1}', '\u{3}', '\u{4}', '\u{1b}', '\u{1e}', '\u{7f}', 'é',
                '\u{85}',
            ]),
            any::<char>().prop_filter("no NUL", |c| *c != '\0'),
            proptest::char::range('a', 'z'),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn arguments_arrive_intact_through_a_real_shell(
            args in proptest::collection::vec(
                proptest::collection::vec(tricky_char(), 0..40).prop_map(|c| c.into_iter().collect::<String>()),
                1..5,
            ),
            long in 0usize..600,
        ) {
            use proptest::prelude::*;
            let mut args = args;
            args.push("x'y".repeat(long / 3));
            let mut argv = vec!["printf".to_string(), "%s\\0".to_string()];
            argv.extend(args.iter().cloned());
            let script = posix_script(&argv, Wiring { tty: true, stdin: false }, &Markers::new("p")).expect("script");
            let out = Command::new("/bin/sh").arg("-c").arg(&script).output().expect("sh runs");
            let text = out.stdout;
            let start = b"\x1evkSp\n";
            let end = b"\x1evkEp:0\n";
            prop_assert!(text.starts_with(start) && text.ends_with(end), "{:?}", String::from_utf8_lossy(&text));
            let body = &text[start.len()..text.len() - end.len()];
            let got: Vec<String> = body
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let mut want = args.clone();
            want.push(String::new());
            prop_assert_eq!(got, want);
        }
    }
}
