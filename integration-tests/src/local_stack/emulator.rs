//! The ACI emulator as a process: HTTPS on a loopback port, container commands run as local
//! processes (so logs and exec carry real bytes), plus a client that lists the container
//! groups the way ARM does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::binaries::binary;
use super::error::LocalStackError;
use super::ports::free_port;
use super::process::Process;

/// The ARM api-version the emulator serves.
pub const API_VERSION: &str = "2025-09-01";

/// Where container groups go: one subscription, resource group and region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AzureTarget {
    pub subscription_id: String,
    pub resource_group: String,
    pub region: String,
}

impl AzureTarget {
    /// The local stack's target: region `local`, resource group `resource_group`.
    pub fn local(resource_group: &str) -> Self {
        Self {
            subscription_id: "00000000-0000-0000-0000-0000000000aa".into(),
            resource_group: resource_group.into(),
            region: "local".into(),
        }
    }
}

/// A container group as the ARM list answer shows it.
#[derive(Clone, Debug, Deserialize)]
pub struct ListedGroup {
    pub name: String,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ListPage {
    value: Vec<ListedGroup>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssuedToken {
    access_token: String,
}

/// A running emulator.
#[derive(Debug)]
pub struct EmulatorProcess {
    process: Process,
    base_url: String,
    ca_path: PathBuf,
    http: reqwest::Client,
}

impl EmulatorProcess {
    /// Starts `aci-emulator --tls --runtime process` on a free port, writing its CA to
    /// `<dir>/emulator-ca.pem` and its log to `<log_dir>/aci-emulator.log`, and waits until it
    /// answers.
    pub async fn start(dir: &Path, log_dir: &Path) -> Result<Self, LocalStackError> {
        Self::start_with(dir, log_dir, &[]).await
    }

    /// Like [`EmulatorProcess::start`], with `extra_args` appended to the flags (benchmarks
    /// raise the group and core quotas this way).
    pub async fn start_with(
        dir: &Path,
        log_dir: &Path,
        extra_args: &[String],
    ) -> Result<Self, LocalStackError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| LocalStackError::CreateDir { path: dir.to_path_buf(), source })?;
        let port = free_port()?;
        let ca_path = dir.join("emulator-ca.pem");
        let args: Vec<String> = [
            format!("--listen=127.0.0.1:{port}"),
            "--runtime=process".into(),
            "--tls".into(),
            format!("--tls-ca-out={}", ca_path.display()),
        ]
        .into_iter()
        .chain(extra_args.iter().cloned())
        .collect();
        let mut process = Process::spawn("aci-emulator", &binary("aci-emulator")?, args, log_dir)?;
        let ca = ca_path.clone();
        process
            .wait_until("its CA file", Duration::from_secs(30), || {
                let ca = ca.clone();
                async move { std::fs::metadata(&ca).is_ok_and(|meta| meta.len() > 0) }
            })
            .await?;
        let pem = std::fs::read(&ca_path)
            .map_err(|source| LocalStackError::ReadFile { path: ca_path.clone(), source })?;
        let certificate = reqwest::Certificate::from_pem(&pem).map_err(LocalStackError::HttpClient)?;
        let http = reqwest::Client::builder()
            .tls_certs_only([certificate])
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(LocalStackError::HttpClient)?;
        let base_url = format!("https://127.0.0.1:{port}");
        let health = format!("{base_url}/_emulator/health");
        let client = http.clone();
        process
            .wait_until("the emulator to answer", Duration::from_secs(30), || {
                let (client, health) = (client.clone(), health.clone());
                async move { client.get(&health).send().await.is_ok_and(|r| r.status().is_success()) }
            })
            .await?;
        Ok(Self { process, base_url, ca_path, http })
    }

    /// `https://127.0.0.1:<port>`: the ARM endpoint and the token authority.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The CA (PEM file) that signed the emulator's serving certificate.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    /// Every container group in the target's resource group, through the ARM list API.
    pub async fn container_groups(&self, target: &AzureTarget) -> Result<Vec<ListedGroup>, LocalStackError> {
        let call = |what: &str| {
            let what = what.to_string();
            move |source| LocalStackError::EmulatorCall { what, source }
        };
        let token: IssuedToken = self
            .http
            .post(format!("{}/_emulator/tokens", self.base_url))
            .json(&json!({ "principal": "vk-local-observer" }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(call("issuing a token"))?
            .json()
            .await
            .map_err(call("reading the token"))?;
        let mut next = Some(format!(
            "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerInstance/containerGroups?api-version={API_VERSION}",
            self.base_url, target.subscription_id, target.resource_group
        ));
        let mut groups = Vec::new();
        while let Some(url) = next.take() {
            let page: ListPage = self
                .http
                .get(&url)
                .bearer_auth(&token.access_token)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(call("listing container groups"))?
                .json()
                .await
                .map_err(call("reading the container group list"))?;
            groups.extend(page.value);
            next = page.next_link;
        }
        Ok(groups)
    }

    /// Stops the emulator (its container processes end with it).
    pub async fn stop(&mut self) -> Result<(), LocalStackError> {
        self.process.stop().await.map(|_| ())
    }
}
