//! Building the Azure credential from the flags, with the authority host and trusted CA the
//! flags name (sovereign clouds, the emulator).

use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

use super::flags::{CredentialKind, Flags};

/// Why no credential could be built.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A setting the chosen credential needs is missing.
    #[error("building the {kind} credential: {missing} is not set (flag {flag}, environment variable {env})")]
    Missing {
        /// Credential kind.
        kind: &'static str,
        /// What is missing.
        missing: &'static str,
        /// Its flag.
        flag: &'static str,
        /// Its environment variable.
        env: &'static str,
    },
    /// azure_identity refused the settings.
    #[error("building the {kind} credential: {message}")]
    Identity {
        /// Credential kind.
        kind: &'static str,
        /// Its message.
        message: String,
    },
}

/// A token request gives up within about 10 s (azure_core's default retries for a minute):
/// the ARM call waiting for it should fail while its caller still listens, and the next one
/// tries again.
fn token_retry() -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        max_retries: 3,
        max_total_elapsed: azure_core::time::Duration::seconds(10),
        ..ExponentialRetryOptions::default()
    })
}

fn client_options(flags: &Flags, http: &reqwest::Client) -> ClientOptions {
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = flags.authority_host.as_str().trim_end_matches('/').to_string();
    ClientOptions {
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        transport: Some(Transport::new(Arc::new(http.clone()))),
        retry: token_retry(),
        ..Default::default()
    }
}

fn need<'a>(
    value: &'a Option<String>,
    kind: &'static str,
    missing: &'static str,
    flag: &'static str,
    env: &'static str,
) -> Result<&'a str, CredentialError> {
    value.as_deref().filter(|v| !v.is_empty()).ok_or(CredentialError::Missing { kind, missing, flag, env })
}

/// The credential the flags choose; `http` (which trusts the configured CA) carries its token requests.
pub fn credential(
    flags: &Flags,
    http: &reqwest::Client,
) -> Result<Arc<dyn TokenCredential>, CredentialError> {
    let kind = match flags.credential {
        CredentialKind::Auto if flags.client_secret.as_deref().is_some_and(|s| !s.is_empty()) => {
            CredentialKind::ClientSecret
        }
        CredentialKind::Auto if flags.federated_token_file.is_some() => CredentialKind::WorkloadIdentity,
        CredentialKind::Auto => CredentialKind::ManagedIdentity,
        other => other,
    };
    let identity = |kind: &'static str| {
        move |e: azure_core::Error| CredentialError::Identity { kind, message: e.to_string() }
    };
    match kind {
        CredentialKind::ClientSecret => {
            const KIND: &str = "client secret";
            let tenant = need(&flags.tenant_id, KIND, "the tenant id", "--tenant-id", "AZURE_TENANT_ID")?;
            let client = need(&flags.client_id, KIND, "the client id", "--client-id", "AZURE_CLIENT_ID")?;
            let secret = need(
                &flags.client_secret,
                KIND,
                "the client secret",
                "--client-secret",
                "AZURE_CLIENT_SECRET",
            )?;
            let options = ClientSecretCredentialOptions { client_options: client_options(flags, http) };
            let c = ClientSecretCredential::new(
                tenant,
                client.to_string(),
                Secret::new(secret.to_string()),
                Some(options),
            )
            .map_err(identity(KIND))?;
            Ok(c)
        }
        CredentialKind::WorkloadIdentity => {
            const KIND: &str = "workload identity";
            let tenant = need(&flags.tenant_id, KIND, "the tenant id", "--tenant-id", "AZURE_TENANT_ID")?;
            let client = need(&flags.client_id, KIND, "the client id", "--client-id", "AZURE_CLIENT_ID")?;
            let Some(file) = flags.federated_token_file.clone() else {
                return Err(CredentialError::Missing {
                    kind: KIND,
                    missing: "the federated token file",
                    flag: "--federated-token-file",
                    env: "AZURE_FEDERATED_TOKEN_FILE",
                });
            };
            let options = WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: client_options(flags, http),
                },
                client_id: Some(client.to_string()),
                tenant_id: Some(tenant.to_string()),
                token_file_path: Some(file),
                ..Default::default()
            };
            let c = WorkloadIdentityCredential::new(Some(options)).map_err(identity(KIND))?;
            Ok(c)
        }
        CredentialKind::ManagedIdentity | CredentialKind::Auto => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: flags
                    .client_id
                    .clone()
                    .filter(|c| !c.is_empty())
                    .map(UserAssignedId::ClientId),
                client_options: client_options(flags, http),
            };
            let c = ManagedIdentityCredential::new(Some(options)).map_err(identity("managed identity"))?;
            Ok(c)
        }
        CredentialKind::AzureCli => {
            let c = AzureCliCredential::new(None).map_err(identity("Azure CLI"))?;
            Ok(c)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn flags(extra: &[&str]) -> Flags {
        let mut args = vec![
            "aci-backend",
            "--listen",
            "unix:///tmp/s.sock",
            "--subscription-id",
            "s",
            "--resource-group",
            "r",
            "--region",
            "westeurope",
        ];
        args.extend_from_slice(extra);
        Flags::try_parse_from(args).expect("valid flags")
    }

    #[test]
    fn a_client_secret_credential_names_what_is_missing() {
        let err = credential(
            &flags(&["--credential", "client-secret", "--tenant-id", "t"]),
            &reqwest::Client::new(),
        )
        .expect_err("no client id");
        assert!(err.to_string().contains("AZURE_CLIENT_ID"), "{err}");
    }

    #[test]
    fn a_complete_client_secret_credential_builds() {
        let f = flags(&[
            "--credential",
            "client-secret",
            "--tenant-id",
            "00000000-0000-0000-0000-000000000000",
            "--client-id",
            "app",
            "--client-secret",
            "s3cret",
        ]);
        assert!(credential(&f, &reqwest::Client::new()).is_ok());
    }
}
