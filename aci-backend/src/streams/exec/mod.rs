//! Exec that works on ACI.
//!
//! ACI's exec runs one executable without arguments, always under a terminal, merges stderr into
//! stdout and reports no exit status. The backend therefore starts the container's own `/bin/sh`
//! without arguments and types one line into it ([`script`]) that:
//!
//! - switches the terminal to `-echo -opost` when the client has no terminal (stdin is not echoed,
//!   output bytes pass unchanged) and pipes the command's output through `cat` when the container
//!   has one, so the command sees a pipe as under `kubectl exec` without `-t`;
//! - prints a start marker, runs `(exec 'arg0' 'arg1' ...)` with every argument single-quoted (and
//!   arguments with control characters rebuilt by `printf '%b'`), so arguments arrive byte for byte
//!   and a name like `exit` is looked up as an executable, not a shell builtin;
//! - prints an exit marker with `$?`, then makes the shell exit before it could read anything else.
//!
//! Everything before the start marker (banner, prompts, echo) is dropped; output up to the exit
//! marker is relayed ([`marker`], [`state`]); the marker gives the real exit code. Client stdin
//! waits for the start marker, then reaches the command through the terminal ([`stdin`]): without
//! a client terminal each control character is sent after Ctrl-V so the terminal passes it on
//! literally, long lines are pushed before the terminal's 4 KiB line buffer fills, and end of stdin
//! is Ctrl-D at the start of a line. With a client terminal keystrokes pass unchanged, and an
//! interactive shell (`-it -- sh`) runs the same way with its exit code reported.
//!
//! Limits on ACI: stderr is always merged into stdout; the terminal keeps the size of the start
//! frame (ACI cannot resize); without `stty` in the container stdin is echoed; without `/bin/sh`
//! only a lone executable runs (directly, exit status unknown) and anything else is refused with
//! FAILED_PRECONDITION. On Windows containers a lone executable runs directly (exit status
//! unknown) and a command with arguments through `cmd.exe` ([`windows`]; arguments holding
//! characters cmd.exe would act on are refused; this path is built from cmd.exe's documented
//! rules and has not been run against a real Windows container).

mod driver;
mod error;
pub mod marker;
pub mod quote;
pub mod script;
mod session;
pub mod state;
pub mod stdin;
pub mod windows;

pub(crate) use driver::{Relay, spawn, started};
pub use driver::{SessionStream, client_frames};
pub use error::ExecError;
pub use session::{POSIX_SHELL, SHELL_START, TargetOs, WINDOWS_SHELL, exec, term_size};
