//! The reference backend runs nothing: it interprets a handful of shell commands so that
//! containers and exec sessions produce real bytes and real exit codes.
//!
//! Understood: `sh -c '<statements>'` (statements separated by `;`, `&&` or newlines, words
//! quoted with `'` or `"`, a trailing `>&2` sends a statement's output to stderr) and the
//! commands `echo [-n]`, `sleep SECONDS|infinity`, `exit [N]`, `true`, `false`, `cat` (copies
//! stdin), `env` (prints the container's environment) and `stty size`. In an exec session any
//! other program fails like a shell would (exit 127); as a container's main process it runs
//! until stopped, as a long-running server would.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// One command with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Output goes to stderr (`>&2`).
    pub to_stderr: bool,
}

/// What a container or exec session runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// Statements run in order.
    Statements(Vec<Statement>),
    /// A program the interpreter does not know, run as a server that never exits on its own.
    RunsUntilStopped,
}

/// Bytes a program wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// To stdout.
    Stdout(Vec<u8>),
    /// To stderr.
    Stderr(Vec<u8>),
}

/// A script could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScriptError {
    /// A quote was opened and never closed.
    #[error("parsing the shell script failed: unterminated {0} quote")]
    UnterminatedQuote(char),
}

/// The environment a program runs in.
pub struct Io {
    /// Where output goes; a closed receiver stops the program.
    pub out: mpsc::Sender<Output>,
    /// Stdin, when connected.
    pub stdin: Option<mpsc::Receiver<Vec<u8>>>,
    /// The terminal size (width, height), when there is a terminal.
    pub terminal: Option<watch::Receiver<(u32, u32)>>,
    /// The container's environment.
    pub env: Vec<(String, String)>,
}

const BUILTINS: &[&str] = &["echo", "sleep", "exit", "true", "false", "cat", "env", "stty", "sh", "bash"];

fn is_shell(program: &str) -> bool {
    matches!(program.rsplit('/').next(), Some("sh" | "bash"))
}

impl Program {
    /// The program of a container's main process (`command` then `args`).
    pub fn for_container(command: &[String], args: &[String]) -> Result<Self, ScriptError> {
        let argv: Vec<String> = command.iter().chain(args).cloned().collect();
        match argv.first() {
            None => Ok(Self::RunsUntilStopped),
            Some(program) if !BUILTINS.contains(&program.rsplit('/').next().unwrap_or(program)) => {
                Ok(Self::RunsUntilStopped)
            }
            Some(_) => Self::for_exec(&argv),
        }
    }

    /// The program of an exec session.
    pub fn for_exec(argv: &[String]) -> Result<Self, ScriptError> {
        match argv {
            [shell, flag, script, ..] if is_shell(shell) && flag == "-c" => {
                Ok(Self::Statements(parse(script)?))
            }
            _ => Ok(Self::Statements(vec![Statement { argv: argv.to_vec(), to_stderr: false }])),
        }
    }
}

/// Splits a shell script into statements.
pub fn parse(script: &str) -> Result<Vec<Statement>, ScriptError> {
    let mut statements = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let finish = |words: &mut Vec<String>, statements: &mut Vec<Statement>| {
        let mut to_stderr = false;
        words.retain(|w| {
            let redirect = w == ">&2" || w == "1>&2";
            to_stderr |= redirect;
            !redirect && w != "2>&1"
        });
        if !words.is_empty() {
            statements.push(Statement { argv: std::mem::take(words), to_stderr });
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(end) if end == c => break,
                        Some('\\') if c == '"' => {
                            if let Some(escaped) = chars.next() {
                                word.push(escaped);
                            }
                        }
                        Some(other) => word.push(other),
                        None => return Err(ScriptError::UnterminatedQuote(c)),
                    }
                }
            }
            '&' if word.ends_with('>') => word.push(c),
            ';' | '\n' | '&' => {
                if c == '&' && chars.peek() == Some(&'&') {
                    chars.next();
                }
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                finish(&mut words, &mut statements);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    finish(&mut words, &mut statements);
    Ok(statements)
}

/// Runs a program to its end and returns its exit status. Returns early (with 137, as if
/// killed) when the output receiver goes away.
pub async fn run(program: &Program, io: &mut Io) -> i32 {
    let statements = match program {
        Program::RunsUntilStopped => {
            io.out.closed().await;
            return 137;
        }
        Program::Statements(statements) => statements,
    };
    let mut status = 0;
    for statement in statements {
        match run_statement(statement, io).await {
            Step::Continue(code) => status = code,
            Step::Exit(code) => return code,
        }
    }
    status
}

enum Step {
    Continue(i32),
    Exit(i32),
}

async fn write(io: &Io, to_stderr: bool, bytes: Vec<u8>) -> Result<(), ()> {
    let output = if to_stderr { Output::Stderr(bytes) } else { Output::Stdout(bytes) };
    io.out.send(output).await.map_err(|_| ())
}

async fn run_statement(statement: &Statement, io: &mut Io) -> Step {
    const KILLED: Step = Step::Exit(137);
    let Some((program, args)) = statement.argv.split_first() else { return Step::Continue(0) };
    let err = statement.to_stderr;
    match program.rsplit('/').next().unwrap_or(program) {
        "echo" => {
            let (newline, args) = match args.first() {
                Some(flag) if flag == "-n" => (false, &args[1..]),
                _ => (true, args),
            };
            let mut text = args.join(" ");
            if newline {
                text.push('\n');
            }
            if write(io, err, text.into_bytes()).await.is_err() {
                return KILLED;
            }
            Step::Continue(0)
        }
        "sleep" => {
            let seconds = args.first().map(String::as_str).unwrap_or("0");
            let duration = if seconds == "infinity" {
                Duration::from_secs(u64::MAX / 4)
            } else {
                match seconds.parse::<f64>() {
                    Ok(s) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s),
                    _ => {
                        let message = format!("sleep: invalid time interval '{seconds}'\n");
                        return if write(io, true, message.into_bytes()).await.is_err() {
                            KILLED
                        } else {
                            Step::Continue(1)
                        };
                    }
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(duration) => Step::Continue(0),
                _ = io.out.closed() => KILLED,
            }
        }
        "exit" => Step::Exit(args.first().and_then(|code| code.parse::<i32>().ok()).unwrap_or(0) & 0xff),
        "true" => Step::Continue(0),
        "false" => Step::Continue(1),
        "cat" => {
            let Some(stdin) = io.stdin.as_mut() else { return Step::Continue(0) };
            loop {
                tokio::select! {
                    bytes = stdin.recv() => match bytes {
                        Some(bytes) => {
                            let output = if err { Output::Stderr(bytes) } else { Output::Stdout(bytes) };
                            if io.out.send(output).await.is_err() {
                                return KILLED;
                            }
                        }
                        None => return Step::Continue(0),
                    },
                    _ = io.out.closed() => return KILLED,
                }
            }
        }
        "env" => {
            let text: String = io.env.iter().map(|(name, value)| format!("{name}={value}\n")).collect();
            if write(io, err, text.into_bytes()).await.is_err() {
                return KILLED;
            }
            Step::Continue(0)
        }
        "stty" if args.first().map(String::as_str) == Some("size") => {
            let Some(terminal) = io.terminal.as_ref() else {
                let message = b"stty: 'standard input': Inappropriate ioctl for device\n".to_vec();
                return if write(io, true, message).await.is_err() { KILLED } else { Step::Continue(1) };
            };
            let (width, height) = *terminal.borrow();
            if write(io, err, format!("{height} {width}\n").into_bytes()).await.is_err() {
                return KILLED;
            }
            Step::Continue(0)
        }
        other => {
            let message = format!("sh: {other}: not found\n");
            if write(io, true, message.into_bytes()).await.is_err() {
                return KILLED;
            }
            Step::Continue(127)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    async fn outputs(program: Program, stdin: Option<Vec<&str>>) -> (Vec<Output>, i32) {
        let (tx, mut rx) = mpsc::channel(16);
        let stdin = stdin.map(|chunks| {
            let (stdin_tx, stdin_rx) = mpsc::channel(16);
            for chunk in chunks {
                stdin_tx.try_send(chunk.as_bytes().to_vec()).expect("room for stdin");
            }
            stdin_rx
        });
        let mut io = Io { out: tx, stdin, terminal: None, env: vec![("A".into(), "1".into())] };
        let code = run(&program, &mut io).await;
        drop(io);
        let mut collected = Vec::new();
        while let Some(output) = rx.recv().await {
            collected.push(output);
        }
        (collected, code)
    }

    #[test]
    fn a_script_splits_into_statements_with_quotes_and_redirects() {
        let parsed = parse("echo 'a  b' \"c;d\"; echo err >&2 && exit 3").expect("valid script");
        assert_eq!(
            parsed,
            vec![
                Statement { argv: argv(&["echo", "a  b", "c;d"]), to_stderr: false },
                Statement { argv: argv(&["echo", "err"]), to_stderr: true },
                Statement { argv: argv(&["exit", "3"]), to_stderr: false },
            ]
        );
        assert_eq!(parse("echo 'open"), Err(ScriptError::UnterminatedQuote('\'')));
    }

    #[tokio::test]
    async fn sh_c_separates_stdout_and_stderr_and_returns_the_exit_code() {
        let program = Program::for_exec(&argv(&["sh", "-c", "echo out; echo err >&2; exit 3; echo never"]))
            .expect("valid");
        let (out, code) = outputs(program, None).await;
        assert_eq!(out, vec![Output::Stdout(b"out\n".to_vec()), Output::Stderr(b"err\n".to_vec())]);
        assert_eq!(code, 3);
    }

    #[tokio::test]
    async fn cat_copies_stdin_until_it_closes() {
        let (out, code) =
            outputs(Program::for_exec(&argv(&["cat"])).expect("valid"), Some(vec!["a", "b"])).await;
        assert_eq!(out, vec![Output::Stdout(b"a".to_vec()), Output::Stdout(b"b".to_vec())]);
        assert_eq!(code, 0);
    }

    #[tokio::test]
    async fn an_unknown_exec_program_fails_like_a_shell() {
        let (out, code) = outputs(Program::for_exec(&argv(&["nginx", "-t"])).expect("valid"), None).await;
        assert_eq!(out, vec![Output::Stderr(b"sh: nginx: not found\n".to_vec())]);
        assert_eq!(code, 127);
    }

    #[test]
    fn an_unknown_main_program_runs_until_stopped() {
        assert_eq!(Program::for_container(&argv(&["nginx"]), &[]), Ok(Program::RunsUntilStopped));
        assert_eq!(Program::for_container(&[], &[]), Ok(Program::RunsUntilStopped));
        assert!(matches!(
            Program::for_container(&argv(&["echo"]), &argv(&["hi"])),
            Ok(Program::Statements(_))
        ));
    }

    #[tokio::test]
    async fn env_prints_the_container_environment() {
        let (out, _) = outputs(Program::for_exec(&argv(&["env"])).expect("valid"), None).await;
        assert_eq!(out, vec![Output::Stdout(b"A=1\n".to_vec())]);
    }
}
