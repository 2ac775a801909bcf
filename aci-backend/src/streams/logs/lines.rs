//! Log lines as ACI's logs API gives them with `timestamps=true` (`<RFC 3339 time> <text>`), and
//! how they are written for the client (with or without the kubelet's timestamp prefix).

use chrono::{DateTime, SecondsFormat, Utc};

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When it was written, when ACI said so.
    pub time: Option<DateTime<Utc>>,
    /// The line without its time and line end.
    pub text: String,
}

impl LogLine {
    /// A line from ACI's text (`2024-01-01T00:00:00.5Z hello`, or just `hello`).
    pub fn parse(raw: &str) -> Self {
        if let Some((head, rest)) = raw.split_once(' ')
            && let Ok(t) = DateTime::parse_from_rfc3339(head)
        {
            return LogLine { time: Some(t.to_utc()), text: rest.to_owned() };
        }
        LogLine { time: None, text: raw.to_owned() }
    }

    /// The line for the client, with its line end; with `timestamps`, prefixed by the RFC 3339
    /// time with nanoseconds and a space, as the kubelet writes it.
    pub fn render(&self, timestamps: bool) -> String {
        match (timestamps, self.time) {
            (true, Some(t)) => format!("{} {}\n", t.to_rfc3339_opts(SecondsFormat::Nanos, true), self.text),
            _ => format!("{}\n", self.text),
        }
    }

    /// True when it was written at or after `since` (always, when either time is unknown).
    pub fn is_since(&self, since: Option<DateTime<Utc>>) -> bool {
        match (since, self.time) {
            (Some(since), Some(t)) => t >= since,
            _ => true,
        }
    }

    /// True when `self` is `earlier` after more was written to it (same time, longer text): ACI
    /// shows a line still being written as if it were complete.
    pub fn grew_from(&self, earlier: &LogLine) -> bool {
        self.time == earlier.time
            && self.text.len() > earlier.text.len()
            && self.text.starts_with(&earlier.text)
    }
}

/// The lines of ACI's log text.
pub fn parse_all(content: &str) -> Vec<LogLine> {
    content.lines().map(LogLine::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamped_line_is_split_and_rendered_with_nanoseconds() {
        let line = LogLine::parse("2024-01-01T00:00:00.5Z hello world");
        assert_eq!(line.text, "hello world");
        assert_eq!(line.render(true), "2024-01-01T00:00:00.500000000Z hello world\n");
        assert_eq!(line.render(false), "hello world\n");
    }

    #[test]
    fn a_line_without_a_time_is_kept_whole_and_passes_every_since_filter() {
        let line = LogLine::parse("no time here");
        assert_eq!(line.time, None);
        assert_eq!(line.text, "no time here");
        assert!(line.is_since(Some(Utc::now())));
    }

    #[test]
    fn since_keeps_lines_at_or_after_the_time() {
        let lines = parse_all("2024-01-01T00:00:00Z old\n2024-01-01T00:01:00Z new\n");
        let since = DateTime::parse_from_rfc3339("2024-01-01T00:01:00Z").expect("time").to_utc();
        let kept: Vec<&str> =
            lines.iter().filter(|l| l.is_since(Some(since))).map(|l| l.text.as_str()).collect();
        assert_eq!(kept, vec!["new"]);
    }

    #[test]
    fn a_line_still_being_written_is_recognised_when_it_grows() {
        let early = LogLine::parse("2024-01-01T00:00:00Z abc");
        assert!(LogLine::parse("2024-01-01T00:00:00Z abcdef").grew_from(&early));
        assert!(!LogLine::parse("2024-01-01T00:00:01Z abcdef").grew_from(&early));
        assert!(!early.grew_from(&early));
    }
}
