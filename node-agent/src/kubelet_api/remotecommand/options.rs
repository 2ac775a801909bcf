//! Exec and attach options from the kubelet URL's query string.

use thiserror::Error;
use vk_proto::v1::ExecStart;

/// Which streams a client wants and, for exec, what to run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// Command and arguments (empty for attach).
    pub command: Vec<String>,
    /// Connect stdin (`input=1`).
    pub stdin: bool,
    /// Connect stdout (`output=1`).
    pub stdout: bool,
    /// Connect stderr (`error=1`).
    pub stderr: bool,
    /// Allocate a terminal (`tty=1`).
    pub tty: bool,
}

/// Why the options were refused (answer 400).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OptionsError {
    /// Neither stdin, stdout nor stderr.
    #[error("you must specify at least 1 of stdin, stdout, stderr")]
    NoStreams,
    /// A terminal merges stderr into stdout, so both cannot be asked for.
    #[error("tty and stderr cannot both be true")]
    TtyWithStderr,
    /// Exec without a command.
    #[error("command is required")]
    MissingCommand,
}

impl ExecOptions {
    /// Parses `command=..&input=1&output=1&error=1&tty=1` (the kubelet's names; the
    /// apiserver's `stdin`/`stdout`/`stderr` and `true` are accepted too).
    pub fn from_query(query: &str) -> Result<Self, OptionsError> {
        let mut options = ExecOptions::default();
        for (key, value) in form_urlencoded_pairs(query) {
            let on = value == "1" || value.eq_ignore_ascii_case("true");
            match key.as_str() {
                "command" => options.command.push(value),
                "input" | "stdin" => options.stdin = on,
                "output" | "stdout" => options.stdout = on,
                "error" | "stderr" => options.stderr = on,
                "tty" => options.tty = on,
                _ => {}
            }
        }
        if options.tty && options.stderr {
            return Err(OptionsError::TtyWithStderr);
        }
        if !options.stdin && !options.stdout && !options.stderr {
            return Err(OptionsError::NoStreams);
        }
        Ok(options)
    }

    /// Like [`ExecOptions::from_query`], and a command is required.
    pub fn for_exec(query: &str) -> Result<Self, OptionsError> {
        let options = Self::from_query(query)?;
        if options.command.is_empty() {
            return Err(OptionsError::MissingCommand);
        }
        Ok(options)
    }

    /// The first frame of the provider session.
    pub fn start(&self, pod_uid: &str, container: &str) -> ExecStart {
        ExecStart {
            pod_uid: pod_uid.to_owned(),
            container: container.to_owned(),
            command: self.command.clone(),
            tty: self.tty,
            stdin: self.stdin,
            stdout: self.stdout,
            stderr: self.stderr,
            terminal_size: None,
        }
    }
}

/// `application/x-www-form-urlencoded` pairs: `+` is a space, `%XX` a byte.
fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apiservers_exec_query_parses() {
        let options = ExecOptions::for_exec("command=sh&command=-c&command=echo+%22a+b%22&error=1&output=1")
            .expect("valid");
        assert_eq!(options.command, ["sh", "-c", "echo \"a b\""]);
        assert!(options.stdout && options.stderr && !options.stdin && !options.tty);
    }

    #[test]
    fn boolean_spellings_of_the_apiserver_are_accepted() {
        let options = ExecOptions::from_query("stdin=true&stdout=true&tty=true").expect("valid");
        assert!(options.stdin && options.stdout && options.tty);
    }

    #[test]
    fn tty_with_stderr_is_refused() {
        assert_eq!(ExecOptions::from_query("tty=1&error=1&output=1"), Err(OptionsError::TtyWithStderr));
    }

    #[test]
    fn no_streams_is_refused() {
        assert_eq!(ExecOptions::from_query("command=ls"), Err(OptionsError::NoStreams));
    }

    #[test]
    fn exec_needs_a_command_but_attach_does_not() {
        assert_eq!(ExecOptions::for_exec("output=1"), Err(OptionsError::MissingCommand));
        assert!(ExecOptions::from_query("output=1").is_ok());
    }

    #[test]
    fn broken_percent_escapes_are_kept_literally() {
        let options =
            ExecOptions::from_query("command=100%&command=%zz&command=%41&output=1").expect("valid");
        assert_eq!(options.command, ["100%", "%zz", "A"]);
    }

    #[test]
    fn the_start_frame_carries_everything() {
        let options = ExecOptions::from_query("command=ls&input=1&output=1&tty=1").expect("valid");
        let start = options.start("uid-1", "app");
        assert_eq!(start.pod_uid, "uid-1");
        assert_eq!(start.container, "app");
        assert_eq!(start.command, ["ls"]);
        assert!(start.tty && start.stdin && start.stdout && !start.stderr);
    }
}
