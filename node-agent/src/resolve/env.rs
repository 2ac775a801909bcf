//! A container's environment as the kubelet builds it: `envFrom` first (prefix applied,
//! invalid names skipped with a warning), then `env` in order (`$(VAR)` expanded against
//! what is defined so far and the service variables), then the service link variables
//! that no container variable overrides.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, EnvVar as KubeEnvVar, Pod};
use vk_proto::v1::EnvVar;

use super::error::{ResolveError, ResolveWarning};
use super::expand::expand;
use super::fetch::Fetcher;
use super::field_path::pod_field;
use super::node_facts::NodeFacts;
use super::resource_field::container_resource;
use super::source::ObjectSource;

/// Environment variables with unique names; setting a name again replaces it.
#[derive(Default)]
struct EnvList {
    entries: Vec<EnvVar>,
    index: HashMap<String, usize>,
}

impl EnvList {
    fn set(&mut self, name: String, value: String, secret: bool) {
        if let Some(old) = self.index.remove(&name) {
            self.entries.remove(old);
            for position in self.index.values_mut() {
                if *position > old {
                    *position -= 1;
                }
            }
        }
        self.index.insert(name.clone(), self.entries.len());
        self.entries.push(EnvVar { name, value, secret });
    }

    fn get(&self, name: &str) -> Option<&EnvVar> {
        self.index.get(name).map(|&i| &self.entries[i])
    }
}

/// The kubelet's environment variable name rule.
pub fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_'));
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        && name != "."
        && !name.starts_with("..")
}

/// Builds the environment of `container` in `pod`.
pub async fn container_env<S: ObjectSource>(
    fetch: &mut Fetcher<'_, S>,
    pod: &Pod,
    container: &Container,
    facts: &NodeFacts,
    service_env: &[(String, String)],
    warnings: &mut Vec<ResolveWarning>,
) -> Result<Vec<EnvVar>, ResolveError> {
    let mut env = EnvList::default();
    let namespace = fetch.namespace().to_owned();
    for (index, source) in container.env_from.iter().flatten().enumerate() {
        let context = format!("container {:?} envFrom[{index}]", container.name);
        let prefix = source.prefix.as_deref().unwrap_or_default();
        let mut invalid = Vec::new();
        if let Some(reference) = &source.config_map_ref {
            let optional = reference.optional.unwrap_or(false);
            if let Some(map) = fetch.config_map(&reference.name, optional, &context).await? {
                for (key, value) in &map.data {
                    let name = format!("{prefix}{key}");
                    if is_env_var_name(&name) {
                        env.set(name, value.clone(), false);
                    } else {
                        invalid.push(name);
                    }
                }
            }
            warn_invalid(warnings, invalid, "configMap", &namespace, &reference.name);
        } else if let Some(reference) = &source.secret_ref {
            let optional = reference.optional.unwrap_or(false);
            if let Some(secret) = fetch.secret(&reference.name, optional, &context).await? {
                for (key, value) in &secret.data {
                    let name = format!("{prefix}{key}");
                    if is_env_var_name(&name) {
                        env.set(name, String::from_utf8_lossy(value.expose()).into_owned(), true);
                    } else {
                        invalid.push(name);
                    }
                }
            }
            warn_invalid(warnings, invalid, "secret", &namespace, &reference.name);
        }
    }
    for var in container.env.iter().flatten() {
        let context = format!("container {:?} env {:?}", container.name, var.name);
        if let Some((value, secret)) =
            env_value(fetch, pod, container, facts, &env, service_env, var, &context).await?
        {
            env.set(var.name.clone(), value, secret);
        }
    }
    for (name, value) in service_env {
        if env.get(name).is_none() {
            env.set(name.clone(), value.clone(), false);
        }
    }
    Ok(env.entries)
}

/// The value of one `env` entry and whether it is secret; `None` when an optional
/// reference is absent (the variable is then left out, as the kubelet does).
#[allow(clippy::too_many_arguments)]
async fn env_value<S: ObjectSource>(
    fetch: &mut Fetcher<'_, S>,
    pod: &Pod,
    container: &Container,
    facts: &NodeFacts,
    env: &EnvList,
    service_env: &[(String, String)],
    var: &KubeEnvVar,
    context: &str,
) -> Result<Option<(String, bool)>, ResolveError> {
    let literal = var.value.as_deref().unwrap_or_default();
    let Some(source) = var.value_from.as_ref().filter(|_| literal.is_empty()) else {
        let mut uses_secret = false;
        let value = expand(literal, |name| match env.get(name) {
            Some(found) => {
                uses_secret |= found.secret;
                Some(found.value.as_str())
            }
            None => service_env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()),
        });
        return Ok(Some((value, uses_secret)));
    };
    if let Some(field) = &source.field_ref {
        let value =
            pod_field(pod, facts, &field.field_path).map_err(|r| ResolveError::invalid(context, r))?;
        return Ok(Some((value, false)));
    }
    if let Some(selector) = &source.resource_field_ref {
        let target = match selector.container_name.as_deref().filter(|n| !n.is_empty()) {
            None => container,
            Some(name) => find_container(pod, name)
                .ok_or_else(|| ResolveError::invalid(context, format!("no container named {name:?}")))?,
        };
        let value =
            container_resource(target, selector, facts).map_err(|r| ResolveError::invalid(context, r))?;
        return Ok(Some((value, false)));
    }
    if let Some(selector) = &source.config_map_key_ref {
        let optional = selector.optional.unwrap_or(false);
        let value = fetch.config_map_key(&selector.name, &selector.key, optional, context).await?;
        return Ok(value.map(|v| (v, false)));
    }
    if let Some(selector) = &source.secret_key_ref {
        let optional = selector.optional.unwrap_or(false);
        let value = fetch.secret_key(&selector.name, &selector.key, optional, context).await?;
        return Ok(value.map(|v| (String::from_utf8_lossy(v.expose()).into_owned(), true)));
    }
    Ok(Some((String::new(), false)))
}

/// A container or init container of `pod` by name.
pub fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|c| c.name == name)
}

fn warn_invalid(
    warnings: &mut Vec<ResolveWarning>,
    mut keys: Vec<String>,
    kind: &str,
    namespace: &str,
    name: &str,
) {
    if keys.is_empty() {
        return;
    }
    keys.sort();
    warnings.push(ResolveWarning {
        reason: "InvalidEnvironmentVariableNames".to_owned(),
        message: format!(
            "Keys [{}] from the EnvFrom {kind} {namespace}/{name} were skipped since they are considered \
             invalid environment variable names.",
            keys.join(", ")
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_the_kubelet_rule() {
        for good in ["A", "a_b", "_x", "-dash", "dot.ted", "X1"] {
            assert!(is_env_var_name(good), "{good}");
        }
        for bad in ["", "1A", "a b", "..x", ".", "a=b", "ä"] {
            assert!(!is_env_var_name(bad), "{bad}");
        }
    }

    #[test]
    fn setting_a_name_again_replaces_it_and_keeps_names_unique() {
        let mut env = EnvList::default();
        env.set("A".into(), "1".into(), false);
        env.set("B".into(), "2".into(), false);
        env.set("A".into(), "3".into(), true);
        let names: Vec<_> =
            env.entries.iter().map(|e| (e.name.as_str(), e.value.as_str(), e.secret)).collect();
        assert_eq!(names, [("B", "2", false), ("A", "3", true)]);
        assert_eq!(env.get("A").map(|e| e.value.as_str()), Some("3"));
    }
}
