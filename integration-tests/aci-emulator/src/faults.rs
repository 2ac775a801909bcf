//! Fault injection per operation: ARM errors (429, 500, 503 ServerTimeout), added latency, dropped
//! connections, each at a rate. Set by flags at start-up or through the admin API.

use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::arm::ArmError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    Error429,
    Error500,
    Error503,
    Latency,
    Drop,
}

/// One rule: operation (a spec operationId or `*`), kind, rate in [0, 1], latency for `latency`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    pub operation: String,
    pub kind: FaultKind,
    pub rate: f64,
    #[serde(default)]
    pub latency_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultParseError {
    #[error("parsing fault rule {0:?}: expected OPERATION:KIND:RATE[:LATENCY_MS]")]
    Shape(String),
    #[error("parsing fault rule {0:?}: unknown kind (error429, error500, error503, latency, drop)")]
    Kind(String),
    #[error("parsing fault rule {0:?}: the rate must be a number between 0 and 1")]
    Rate(String),
}

impl std::str::FromStr for FaultRule {
    type Err = FaultParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        let [operation, kind, rate, rest @ ..] = parts.as_slice() else {
            return Err(FaultParseError::Shape(s.to_owned()));
        };
        let kind = match *kind {
            "error429" => FaultKind::Error429,
            "error500" => FaultKind::Error500,
            "error503" => FaultKind::Error503,
            "latency" => FaultKind::Latency,
            "drop" => FaultKind::Drop,
            _ => return Err(FaultParseError::Kind(s.to_owned())),
        };
        let rate: f64 = rate.parse().map_err(|_| FaultParseError::Rate(s.to_owned()))?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(FaultParseError::Rate(s.to_owned()));
        }
        let latency_ms = match rest {
            [] => 0,
            [ms] => ms.parse().map_err(|_| FaultParseError::Shape(s.to_owned()))?,
            _ => return Err(FaultParseError::Shape(s.to_owned())),
        };
        Ok(Self { operation: (*operation).to_owned(), kind, rate, latency_ms })
    }
}

/// What to do with one request.
#[derive(Debug, Default)]
pub struct FaultAction {
    pub latency: Duration,
    pub error: Option<ArmError>,
    pub drop: bool,
}

impl FaultAction {
    /// The faults this action injects, named `fault:<kind>` (`fault:latency`, `fault:drop`,
    /// `fault:error503`, ...), for the request counters.
    pub fn injected(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if !self.latency.is_zero() {
            names.push("fault:latency");
        }
        if self.drop {
            names.push("fault:drop");
        }
        match self.error.as_ref().map(|e| e.status.as_u16()) {
            Some(429) => names.push("fault:error429"),
            Some(503) => names.push("fault:error503"),
            Some(_) => names.push("fault:error500"),
            None => {}
        }
        names
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn new(rules: Vec<FaultRule>) -> Self {
        Self { rules: Mutex::new(rules) }
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn set(&self, rules: Vec<FaultRule>) {
        if let Ok(mut r) = self.rules.lock() {
            *r = rules;
        }
    }

    /// Rolls the dice for every rule matching `operation`: latencies add up; the first error or drop wins.
    pub fn decide(&self, operation: &str) -> FaultAction {
        self.decide_for(operation, true)
    }

    /// Like [`Faults::decide`] for the token endpoints (`OAuth2_Token`, `ManagedIdentity_Token`):
    /// only rules that name `operation` apply, so `*` keeps meaning every ARM operation.
    pub fn decide_named(&self, operation: &str) -> FaultAction {
        self.decide_for(operation, false)
    }

    fn decide_for(&self, operation: &str, wildcard: bool) -> FaultAction {
        let mut action = FaultAction::default();
        let mut rng = rand::rng();
        for rule in self
            .rules()
            .iter()
            .filter(|r| (wildcard && r.operation == "*") || r.operation.eq_ignore_ascii_case(operation))
        {
            if rng.random::<f64>() >= rule.rate {
                continue;
            }
            match rule.kind {
                FaultKind::Latency => action.latency += Duration::from_millis(rule.latency_ms),
                FaultKind::Drop if action.error.is_none() => action.drop = true,
                kind if action.error.is_none() && !action.drop => action.error = Some(error_for(kind)),
                _ => {}
            }
        }
        action
    }
}

fn error_for(kind: FaultKind) -> ArmError {
    match kind {
        FaultKind::Error429 => ArmError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request was throttled (injected fault). Please retry after the time in Retry-After.",
        )
        .with_retry_after(1),
        FaultKind::Error503 => ArmError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServerTimeout",
            "The server operation timed out (injected fault). Please retry.",
        ),
        _ => ArmError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal server error occurred (injected fault). Please retry.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_from_flags() {
        let rule: FaultRule = "ContainerGroups_Get:latency:0.5:250".parse().expect("a valid rule");
        assert_eq!(rule.kind, FaultKind::Latency);
        assert_eq!(rule.latency_ms, 250);
        assert!("x:boom:1".parse::<FaultRule>().is_err());
        assert!("x:drop:2".parse::<FaultRule>().is_err());
    }

    #[test]
    fn a_rate_of_one_always_fires_and_zero_never() {
        let faults =
            Faults::new(vec!["*:error503:1".parse().expect("rule"), "A:drop:0".parse().expect("rule")]);
        let action = faults.decide("A");
        assert_eq!(action.error.as_ref().map(|e| e.code.as_str()), Some("ServerTimeout"));
        assert!(!action.drop);
        assert_eq!(action.injected(), ["fault:error503"]);
        assert!(faults.decide_named("B").injected().is_empty(), "no rule names B");
    }

    #[test]
    fn the_token_endpoint_is_faulted_only_by_rules_that_name_it() {
        let faults = Faults::new(vec!["*:error503:1".parse().expect("rule")]);
        assert!(faults.decide_named("OAuth2_Token").error.is_none(), "* means ARM operations");
        faults.set(vec!["oauth2_token:drop:1".parse().expect("rule")]);
        assert!(faults.decide_named("OAuth2_Token").drop);
        assert!(!faults.decide("ContainerGroups_Get").drop);
    }
}
