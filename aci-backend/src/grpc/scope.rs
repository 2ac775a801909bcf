//! The scope of a call (from request metadata) and whether the caller may act for it.

use std::collections::HashSet;
use std::sync::Arc;

use tonic::{Request, Status};
use vk_proto::Scope;

use crate::pods::CallScope;

/// Cluster ids a caller may act for, placed in request extensions by the authentication
/// interceptor; absent for trusted local callers (Unix socket).
#[derive(Debug, Clone)]
pub struct AllowedClusters(pub Arc<HashSet<String>>);

/// The call's scope, refusing clusters the caller may not act for.
pub fn call_scope<T>(request: &Request<T>) -> Result<CallScope, Status> {
    let scope = Scope::from_metadata(request.metadata()).map_err(Status::from)?;
    if let Some(allowed) = request.extensions().get::<AllowedClusters>()
        && !allowed.0.contains(&scope.cluster_id)
    {
        return Err(Status::permission_denied(format!(
            "this caller may not act for cluster {}",
            scope.cluster_id
        )));
    }
    Ok(CallScope { cluster_id: scope.cluster_id, node_name: scope.node_name })
}
