//! Collecting every reason a pod cannot run on ACI, so one refusal lists them all.

use std::fmt;

/// One reason a pod cannot run on ACI, at a field path such as `spec.containers[0].ports[1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Kubernetes-style path of the offending field.
    pub path: String,
    /// What is wrong and, where possible, what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The refusal of a pod: every problem found, in field order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join(.problems))]
pub struct Refusal {
    /// The problems, never empty.
    pub problems: Vec<Problem>,
}

fn join(problems: &[Problem]) -> String {
    problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("; ")
}

/// Accumulates problems and notes while a pod is translated.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Findings {
    /// Records a problem that makes the pod unrunnable.
    pub(crate) fn refuse(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { path: path.into(), message: message.into() });
    }

    /// Records something ACI ignores; the pod still runs and the note becomes a provider event.
    pub(crate) fn warn(&mut self, path: impl fmt::Display, message: impl fmt::Display) {
        self.warnings.push(format!("{path}: {message}"));
    }

    /// The warnings when there were no problems, else the refusal.
    pub(crate) fn finish(self) -> Result<Vec<String>, Refusal> {
        if self.problems.is_empty() { Ok(self.warnings) } else { Err(Refusal { problems: self.problems }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_lists_every_problem_with_its_path() {
        let mut findings = Findings::default();
        findings.refuse("spec.hostNetwork", "no host network");
        findings.refuse("spec.volumes[0].hostPath", "no host paths");
        let refusal = findings.finish().expect_err("two problems were recorded");
        assert_eq!(
            refusal.to_string(),
            "spec.hostNetwork: no host network; spec.volumes[0].hostPath: no host paths"
        );
    }

    #[test]
    fn warnings_alone_do_not_refuse() {
        let mut findings = Findings::default();
        findings.warn("spec.hostname", "ignored");
        assert_eq!(findings.finish().expect("only a warning"), vec!["spec.hostname: ignored".to_string()]);
    }
}
