//! Runs the cases one by one and reports each as PASS, FAIL or SKIP.

use futures::future::BoxFuture;

use super::context::{CaseError, CaseResult, Context, Settings};
use crate::connect::Connection;

/// One case of the suite.
pub struct Case {
    /// Short name, shown in the report and usable as a filter.
    pub name: &'static str,
    /// The case.
    pub run: for<'a> fn(&'a Context) -> BoxFuture<'a, CaseResult>,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend kept the rule.
    Pass,
    /// The backend broke a rule; the message names it.
    Fail(String),
    /// The backend cannot offer what the case tests; the reason it gave.
    Skip(String),
}

/// The outcome of every case that ran.
#[derive(Debug, Default)]
pub struct Report {
    /// Case name and outcome, in run order.
    pub results: Vec<(&'static str, Outcome)>,
}

impl Report {
    fn count(&self, wanted: fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|(_, outcome)| wanted(outcome)).count()
    }

    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Pass))
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Fail(_)))
    }

    /// Cases that were skipped.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skip(_)))
    }

    /// The outcome of the case called `name`.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.results.iter().find(|(case, _)| *case == name).map(|(_, outcome)| outcome)
    }

    /// `N passed, N failed, N skipped`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed, {} skipped", self.passed(), self.failed(), self.skipped())
    }
}

/// Every case, in run order.
pub fn cases() -> Vec<Case> {
    super::cases::all()
}

/// Runs the cases whose name contains `filter` (all without one), printing one line per
/// case through `print`, then deletes every pod the run created.
pub async fn run(
    connection: Connection,
    settings: Settings,
    filter: Option<&str>,
    mut print: impl FnMut(&str),
) -> Report {
    let limit = settings.timeout * 4 + std::time::Duration::from_secs(20);
    let context = Context::new(connection, settings);
    let mut report = Report::default();
    for case in cases().into_iter().filter(|case| filter.is_none_or(|f| case.name.contains(f))) {
        let outcome = match tokio::time::timeout(limit, (case.run)(&context)).await {
            Ok(Ok(())) => Outcome::Pass,
            Ok(Err(CaseError::Skipped(reason))) => Outcome::Skip(reason),
            Ok(Err(broken)) => Outcome::Fail(broken.to_string()),
            Err(_) => Outcome::Fail(format!("every case finishes in time: still running after {limit:?}")),
        };
        let line = match &outcome {
            Outcome::Pass => format!("PASS {}", case.name),
            Outcome::Fail(message) => format!("FAIL {}: {message}", case.name),
            Outcome::Skip(reason) => format!("SKIP {}: {reason}", case.name),
        };
        print(&line);
        report.results.push((case.name, outcome));
    }
    context.clean_up().await;
    print(&report.summary());
    report
}
