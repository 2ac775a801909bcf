//! One exec or attach session as a pure state machine: events in (terminal output, client stdin,
//! terminal closed), actions out (bytes for the terminal, frames for the client). The async driver
//! only moves bytes; every decision is here.

use bytes::Bytes;

use super::marker::{MarkerScanner, Scan};
use super::script::Markers;
use super::stdin::StdinEncoder;

/// Most shell noise kept to explain a shell that did not start.
const MAX_NOISE: usize = 4096;

/// Where a session is.
#[derive(Debug, Clone)]
pub enum State {
    /// The driver line was typed into `/bin/sh`. Until the start marker the output is the shell's
    /// own (banner, prompts, echo of the typed line) and is dropped; client stdin waits, so the
    /// shell never reads it as a command.
    Starting {
        /// Finds the start marker.
        start: MarkerScanner,
        /// Finds the exit marker once started.
        exit: MarkerScanner,
        /// The shell's output so far (bounded), to explain a failure.
        noise: Vec<u8>,
        /// Client stdin that arrived early, in order.
        early: Vec<Event>,
        /// Encodes stdin.
        stdin: StdinEncoder,
    },
    /// The command runs: its output is relayed up to the exit marker; stdin reaches it.
    Running {
        /// Finds the exit marker.
        exit: MarkerScanner,
        /// Encodes stdin.
        stdin: StdinEncoder,
    },
    /// No marker: everything is relayed until the terminal closes (a lone executable, attach).
    Direct {
        /// Encodes stdin.
        stdin: StdinEncoder,
    },
    /// The session is over.
    Done,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The terminal wrote these bytes.
    Output(Bytes),
    /// The terminal closed.
    Closed,
    /// The client sent stdin.
    Stdin(Bytes),
    /// The client's stdin ended.
    StdinClose,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write to the terminal.
    Send(Bytes),
    /// Tell the client the command started (the marker approach is in use).
    Started,
    /// Relay to the client as stdout.
    Stdout(Bytes),
    /// The command exited with this status; close the terminal.
    Exit(i32),
    /// The exit marker was malformed; close the terminal.
    ExitUnreadable(String),
    /// The terminal closed before the start marker; the shell's output is attached.
    NoStart(Bytes),
    /// The terminal closed while the command ran, before its exit marker: the session was lost.
    Lost,
    /// A session without markers ended: the status cannot be known.
    Ended,
}

impl State {
    /// A session that typed the driver line for `markers`; client stdin goes through `stdin`.
    pub fn starting(markers: &Markers, stdin: StdinEncoder) -> Self {
        State::Starting {
            start: MarkerScanner::new(markers.start()),
            exit: MarkerScanner::new(markers.exit()),
            noise: Vec::new(),
            early: Vec::new(),
            stdin,
        }
    }

    /// A session relaying a terminal without markers.
    pub fn direct(stdin: StdinEncoder) -> Self {
        State::Direct { stdin }
    }

    /// True once the session is over.
    pub fn is_done(&self) -> bool {
        matches!(self, State::Done)
    }

    /// True while client input would be held rather than delivered.
    pub fn is_starting(&self) -> bool {
        matches!(self, State::Starting { .. })
    }

    /// The next state and the actions for `event`.
    pub fn step(self, event: Event) -> (State, Vec<Action>) {
        match self {
            State::Starting { start, exit, noise, early, stdin } => {
                starting(start, exit, noise, early, stdin, event)
            }
            State::Running { exit, stdin } => running(exit, stdin, event),
            State::Direct { mut stdin } => match event {
                Event::Output(b) => (State::Direct { stdin }, vec![Action::Stdout(b)]),
                Event::Closed => (State::Done, vec![Action::Ended]),
                Event::Stdin(b) => {
                    let bytes = stdin.encode(&b);
                    (State::Direct { stdin }, send(bytes))
                }
                Event::StdinClose => {
                    let bytes = stdin.close();
                    (State::Direct { stdin }, send(bytes))
                }
            },
            State::Done => (State::Done, Vec::new()),
        }
    }
}

fn send(bytes: Vec<u8>) -> Vec<Action> {
    if bytes.is_empty() { Vec::new() } else { vec![Action::Send(Bytes::from(bytes))] }
}

fn starting(
    mut start: MarkerScanner,
    exit: MarkerScanner,
    mut noise: Vec<u8>,
    mut early: Vec<Event>,
    stdin: StdinEncoder,
    event: Event,
) -> (State, Vec<Action>) {
    match event {
        Event::Output(bytes) => match start.push(&bytes) {
            Scan::Output(out) => {
                if noise.len() < MAX_NOISE {
                    noise.extend_from_slice(&out[..out.len().min(MAX_NOISE - noise.len())]);
                }
                (State::Starting { start, exit, noise, early, stdin }, Vec::new())
            }
            Scan::Found { after, .. } => {
                let mut actions = vec![Action::Started];
                let mut state = State::Running { exit, stdin };
                for event in std::iter::once(Event::Output(Bytes::from(after))).chain(early) {
                    let (next, more) = state.step(event);
                    state = next;
                    actions.extend(more);
                }
                (state, actions)
            }
        },
        Event::Closed => {
            noise.extend_from_slice(start.held());
            (State::Done, vec![Action::NoStart(Bytes::from(noise))])
        }
        early_input @ (Event::Stdin(_) | Event::StdinClose) => {
            early.push(early_input);
            (State::Starting { start, exit, noise, early, stdin }, Vec::new())
        }
    }
}

fn running(mut exit: MarkerScanner, mut stdin: StdinEncoder, event: Event) -> (State, Vec<Action>) {
    match event {
        Event::Output(bytes) => match exit.push(&bytes) {
            Scan::Output(out) if out.is_empty() => (State::Running { exit, stdin }, Vec::new()),
            Scan::Output(out) => (State::Running { exit, stdin }, vec![Action::Stdout(Bytes::from(out))]),
            Scan::Found { before, rest, .. } => {
                let mut actions = Vec::new();
                if !before.is_empty() {
                    actions.push(Action::Stdout(Bytes::from(before)));
                }
                let text = String::from_utf8_lossy(&rest).into_owned();
                actions.push(match text.trim().parse::<i32>() {
                    Ok(code) => Action::Exit(code),
                    Err(_) => Action::ExitUnreadable(text),
                });
                (State::Done, actions)
            }
        },
        Event::Closed => {
            let mut actions = Vec::new();
            if !exit.held().is_empty() {
                actions.push(Action::Stdout(Bytes::copy_from_slice(exit.held())));
            }
            actions.push(Action::Lost);
            (State::Done, actions)
        }
        Event::Stdin(b) => {
            let bytes = stdin.encode(&b);
            (State::Running { exit, stdin }, send(bytes))
        }
        Event::StdinClose => {
            let bytes = stdin.close();
            (State::Running { exit, stdin }, send(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(state: State, events: Vec<Event>) -> (State, Vec<Action>) {
        let mut state = state;
        let mut all = Vec::new();
        for e in events {
            let (next, actions) = state.step(e);
            state = next;
            all.extend(actions);
        }
        (state, all)
    }

    fn out(s: &str) -> Event {
        Event::Output(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn shell_noise_is_dropped_and_the_command_output_relayed_until_the_exit_status() {
        let markers = Markers::new("n");
        let events = vec![
            out("$ stty -echo; printf '\\036vkS%s\\n' n ...\r\n\u{1e}vk"),
            out("Sn\nout\n\u{1e}vkEn:"),
            out("3\nlater"),
        ];
        let (state, actions) = run(State::starting(&markers, StdinEncoder::new(false)), events);
        assert!(state.is_done());
        assert_eq!(
            actions,
            vec![Action::Started, Action::Stdout(Bytes::from_static(b"out\n")), Action::Exit(3)]
        );
    }

    #[test]
    fn stdin_that_arrives_before_the_start_marker_waits_for_the_command() {
        let markers = Markers::new("n");
        let events = vec![
            Event::Stdin(Bytes::from_static(b"a\x03")),
            Event::StdinClose,
            out("noise"),
            out("\u{1e}vkSn\r\n"),
        ];
        let (state, actions) = run(State::starting(&markers, StdinEncoder::new(false)), events);
        assert!(matches!(state, State::Running { .. }));
        assert_eq!(
            actions,
            vec![
                Action::Started,
                Action::Send(Bytes::from_static(b"a\x16\x03")),
                Action::Send(Bytes::from_static(b"\x04\x04")),
            ]
        );
    }

    #[test]
    fn a_terminal_that_closes_before_starting_reports_what_the_shell_said() {
        let markers = Markers::new("n");
        let events = vec![out("exec: \"/bin/sh\": executable file not found\r\n"), Event::Closed];
        let (_, actions) = run(State::starting(&markers, StdinEncoder::new(false)), events);
        assert_eq!(
            actions,
            vec![Action::NoStart(Bytes::from_static(b"exec: \"/bin/sh\": executable file not found\r\n"))]
        );
    }

    #[test]
    fn a_terminal_lost_while_running_ends_without_a_status() {
        let markers = Markers::new("n");
        let (_, actions) = run(
            State::starting(&markers, StdinEncoder::new(true)),
            vec![out("\u{1e}vkSn\npartial\u{1e}"), Event::Closed],
        );
        assert_eq!(
            actions,
            vec![
                Action::Started,
                Action::Stdout(Bytes::from_static(b"partial")),
                Action::Stdout(Bytes::from_static(b"\x1e")),
                Action::Lost
            ]
        );
    }

    #[test]
    fn a_direct_session_relays_everything_until_the_terminal_closes() {
        let (state, actions) =
            run(State::direct(StdinEncoder::new(true)), vec![out("x"), Event::StdinClose, Event::Closed]);
        assert!(state.is_done());
        assert_eq!(
            actions,
            vec![
                Action::Stdout(Bytes::from_static(b"x")),
                Action::Send(Bytes::from_static(b"\x04")),
                Action::Ended
            ]
        );
    }
}
