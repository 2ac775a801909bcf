//! Maps an ARM request (method + path) to the ACI operation it names. ARM paths are case-insensitive.

use axum::http::Method;

/// Identifies one container group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupRef {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

impl GroupRef {
    /// Case-insensitive identity, as ARM compares names.
    pub fn key(&self) -> (String, String, String) {
        (
            self.subscription.to_ascii_lowercase(),
            self.resource_group.to_ascii_lowercase(),
            self.name.to_ascii_lowercase(),
        )
    }

    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerInstance/containerGroups/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

/// The ACI operations the emulator serves, and `Metrics`: Azure Monitor's `Metrics - List` on a container
/// group (`.../containerGroups/{name}/providers/Microsoft.Insights/metrics`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    ListBySubscription { subscription: String },
    ListByResourceGroup { subscription: String, resource_group: String },
    Get(GroupRef),
    CreateOrUpdate(GroupRef),
    Update(GroupRef),
    Delete(GroupRef),
    Start(GroupRef),
    Stop(GroupRef),
    Restart(GroupRef),
    ListLogs(GroupRef, String),
    Exec(GroupRef, String),
    Attach(GroupRef, String),
    Usages { subscription: String, location: String },
    Capabilities { subscription: String, location: String },
    OperationStatus { subscription: String, location: String, id: String },
    ProviderGet { subscription: String },
    Metrics(GroupRef),
}

impl Operation {
    /// The spec's operationId (counters and fault rules use it).
    pub fn operation_id(&self) -> &'static str {
        match self {
            Self::ListBySubscription { .. } => "ContainerGroups_List",
            Self::ListByResourceGroup { .. } => "ContainerGroups_ListByResourceGroup",
            Self::Get(_) => "ContainerGroups_Get",
            Self::CreateOrUpdate(_) => "ContainerGroups_CreateOrUpdate",
            Self::Update(_) => "ContainerGroups_Update",
            Self::Delete(_) => "ContainerGroups_Delete",
            Self::Start(_) => "ContainerGroups_Start",
            Self::Stop(_) => "ContainerGroups_Stop",
            Self::Restart(_) => "ContainerGroups_Restart",
            Self::ListLogs(..) => "Containers_ListLogs",
            Self::Exec(..) => "Containers_ExecuteCommand",
            Self::Attach(..) => "Containers_Attach",
            Self::Usages { .. } => "Location_ListUsage",
            Self::Capabilities { .. } => "Location_ListCapabilities",
            Self::OperationStatus { .. } => "ContainerGroups_OperationStatus",
            Self::ProviderGet { .. } => "Providers_Get",
            Self::Metrics(_) => "Metrics_List",
        }
    }

    pub fn subscription(&self) -> &str {
        match self {
            Self::ListBySubscription { subscription }
            | Self::ListByResourceGroup { subscription, .. }
            | Self::Usages { subscription, .. }
            | Self::Capabilities { subscription, .. }
            | Self::OperationStatus { subscription, .. }
            | Self::ProviderGet { subscription } => subscription,
            Self::Get(g)
            | Self::CreateOrUpdate(g)
            | Self::Update(g)
            | Self::Delete(g)
            | Self::Start(g)
            | Self::Stop(g)
            | Self::Restart(g)
            | Self::ListLogs(g, _)
            | Self::Exec(g, _)
            | Self::Attach(g, _)
            | Self::Metrics(g) => &g.subscription,
        }
    }
}

/// Outcome of matching a path.
#[derive(Debug, PartialEq, Eq)]
pub enum Match {
    Found(Operation),
    /// The path names a resource the emulator knows, but not with this method.
    MethodNotAllowed,
    NotFound,
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Parses `path` (without query) for `method`.
pub fn parse(method: &Method, path: &str) -> Match {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let s = segments.as_slice();
    let get = method == Method::GET;
    let found = |op: Operation, ok: bool| if ok { Match::Found(op) } else { Match::MethodNotAllowed };
    match s {
        [subs, sub, prov, ns] if eq(subs, "subscriptions") && eq(prov, "providers") && is_aci(ns) => {
            found(Operation::ProviderGet { subscription: sub.to_string() }, get)
        }
        [subs, sub, prov, ns, cg] if eq(subs, "subscriptions") && eq(prov, "providers") && is_aci(ns) => {
            if eq(cg, "containerGroups") {
                found(Operation::ListBySubscription { subscription: sub.to_string() }, get)
            } else {
                Match::NotFound
            }
        }
        [subs, sub, prov, ns, loc, location, what]
            if eq(subs, "subscriptions") && eq(prov, "providers") && is_aci(ns) && eq(loc, "locations") =>
        {
            let (subscription, location) = (sub.to_string(), location.to_string());
            if eq(what, "usages") {
                found(Operation::Usages { subscription, location }, get)
            } else if eq(what, "capabilities") {
                found(Operation::Capabilities { subscription, location }, get)
            } else {
                Match::NotFound
            }
        }
        [subs, sub, prov, ns, loc, location, ops, id]
            if eq(subs, "subscriptions")
                && eq(prov, "providers")
                && is_aci(ns)
                && eq(loc, "locations")
                && eq(ops, "operations") =>
        {
            let op = Operation::OperationStatus {
                subscription: sub.to_string(),
                location: location.to_string(),
                id: id.to_string(),
            };
            found(op, get)
        }
        [subs, sub, rgs, rg, prov, ns, cg, rest @ ..]
            if eq(subs, "subscriptions")
                && eq(rgs, "resourceGroups")
                && eq(prov, "providers")
                && is_aci(ns)
                && eq(cg, "containerGroups") =>
        {
            group_operation(method, sub, rg, rest)
        }
        _ => Match::NotFound,
    }
}

fn is_aci(namespace: &str) -> bool {
    eq(namespace, "Microsoft.ContainerInstance")
}

fn group_operation(method: &Method, sub: &str, rg: &str, rest: &[&str]) -> Match {
    let group = |name: &str| GroupRef {
        subscription: sub.to_owned(),
        resource_group: rg.to_owned(),
        name: name.to_owned(),
    };
    let post = method == Method::POST;
    let found = |op: Operation, ok: bool| if ok { Match::Found(op) } else { Match::MethodNotAllowed };
    match rest {
        [] => found(
            Operation::ListByResourceGroup { subscription: sub.to_owned(), resource_group: rg.to_owned() },
            method == Method::GET,
        ),
        [name] => {
            let g = group(name);
            match *method {
                Method::GET => Match::Found(Operation::Get(g)),
                Method::PUT => Match::Found(Operation::CreateOrUpdate(g)),
                Method::PATCH => Match::Found(Operation::Update(g)),
                Method::DELETE => Match::Found(Operation::Delete(g)),
                _ => Match::MethodNotAllowed,
            }
        }
        [name, action] if eq(action, "start") => found(Operation::Start(group(name)), post),
        [name, action] if eq(action, "stop") => found(Operation::Stop(group(name)), post),
        [name, action] if eq(action, "restart") => found(Operation::Restart(group(name)), post),
        [name, prov, ns, metrics] if eq(prov, "providers") && eq(ns, "Microsoft.Insights") => {
            if eq(metrics, "metrics") {
                found(Operation::Metrics(group(name)), method == Method::GET)
            } else {
                Match::NotFound
            }
        }
        [name, containers, container, action] if eq(containers, "containers") => {
            let c = container.to_string();
            if eq(action, "logs") {
                found(Operation::ListLogs(group(name), c), method == Method::GET)
            } else if eq(action, "exec") {
                found(Operation::Exec(group(name), c), post)
            } else if eq(action, "attach") {
                found(Operation::Attach(group(name), c), post)
            } else {
                Match::NotFound
            }
        }
        _ => Match::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_regardless_of_case() {
        let m = parse(
            &Method::GET,
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.containerinstance/containergroups/g",
        );
        let Match::Found(Operation::Get(g)) = m else { panic!("expected Get, got {m:?}") };
        assert_eq!(g.name, "g");
    }

    #[test]
    fn container_actions_are_recognised() {
        let base =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/g";
        assert!(matches!(
            parse(&Method::POST, &format!("{base}/containers/c/exec")),
            Match::Found(Operation::Exec(_, c)) if c == "c"
        ));
        assert_eq!(parse(&Method::GET, &format!("{base}/restart")), Match::MethodNotAllowed);
        assert_eq!(parse(&Method::GET, "/subscriptions/s/providers/Other/things"), Match::NotFound);
    }

    #[test]
    fn metrics_of_a_group_are_recognised_in_any_case() {
        let base =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/g";
        for insights in ["Microsoft.Insights", "microsoft.insights"] {
            let m = parse(&Method::GET, &format!("{base}/providers/{insights}/metrics"));
            let Match::Found(op @ Operation::Metrics(_)) = m else { panic!("expected Metrics, got {m:?}") };
            assert_eq!(op.operation_id(), "Metrics_List");
        }
        let metrics = format!("{base}/providers/Microsoft.Insights/metrics");
        assert_eq!(parse(&Method::POST, &metrics), Match::MethodNotAllowed);
        assert_eq!(
            parse(&Method::GET, &format!("{base}/providers/Microsoft.Insights/other")),
            Match::NotFound
        );
    }
}
