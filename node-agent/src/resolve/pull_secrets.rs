//! `imagePullSecrets` into registry credentials. Both Secret formats are read:
//! `.dockerconfigjson` (`{"auths": {server: entry}}`) and the older `.dockercfg`
//! (`{server: entry}`); an entry has `username`/`password` or a base64 `auth` of
//! `user:password`. As with the kubelet, a missing pull secret is a warning, not an error.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::api::core::v1::LocalObjectReference;
use serde::Deserialize;
use vk_proto::v1::RegistryCredential;

use super::error::{ResolveError, ResolveWarning};
use super::fetch::Fetcher;
use super::sensitive::Sensitive;
use super::source::ObjectSource;

#[derive(Deserialize)]
struct DockerConfigJson {
    #[serde(default)]
    auths: BTreeMap<String, DockerEntry>,
}

#[derive(Deserialize, Default)]
struct DockerEntry {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    auth: Option<String>,
}

/// The registry host of a docker config key (`https://index.docker.io/v1/` → `index.docker.io`).
pub fn registry_host(key: &str) -> String {
    let without_scheme = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    without_scheme.split('/').next().unwrap_or_default().to_owned()
}

/// Credentials from one Secret's data, server by server; `Err` says why it is unreadable.
pub fn credentials_from_secret(
    data: &BTreeMap<String, Sensitive<Vec<u8>>>,
) -> Result<Vec<RegistryCredential>, String> {
    let entries: BTreeMap<String, DockerEntry> = if let Some(json) = data.get(".dockerconfigjson") {
        serde_json::from_slice::<DockerConfigJson>(json.expose())
            .map_err(|e| format!(".dockerconfigjson is not a docker config: {e}"))?
            .auths
    } else if let Some(json) = data.get(".dockercfg") {
        serde_json::from_slice(json.expose())
            .map_err(|e| format!(".dockercfg is not a docker config: {e}"))?
    } else {
        return Err("it has neither .dockerconfigjson nor .dockercfg".to_owned());
    };
    let mut credentials = Vec::new();
    for (server, entry) in entries {
        let (username, password) = match (entry.username, entry.password) {
            (Some(user), Some(password)) if !user.is_empty() => (user, password),
            _ => {
                let auth = entry.auth.unwrap_or_default();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|_| format!("the auth of {server} is not base64"))?;
                let text =
                    String::from_utf8(decoded).map_err(|_| format!("the auth of {server} is not UTF-8"))?;
                let (user, password) = text
                    .split_once(':')
                    .ok_or_else(|| format!("the auth of {server} is not user:password"))?;
                (user.to_owned(), password.to_owned())
            }
        };
        credentials.push(RegistryCredential { server: registry_host(&server), username, password });
    }
    Ok(credentials)
}

/// Credentials from all pull secrets of a pod, first mention of a server winning.
pub async fn registry_credentials<S: ObjectSource>(
    fetch: &mut Fetcher<'_, S>,
    references: &[LocalObjectReference],
    warnings: &mut Vec<ResolveWarning>,
) -> Result<Vec<RegistryCredential>, ResolveError> {
    let mut credentials: Vec<RegistryCredential> = Vec::new();
    let mut missing = Vec::new();
    for reference in references {
        let context = format!("imagePullSecrets {:?}", reference.name);
        let Some(secret) = fetch.secret(&reference.name, true, &context).await? else {
            missing.push(reference.name.clone());
            continue;
        };
        match credentials_from_secret(&secret.data) {
            Ok(found) => {
                for credential in found {
                    if !credentials.iter().any(|c| c.server == credential.server) {
                        credentials.push(credential);
                    }
                }
            }
            Err(problem) => warnings.push(ResolveWarning {
                reason: "FailedToRetrieveImagePullSecret".to_owned(),
                message: format!(
                    "Pull secret {}/{} is unusable: {problem}",
                    fetch.namespace(),
                    reference.name
                ),
            }),
        }
    }
    if !missing.is_empty() {
        warnings.push(ResolveWarning {
            reason: "FailedToRetrieveImagePullSecret".to_owned(),
            message: format!(
                "Unable to retrieve some image pull secrets ({}); attempting to pull the image may not succeed.",
                missing.join(", ")
            ),
        });
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(key: &str, json: &str) -> BTreeMap<String, Sensitive<Vec<u8>>> {
        [(key.to_owned(), Sensitive::new(json.as_bytes().to_vec()))].into()
    }

    #[test]
    fn dockerconfigjson_with_username_and_password_is_read() {
        let found = credentials_from_secret(&data(
            ".dockerconfigjson",
            r#"{"auths":{"myreg.azurecr.io":{"username":"u","password":"p"}}}"#,
        ))
        .expect("valid config");
        assert_eq!(
            found,
            [RegistryCredential {
                server: "myreg.azurecr.io".into(),
                username: "u".into(),
                password: "p".into()
            }]
        );
    }

    #[test]
    fn dockercfg_with_only_auth_is_decoded_and_the_server_normalized() {
        // "bob:s3:cret" in base64: the password may contain colons.
        let found = credentials_from_secret(&data(
            ".dockercfg",
            r#"{"https://index.docker.io/v1/":{"auth":"Ym9iOnMzOmNyZXQ="}}"#,
        ))
        .expect("valid config");
        assert_eq!(found[0].server, "index.docker.io");
        assert_eq!((found[0].username.as_str(), found[0].password.as_str()), ("bob", "s3:cret"));
    }

    #[test]
    fn unreadable_pull_secrets_say_why() {
        assert!(credentials_from_secret(&data("other", "{}")).is_err());
        assert!(credentials_from_secret(&data(".dockerconfigjson", "nope")).is_err());
        assert!(credentials_from_secret(&data(".dockercfg", r#"{"r":{"auth":"!!"}}"#)).is_err());
    }
}
