//! Following a log that can only be read as "the last N lines": each poll reads a window of the
//! newest lines and finds where the lines already sent end in it; only what follows is new.
//!
//! Lines are compared with their ACI timestamps, so identical text written at different times
//! stays distinct. Where even the times are equal, the match that yields the fewest new lines
//! wins: a line is never sent twice, at the risk of skipping a truly repeated one. A window
//! holding none of the known lines is either too small (more was written than it holds: read a
//! bigger one) or, when it is the whole log, a new container instance (everything is new).

use std::collections::VecDeque;

use super::lines::LogLine;

/// Most known lines kept for matching.
pub const MAX_KNOWN: usize = 20_000;

/// What a window adds to the known lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diff {
    /// New output: `rest` continues the last known line (written further since), then `lines`.
    New {
        /// The text the last known line gained, if it grew (with that line's time).
        rest: Option<LogLine>,
        /// Whole new lines.
        lines: Vec<LogLine>,
    },
    /// The window is full and holds no known line: read a bigger one.
    WindowTooSmall,
    /// The whole log holds no known line: the container restarted; all of it is new.
    Restarted(Vec<LogLine>),
}

/// The lines known to have been sent (the newest [`MAX_KNOWN`]).
#[derive(Debug, Clone, Default)]
pub struct Known {
    lines: VecDeque<LogLine>,
}

impl Known {
    /// Knows `lines`.
    pub fn new(lines: Vec<LogLine>) -> Self {
        let mut known = Known::default();
        known.push(lines);
        known
    }

    fn push(&mut self, lines: Vec<LogLine>) {
        self.lines.extend(lines);
        while self.lines.len() > MAX_KNOWN {
            self.lines.pop_front();
        }
    }

    /// Compares a window of the newest lines (`full` when it holds as many lines as were asked for).
    pub fn diff(&self, window: &[LogLine], full: bool) -> Diff {
        let Some(last) = self.lines.back() else {
            return Diff::New { rest: None, lines: window.to_vec() };
        };
        for j in (0..window.len()).rev() {
            let candidate = &window[j];
            let grew = candidate.grew_from(last);
            if candidate != last && !grew {
                continue;
            }
            let m = (j + 1).min(self.lines.len());
            let before_ok = (1..m).all(|back| window[j - back] == self.lines[self.lines.len() - 1 - back]);
            if before_ok {
                let rest = grew.then(|| LogLine {
                    time: candidate.time,
                    text: candidate.text[last.text.len()..].to_owned(),
                });
                return Diff::New { rest, lines: window[j + 1..].to_vec() };
            }
        }
        if full { Diff::WindowTooSmall } else { Diff::Restarted(window.to_vec()) }
    }

    /// Records what `diff` (from `window`) said was new.
    pub fn apply(&mut self, diff: &Diff, window: &[LogLine]) {
        match diff {
            Diff::New { rest, lines } => {
                if rest.is_some()
                    && let Some(last) = self.lines.back_mut()
                    && let Some(grown) = window.iter().rev().nth(lines.len())
                {
                    *last = grown.clone();
                }
                self.push(lines.clone());
            }
            Diff::WindowTooSmall => {}
            Diff::Restarted(lines) => {
                self.lines.clear();
                self.push(lines.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::logs::lines::parse_all;

    fn known(text: &str) -> Known {
        Known::new(parse_all(text))
    }

    fn texts(lines: &[LogLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn a_shifted_window_yields_only_the_lines_after_the_known_ones() {
        let k = known("a\nb\n");
        let window = parse_all("b\nc\nd\n");
        let Diff::New { rest, lines } = k.diff(&window, true) else { panic!("new lines") };
        assert_eq!(rest, None);
        assert_eq!(texts(&lines), vec!["c", "d"]);
    }

    #[test]
    fn identical_text_at_different_times_is_new() {
        let k = known("2024-01-01T00:00:01Z same\n");
        let window = parse_all("2024-01-01T00:00:01Z same\n2024-01-01T00:00:02Z same\n");
        assert_eq!(k.diff(&window, false), Diff::New { rest: None, lines: window[1..].to_vec() });
    }

    #[test]
    fn identical_lines_at_identical_times_are_not_sent_twice() {
        let k = known("2024-01-01T00:00:01Z x\n2024-01-01T00:00:01Z x\n");
        let window = parse_all("2024-01-01T00:00:01Z x\n2024-01-01T00:00:01Z x\n");
        assert_eq!(k.diff(&window, true), Diff::New { rest: None, lines: vec![] });
    }

    #[test]
    fn a_full_window_without_known_lines_asks_for_more_and_a_short_one_means_a_restart() {
        let k = known("2024-01-01T00:00:01Z old\n");
        let window = parse_all("2024-01-01T00:00:05Z new\n");
        assert_eq!(k.diff(&window, true), Diff::WindowTooSmall);
        assert_eq!(k.diff(&window, false), Diff::Restarted(window.clone()));
    }

    #[test]
    fn a_line_that_grew_sends_only_its_new_text() {
        let mut k = known("2024-01-01T00:00:01Z a\n2024-01-01T00:00:02Z par\n");
        let window = parse_all("2024-01-01T00:00:02Z partial\n2024-01-01T00:00:03Z next\n");
        let diff = k.diff(&window, false);
        assert_eq!(
            diff,
            Diff::New {
                rest: Some(LogLine { time: window[0].time, text: "tial".into() }),
                lines: window[1..].to_vec()
            }
        );
        k.apply(&diff, &window);
        assert_eq!(k.diff(&window, false), Diff::New { rest: None, lines: vec![] });
    }

    #[test]
    fn a_window_reaching_back_before_the_known_lines_still_matches() {
        let k = known("2024-01-01T00:00:03Z c\n");
        let window = parse_all("2024-01-01T00:00:01Z a\n2024-01-01T00:00:03Z c\n2024-01-01T00:00:04Z d\n");
        assert_eq!(k.diff(&window, true), Diff::New { rest: None, lines: window[2..].to_vec() });
    }
}
