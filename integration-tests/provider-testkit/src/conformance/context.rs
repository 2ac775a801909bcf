//! What every case works with: the connection, settings, pods to clean up, and the
//! vocabulary of verdicts.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::OnceCell;
use tonic::{Code, Status};
use vk_proto::Scope;
use vk_proto::v1::{self as pb, PodPhase};

use crate::connect::{Client, Connection};

/// How the suite runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Cluster id of the scopes the suite uses.
    pub cluster_id: String,
    /// Base node name; cases append suffixes to get separate scopes.
    pub node_name: String,
    /// How long a pod may take to reach Running (and other waits).
    pub timeout: Duration,
    /// A cluster id the caller may not act for, to check PERMISSION_DENIED; None skips that.
    pub forbidden_cluster_id: Option<String>,
}

/// Why a case did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The backend broke a rule of the contract.
    #[error("{rule}: {detail}")]
    Broken {
        /// The rule, as a sentence.
        rule: &'static str,
        /// What the backend did.
        detail: String,
    },
    /// The backend cannot offer what the case tests.
    #[error("{0}")]
    Skipped(String),
}

/// The result of a case.
pub type CaseResult = Result<(), CaseError>;

/// A broken rule.
pub fn broken(rule: &'static str, detail: impl Into<String>) -> CaseError {
    CaseError::Broken { rule, detail: detail.into() }
}

/// Passes when `condition` holds.
pub fn ensure(condition: bool, rule: &'static str, detail: impl FnOnce() -> String) -> CaseResult {
    if condition { Ok(()) } else { Err(broken(rule, detail())) }
}

fn verdict(status: Status, rule: &'static str) -> CaseError {
    match status.code() {
        Code::Unimplemented => {
            CaseError::Skipped(format!("the backend answered UNIMPLEMENTED: {}", status.message()))
        }
        code => broken(rule, format!("the call failed with {code:?}: {}", status.message())),
    }
}

/// Maps an rpc failure onto a verdict: UNIMPLEMENTED skips, anything else breaks `rule`.
pub trait Expect {
    /// The message of the response.
    type Output;
    /// The message, or the verdict for `rule`.
    fn under(self, rule: &'static str) -> Result<Self::Output, CaseError>;
}

impl<T> Expect for Result<tonic::Response<T>, Status> {
    type Output = T;
    fn under(self, rule: &'static str) -> Result<T, CaseError> {
        self.map(tonic::Response::into_inner).map_err(|status| verdict(status, rule))
    }
}

/// [`Expect`] for results that are not responses.
pub trait ExpectValue<T> {
    /// The value, or the verdict for `rule`.
    fn or_rule(self, rule: &'static str) -> Result<T, CaseError>;
}

impl<T> ExpectValue<T> for Result<T, Status> {
    fn or_rule(self, rule: &'static str) -> Result<T, CaseError> {
        self.map_err(|status| verdict(status, rule))
    }
}

/// Expects the call to fail with `code`.
pub fn expect_code<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    rule: &'static str,
) -> Result<Status, CaseError> {
    match result {
        Err(status) if status.code() == code => Ok(status),
        Err(status) if status.code() == Code::Unimplemented => {
            Err(CaseError::Skipped(format!("the backend answered UNIMPLEMENTED: {}", status.message())))
        }
        Err(status) => {
            Err(broken(rule, format!("expected {code:?}, got {:?}: {}", status.code(), status.message())))
        }
        Ok(_) => Err(broken(rule, format!("expected {code:?}, but the call succeeded"))),
    }
}

/// The shared state of one run.
#[derive(Debug)]
pub struct Context {
    connection: Connection,
    /// Settings.
    pub settings: Settings,
    created: Mutex<Vec<(Scope, String)>>,
    run_id: String,
    pub(super) log_pod: OnceCell<Result<String, String>>,
    pub(super) exec_pod: OnceCell<Result<String, String>>,
}

impl Context {
    /// A context for a run.
    pub fn new(connection: Connection, settings: Settings) -> Self {
        let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        Self {
            connection,
            settings,
            created: Mutex::new(Vec::new()),
            run_id,
            log_pod: OnceCell::new(),
            exec_pod: OnceCell::new(),
        }
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// A scope of this run: the base node name with `suffix`.
    pub fn scope(&self, suffix: &str) -> Scope {
        let node = if suffix.is_empty() {
            self.settings.node_name.clone()
        } else {
            format!("{}-{suffix}", self.settings.node_name)
        };
        Scope::new(self.settings.cluster_id.clone(), node)
    }

    /// A client for `scope`.
    pub fn client(&self, scope: &Scope) -> Result<Client, CaseError> {
        self.connection
            .provider(scope)
            .map_err(|e| broken("the scope can be sent as metadata", e.to_string()))
    }

    /// A fresh pod UID, unique to this run.
    pub fn uid(&self, name: &str) -> String {
        format!("{}-{name}-{}", self.run_id, &uuid::Uuid::new_v4().simple().to_string()[..8])
    }

    /// Creates a pod and remembers it for clean-up.
    pub async fn create(
        &self,
        client: &mut Client,
        scope: &Scope,
        pod: pb::Pod,
        rule: &'static str,
    ) -> Result<pb::CreatePodResponse, CaseError> {
        let uid = pod.meta.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
        self.remember(scope, &uid);
        client.create_pod(pb::CreatePodRequest { pod: Some(pod) }).await.under(rule)
    }

    /// Remembers a pod to delete at the end.
    pub fn remember(&self, scope: &Scope, uid: &str) {
        self.created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((scope.clone(), uid.to_owned()));
    }

    /// Polls `probe` until it yields a value or the timeout passes.
    pub async fn eventually<T, F, Fut>(
        &self,
        rule: &'static str,
        what: &str,
        mut probe: F,
    ) -> Result<T, CaseError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, CaseError>>,
    {
        let deadline = tokio::time::Instant::now() + self.settings.timeout;
        loop {
            if let Some(value) = probe().await? {
                return Ok(value);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(broken(
                    rule,
                    format!("{what} did not happen within {:?}", self.settings.timeout),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until GetPod shows the pod in `phase`.
    pub async fn wait_phase(
        &self,
        client: &Client,
        uid: &str,
        phase: PodPhase,
        rule: &'static str,
    ) -> Result<pb::PodState, CaseError> {
        self.eventually(rule, &format!("pod {uid} reaching {phase:?}"), || {
            let mut client = client.clone();
            let uid = uid.to_owned();
            async move {
                let state = client.get_pod(pb::GetPodRequest { uid }).await.under(rule)?.state;
                let reached =
                    state.as_ref().and_then(|s| s.status.as_ref()).is_some_and(|s| s.phase == phase as i32);
                Ok(if reached { state } else { None })
            }
        })
        .await
    }

    /// Deletes every pod the run created.
    pub async fn clean_up(&self) {
        let created =
            std::mem::take(&mut *self.created.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for (scope, uid) in created {
            if let Ok(mut client) = self.connection.provider(&scope) {
                let _ = client.delete_pod(pb::DeletePodRequest { uid, grace_period_seconds: Some(0) }).await;
            }
        }
    }
}
