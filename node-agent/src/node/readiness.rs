//! The Node's `Ready` condition, derived from what the agent knows about the backend:
//! unreachable → False; reachable with an unhealthy backend condition → False with that
//! condition's reason and message; otherwise True.

use vk_proto::v1::NodeInfo;

/// What the agent last learned from the backend.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendView {
    /// Nothing learned yet (just started).
    Unknown,
    /// The last GetNodeInfo call failed.
    Unreachable {
        /// Why, for the condition message.
        error: String,
        /// The backend refused this agent's credentials (rather than being unreachable).
        unauthorized: bool,
    },
    /// The last GetNodeInfo call succeeded.
    Reachable(Box<NodeInfo>),
}

/// The Ready condition's status, reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// True when the node should accept pods.
    pub ready: bool,
    /// CamelCase reason.
    pub reason: String,
    /// A sentence for people.
    pub message: String,
}

/// Derives readiness from the backend view.
pub fn readiness(view: &BackendView) -> Readiness {
    match view {
        BackendView::Unknown => Readiness {
            ready: false,
            reason: "BackendNotContacted".to_owned(),
            message: "node-agent has not reached the provider backend yet".to_owned(),
        },
        BackendView::Unreachable { error, unauthorized: true } => Readiness {
            ready: false,
            reason: "BackendUnauthorized".to_owned(),
            message: format!("the provider backend refused this agent's credentials: {error}"),
        },
        BackendView::Unreachable { error, unauthorized: false } => Readiness {
            ready: false,
            reason: "BackendUnreachable".to_owned(),
            message: format!("the provider backend is unreachable: {error}"),
        },
        BackendView::Reachable(info) => {
            let unhealthy: Vec<_> = info.conditions.iter().filter(|c| !c.healthy).collect();
            match unhealthy.first() {
                None => Readiness {
                    ready: true,
                    reason: "KubeletReady".to_owned(),
                    message: "node-agent is posting ready status; the provider backend is healthy".to_owned(),
                },
                Some(first) => Readiness {
                    ready: false,
                    reason: if first.reason.is_empty() {
                        "BackendUnhealthy".to_owned()
                    } else {
                        first.reason.clone()
                    },
                    message: unhealthy
                        .iter()
                        .map(|c| {
                            if c.message.is_empty() {
                                format!("{} is unhealthy", c.r#type)
                            } else {
                                c.message.clone()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use vk_proto::v1::NodeCondition;

    use super::*;

    fn info(conditions: Vec<NodeCondition>) -> BackendView {
        BackendView::Reachable(Box::new(NodeInfo { conditions, ..NodeInfo::default() }))
    }

    fn condition(kind: &str, healthy: bool, reason: &str, message: &str) -> NodeCondition {
        NodeCondition {
            r#type: kind.into(),
            healthy,
            reason: reason.into(),
            message: message.into(),
            last_transition_time: None,
        }
    }

    #[test]
    fn a_healthy_reachable_backend_makes_the_node_ready() {
        let ready = readiness(&info(vec![condition("CloudReachable", true, "Ok", "")]));
        assert!(ready.ready);
        assert_eq!(ready.reason, "KubeletReady");
    }

    #[test]
    fn an_unreachable_backend_makes_the_node_not_ready_and_says_why() {
        let ready =
            readiness(&BackendView::Unreachable { error: "connection refused".into(), unauthorized: false });
        assert!(!ready.ready);
        assert_eq!(ready.reason, "BackendUnreachable");
        assert!(ready.message.contains("connection refused"));
        let refused = readiness(&BackendView::Unreachable { error: "bad token".into(), unauthorized: true });
        assert_eq!((refused.ready, refused.reason.as_str()), (false, "BackendUnauthorized"));
        assert!(!readiness(&BackendView::Unknown).ready);
    }

    #[test]
    fn unhealthy_backend_conditions_give_their_reason_and_all_messages() {
        let ready = readiness(&info(vec![
            condition("CloudReachable", true, "", ""),
            condition("CredentialsValid", false, "TokenRejected", "the client secret expired"),
            condition("ProviderRegistered", false, "", ""),
        ]));
        assert!(!ready.ready);
        assert_eq!(ready.reason, "TokenRejected");
        assert_eq!(ready.message, "the client secret expired; ProviderRegistered is unhealthy");
    }
}
