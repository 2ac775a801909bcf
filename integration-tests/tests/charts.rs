//! The Helm charts rendered by the real Helm v4 library (helm-sdkpy), linted, and installed
//! into the real local control plane (1.20), whose apiserver must accept every object and
//! whose authorizer answers for the chart's RBAC.
//!
//! Needs the venv `charts-test/setup.sh` creates (the tests run it themselves; it is
//! idempotent) and the control plane binaries. The node-agent runs with the chart's RBAC are
//! in `charts-test/flow_tests.rs`.

#[path = "../charts-test/support.rs"]
mod support;

#[path = "../charts-test/agent_flow.rs"]
mod agent_flow;

#[path = "../charts-test/uninstall_flow.rs"]
mod uninstall_flow;

#[path = "../charts-test/flow_tests.rs"]
mod flow_tests;

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use serde_json::{Value, json};
use support::{Release, args, container, container_names, install_error, lint};

const SECRET: &str = "sp-secret-value-that-must-stay-in-a-secret";

/// The Azure settings every sidecar install needs.
fn sidecar(os_type: &str) -> Value {
    json!({
        "osType": os_type,
        "subscriptionId": "00000000-0000-0000-0000-000000000001",
        "aciResourceGroup": "vk-aci-rg",
        "location": "westeurope",
        "credentials": {
            "type": "servicePrincipal",
            "tenantId": "00000000-0000-0000-0000-0000000000aa",
            "clientId": "00000000-0000-0000-0000-0000000000bb",
            "clientSecret": SECRET,
        },
        "uninstall": { "cleanup": true },
    })
}

fn remote(with_certificate: bool, token: bool) -> Value {
    let mut tls = json!({ "caCert": "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n" });
    if with_certificate {
        tls["clientCert"] = json!("-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n");
        tls["clientKey"] = json!("-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n");
    }
    let mut remote = json!({ "enabled": true, "address": "tcp://aci-backend.example.com:443", "tls": tls });
    if token {
        remote["token"] = json!({ "value": "caller-token-of-cluster-a" });
    }
    json!({ "osType": "Both", "location": "westeurope", "backend": { "remote": remote } })
}

fn has(args: &[String], wanted: &str) -> bool {
    args.iter().any(|a| a == wanted)
}

/// The workspace binary `name` accepts every argument the chart renders for it: each flag
/// exists and each value parses (`--help` last stops it before it would start serving).
async fn binary_accepts(name: &str, rendered: &[String]) -> Result<()> {
    let binary = integration_tests::local_stack::binary(name)?;
    let output = tokio::process::Command::new(&binary)
        .args(rendered)
        .arg("--help")
        .env_clear()
        .output()
        .await
        .with_context(|| format!("running {}", binary.display()))?;
    ensure!(
        output.status.success(),
        "{name} refuses the chart's args {rendered:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[tokio::test]
async fn both_charts_lint_clean_in_every_shape() -> Result<()> {
    let shapes = [
        ("virtual-kubelet-aci", sidecar("Linux")),
        ("virtual-kubelet-aci", sidecar("Windows")),
        ("virtual-kubelet-aci", sidecar("Both")),
        ("virtual-kubelet-aci", remote(true, false)),
        ("virtual-kubelet-aci", remote(false, true)),
        (
            "aci-backend",
            json!({
                "subscriptionId": "s", "resourceGroup": "rg", "location": "westeurope",
                "tls": { "cert": "c", "key": "k", "clientCa": "ca" },
                "callers": [{ "name": "a", "token": "t", "clusters": ["u"] }],
            }),
        ),
    ];
    for (chart, values) in shapes {
        let (warnings, errors, stderr) = lint(chart, &values).await?;
        ensure!(errors.is_empty(), "{chart} with {values}: lint errors {errors:?}\n{stderr}");
        // The only warning allowed: lint's default Kubernetes version (1.20) lacks policy/v1,
        // so the backend chart picks policy/v1beta1 for its PodDisruptionBudget there.
        let unexpected: Vec<&String> =
            warnings.iter().filter(|w| !w.contains("policy/v1beta1 PodDisruptionBudget")).collect();
        ensure!(unexpected.is_empty(), "{chart} with {values}: lint warnings {unexpected:?}");
    }
    Ok(())
}

#[tokio::test]
async fn the_connector_chart_as_shipped_asks_for_its_azure_settings() -> Result<()> {
    // Lint renders `required` leniently and logs what is missing; install refuses.
    let (_, _, stderr) = lint("virtual-kubelet-aci", &json!({})).await?;
    for wanted in ["subscriptionId is required", "aciResourceGroup is required", "location is required"] {
        ensure!(stderr.contains(wanted), "lint does not say {wanted:?}:\n{stderr}");
    }
    let error = install_error("virtual-kubelet-aci", &json!({})).await?;
    ensure!(error.contains("is required"), "{error}");
    Ok(())
}

#[tokio::test]
async fn os_type_both_runs_a_linux_and_a_windows_connector_with_sidecar_backends() -> Result<()> {
    let release = Release::install("virtual-kubelet-aci", &sidecar("Both")).await?;
    let deployments = release.all("Deployment");
    ensure!(deployments.len() == 2, "two Deployments expected, got {}", deployments.len());
    for os in ["linux", "windows"] {
        let deployment = release.one("Deployment", &format!("-{os}"))?;
        ensure!(deployment["spec"]["replicas"] == 1, "one agent per node");
        ensure!(container_names(deployment) == ["node-agent", "aci-backend"], "sidecar pair expected");
        let agent = args(container(deployment, "node-agent")?);
        let backend = args(container(deployment, "aci-backend")?);
        binary_accepts("node-agent", &agent).await?;
        binary_accepts("aci-backend", &backend).await?;
        for wanted in [
            format!("--os={os}"),
            format!("--nodename=virtual-kubelet-aci-{os}-westeurope"),
            "--backend=unix:///var/run/vk/provider.sock".into(),
            "--kubelet-port=10250".into(),
            "--taint-key=virtual-kubelet.io/provider".into(),
            "--taint-effect=NoSchedule".into(),
        ] {
            ensure!(has(&agent, &wanted), "{os} agent lacks {wanted}: {agent:?}");
        }
        for wanted in [
            "--listen=unix:///var/run/vk/provider.sock".to_string(),
            format!("--node-os={os}"),
            "--resource-group=vk-aci-rg".into(),
            "--region=westeurope".into(),
            "--credential=client-secret".into(),
        ] {
            ensure!(has(&backend, &wanted), "{os} backend lacks {wanted}: {backend:?}");
        }
        // Both containers mount the socket's emptyDir; both have both probes.
        let volumes = &deployment["spec"]["template"]["spec"]["volumes"];
        ensure!(
            volumes
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["name"] == "provider-socket" && v.get("emptyDir").is_some()),
            "no emptyDir for the socket: {volumes}"
        );
        for name in ["node-agent", "aci-backend"] {
            let c = container(deployment, name)?;
            ensure!(c["volumeMounts"][0]["mountPath"] == "/var/run/vk", "{name} does not mount the socket");
            ensure!(c.get("livenessProbe").is_some() && c.get("readinessProbe").is_some(), "{name} probes");
        }
        let ports = &container(deployment, "node-agent")?["ports"];
        ensure!(ports[0]["name"] == "kubelet" && ports[0]["containerPort"] == 10250, "{ports}");
    }
    // Both nodes are named in the RBAC, and the apiserver holds both Deployments.
    let role = release.one("ClusterRole", "-node-agent")?.to_string();
    ensure!(role.contains("virtual-kubelet-aci-linux-westeurope") && role.contains("windows-westeurope"));
    let names =
        release.plane.kubectl(&["get", "deployments", "-n", &release.namespace, "-o", "name"]).await?;
    ensure!(names.lines().count() == 2, "{names}");
    ensure!(release.notes.contains("virtual-kubelet-aci-windows-westeurope"), "{}", release.notes);
    release.remove().await
}

#[tokio::test]
async fn linux_or_windows_alone_runs_one_connector() -> Result<()> {
    for os in ["Linux", "Windows"] {
        let release = Release::install("virtual-kubelet-aci", &sidecar(os)).await?;
        let deployments = release.all("Deployment");
        ensure!(deployments.len() == 1, "{os}: {} Deployments", deployments.len());
        let lower = os.to_lowercase();
        let agent = args(container(deployments[0], "node-agent")?);
        ensure!(has(&agent, &format!("--os={lower}")), "{agent:?}");
        release.remove().await?;
    }
    Ok(())
}

#[tokio::test]
async fn the_client_secret_lives_only_in_a_secret() -> Result<()> {
    let release = Release::install("virtual-kubelet-aci", &sidecar("Linux")).await?;
    for object in release.objects.iter().chain(&release.hooks) {
        if object["kind"] != "Secret" {
            ensure!(!object.to_string().contains(SECRET), "the secret leaks into {}", object["kind"]);
        }
    }
    ensure!(release.all("ConfigMap").is_empty(), "no ConfigMap expected");
    let secret = release.one("Secret", "-azure")?;
    let stored = secret["data"]["clientSecret"].as_str().context("clientSecret key")?;
    ensure!(base64::engine::general_purpose::STANDARD.decode(stored)? == SECRET.as_bytes());
    let backend = container(release.one("Deployment", "-linux")?, "aci-backend")?;
    let env = backend["env"].as_array().context("env")?;
    let from = env.iter().find(|e| e["name"] == "AZURE_CLIENT_SECRET").context("AZURE_CLIENT_SECRET")?;
    ensure!(from.get("value").is_none(), "AZURE_CLIENT_SECRET must come from the Secret: {from}");
    ensure!(from["valueFrom"]["secretKeyRef"]["key"] == "clientSecret", "{from}");
    release.remove().await
}

#[tokio::test]
async fn managed_and_workload_identity_need_no_secret() -> Result<()> {
    for (kind, flag) in [("managedIdentity", "managed-identity"), ("workloadIdentity", "workload-identity")] {
        let mut values = sidecar("Linux");
        values["credentials"] = json!({ "type": kind, "clientId": "id-1", "tenantId": "tenant-1" });
        let release = Release::install("virtual-kubelet-aci", &values).await?;
        ensure!(release.all("Secret").is_empty(), "{kind}: no Secret expected");
        let deployment = release.one("Deployment", "-linux")?;
        let backend = container(deployment, "aci-backend")?;
        ensure!(has(&args(backend), &format!("--credential={flag}")), "{kind}");
        let env = backend["env"].to_string();
        ensure!(env.contains("AZURE_CLIENT_ID") && !env.contains("AZURE_CLIENT_SECRET"), "{kind}: {env}");
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        let account = release.all("ServiceAccount")[0]["metadata"].to_string();
        if kind == "workloadIdentity" {
            ensure!(labels["azure.workload.identity/use"] == "true", "{labels}");
            ensure!(account.contains("azure.workload.identity/client-id"), "{account}");
        } else {
            ensure!(labels.get("azure.workload.identity/use").is_none(), "{labels}");
        }
        release.remove().await?;
    }
    Ok(())
}

#[tokio::test]
async fn remote_mode_runs_the_agent_alone_with_its_client_identity() -> Result<()> {
    for (certificate, token) in [(true, false), (false, true), (true, true)] {
        let release = Release::install("virtual-kubelet-aci", &remote(certificate, token)).await?;
        ensure!(release.all("Deployment").len() == 2, "Both: two agents");
        for deployment in release.all("Deployment") {
            ensure!(container_names(deployment) == ["node-agent"], "no backend container in remote mode");
            let agent = args(container(deployment, "node-agent")?);
            ensure!(has(&agent, "--backend=tcp://aci-backend.example.com:443"), "{agent:?}");
            ensure!(has(&agent, "--backend-tls-ca=/etc/vk/backend-tls/ca.crt"), "{agent:?}");
            ensure!(
                has(&agent, "--backend-tls-cert=/etc/vk/backend-tls/tls.crt") == certificate,
                "{agent:?}"
            );
            ensure!(has(&agent, "--backend-token-file=/etc/vk/backend-token/token") == token, "{agent:?}");
            binary_accepts("node-agent", &agent).await?;
            ensure!(!deployment.to_string().contains("emptyDir"), "no socket volume in remote mode");
        }
        ensure!(
            release.all("Secret").iter().all(|s| !s["metadata"]["name"].to_string().ends_with("-azure\""))
        );
        release.one("Secret", "-backend-tls")?;
        ensure!(release.one("Secret", "-backend-token").is_ok() == token);
        release.remove().await?;
    }
    Ok(())
}

#[tokio::test]
async fn inconsistent_values_are_refused_with_a_reason() -> Result<()> {
    let mut no_tls = remote(false, true);
    no_tls["backend"]["remote"]["tls"] = json!({});
    let mut no_secret = sidecar("Linux");
    no_secret["credentials"]["clientSecret"] = json!("");
    let mut bad_os = sidecar("Linux");
    bad_os["osType"] = json!("Plan9");
    let mut bad_address = remote(true, false);
    bad_address["backend"]["remote"]["address"] = json!("aci-backend:443");
    for (values, reason) in [
        (no_tls, "backend.remote needs TLS"),
        (no_secret, "credentials.clientSecret or credentials.existingSecret is required"),
        (bad_os, "osType"),
        (bad_address, "backend.remote.address must be tcp://"),
    ] {
        let error = install_error("virtual-kubelet-aci", &values).await?;
        ensure!(error.contains(reason), "expected {reason:?} in: {error}");
    }
    Ok(())
}

/// What the apiserver's authorizer answers for the release's ServiceAccount.
async fn can(release: &Release, account: &str, args: &[&str]) -> Result<bool> {
    let who = format!("--as=system:serviceaccount:{}:{account}", release.namespace);
    let output =
        release.plane.kubectl_command().args(["auth", "can-i"]).args(args).arg(&who).output().await?;
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_string();
    ensure!(answer == "yes" || answer == "no", "kubectl auth can-i {args:?}: {answer} {output:?}");
    Ok(answer == "yes")
}

#[tokio::test]
async fn the_agent_may_do_exactly_what_a_kubelet_for_its_own_nodes_does() -> Result<()> {
    let release = Release::install("virtual-kubelet-aci", &sidecar("Both")).await?;
    let account = release.all("ServiceAccount")[0]["metadata"]["name"].as_str().context("name")?.to_string();
    let node = "virtual-kubelet-aci-linux-westeurope";
    let allowed: &[&[&str]] = &[
        &["create", "nodes"],
        &["patch", &format!("nodes/{node}")],
        &["patch", &format!("nodes/{node}"), "--subresource=status"],
        &["delete", "nodes/virtual-kubelet-aci-windows-westeurope"],
        &["create", "leases", "-n", "kube-node-lease"],
        &["update", &format!("leases/{node}"), "-n", "kube-node-lease"],
        &["watch", "pods", "--all-namespaces"],
        &["delete", "pods", "-n", "default"],
        &["patch", "pods", "--subresource=status", "-n", "default"],
        &["create", "events", "-n", "default"],
        &["get", "secrets", "-n", "default"],
        &["get", "configmaps", "-n", "default"],
        &["list", "services", "-n", "default"],
        &["create", "serviceaccounts", "--subresource=token", "-n", "default"],
        &["create", "tokenreviews.authentication.k8s.io"],
        &["create", "subjectaccessreviews.authorization.k8s.io"],
        &["get", "namespaces/kube-system"],
    ];
    for question in allowed {
        ensure!(can(&release, &account, question).await?, "the agent may not {question:?}");
    }
    let denied: &[&[&str]] = &[
        &["patch", "nodes/a-real-node"],
        &["delete", "nodes/a-real-node"],
        &["update", "leases/a-real-node", "-n", "kube-node-lease"],
        &["list", "secrets", "--all-namespaces"],
        &["watch", "configmaps", "-n", "default"],
        &["create", "pods", "-n", "default"],
        &["update", "pods", "-n", "default"],
        &["get", "namespaces/default"],
        &["delete", "deployments.apps", "-n", "default"],
        &["create", "clusterrolebindings.rbac.authorization.k8s.io"],
        &["*", "*"],
    ];
    for question in denied {
        ensure!(!can(&release, &account, question).await?, "the agent may {question:?}");
    }
    for rule in release.one("ClusterRole", "-node-agent")?["rules"].as_array().context("rules")? {
        ensure!(!rule.to_string().contains("\"*\""), "wildcard rule {rule}");
    }
    release.remove().await
}

#[tokio::test]
async fn uninstall_drains_the_nodes_before_stopping_the_agents_and_deleting_the_nodes() -> Result<()> {
    let release = Release::install("virtual-kubelet-aci", &sidecar("Both")).await?;
    let job = release.hooks.iter().find(|o| o["kind"] == "Job").context("no cleanup Job hook")?;
    ensure!(job["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete", "{job}");
    let spec = &job["spec"]["template"]["spec"];
    let steps: Vec<String> = spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["containers"].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let expected = [
        "cordon-0",
        "cordon-1",
        "delete-pods-0",
        "delete-pods-1",
        "stop-agent-linux",
        "stop-agent-windows",
        "wait-agents-gone",
        "delete-lease-0",
        "delete-lease-1",
        "delete-nodes",
    ];
    ensure!(steps == expected, "cleanup steps {steps:?}");
    let drain = args(&spec["initContainers"][2]);
    ensure!(has(&drain, "--field-selector=spec.nodeName=virtual-kubelet-aci-linux-westeurope"), "{drain:?}");
    // The hook's own RBAC is a hook too (it exists only during uninstall) and is accepted.
    let hook_kinds: Vec<&str> = release.hooks.iter().filter_map(|o| o["kind"].as_str()).collect();
    for kind in ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Job"] {
        ensure!(hook_kinds.contains(&kind), "hook kinds {hook_kinds:?} lack {kind}");
    }
    let mut off = sidecar("Both");
    off["uninstall"]["cleanup"] = json!(false);
    let without = Release::install("virtual-kubelet-aci", &off).await?;
    ensure!(without.hooks.is_empty(), "cleanup off: no hooks");
    ensure!(without.notes.contains("delete the pods on the virtual nodes BEFORE"), "{}", without.notes);
    without.remove().await?;
    release.remove().await
}

/// A client certificate (PEM, DER) for a caller.
fn client_certificate() -> Result<(String, Vec<u8>)> {
    let issued = rcgen::generate_simple_self_signed(vec!["cluster-a".to_string()])?;
    Ok((issued.cert.pem(), issued.cert.der().to_vec()))
}

fn backend_values(certificate_pem: &str) -> Value {
    json!({
        "subscriptionId": "00000000-0000-0000-0000-000000000001",
        "resourceGroup": "shared-aci",
        "location": "westeurope",
        "tls": { "cert": "server-cert-pem", "key": "server-key-pem", "clientCa": "client-ca-pem" },
        "callers": [
            { "name": "cluster-a", "certificate": certificate_pem, "clusters": ["uid-a"] },
            { "name": "cluster-b", "token": "token-of-cluster-b", "clusters": ["uid-b", "uid-b2"] },
        ],
    })
}

/// Hex SHA-256, by coreutils' sha256sum (an independent implementation).
async fn sha256_hex(bytes: &[u8]) -> Result<String> {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().context("stdin")?.write_all(bytes).await?;
    let output = child.wait_with_output().await?;
    let text = String::from_utf8(output.stdout)?;
    Ok(text.split_whitespace().next().context("sha256sum output")?.to_string())
}

#[tokio::test]
async fn the_shared_backend_serves_known_callers_over_tls_with_a_disruption_budget() -> Result<()> {
    let (pem, der) = client_certificate()?;
    let release = Release::install("aci-backend", &backend_values(&pem)).await?;
    let deployment = release.one("Deployment", "aci-backend")?;
    ensure!(deployment["spec"]["replicas"] == 3, "several replicas by default");
    let backend = container(deployment, "aci-backend")?;
    let backend_args = args(backend);
    binary_accepts("aci-backend", &backend_args).await?;
    for wanted in [
        "--listen=tcp://0.0.0.0:7443",
        "--tls-cert=/etc/aci-backend/tls/tls.crt",
        "--tls-key=/etc/aci-backend/tls/tls.key",
        "--client-ca=/etc/aci-backend/tls/ca.crt",
        "--callers=/etc/aci-backend/callers/callers.json",
        "--resource-group=shared-aci",
        "--stats-reads-per-minute=300",
    ] {
        ensure!(has(&backend_args, wanted), "backend lacks {wanted}: {backend_args:?}");
    }
    ensure!(backend.get("livenessProbe").is_some() && backend.get("readinessProbe").is_some());
    let service = release.one("Service", "aci-backend")?;
    ensure!(
        service["spec"]["ports"][0]["port"] == 443 && service["spec"]["ports"][0]["targetPort"] == "grpc"
    );
    // The local apiserver is 1.20: the chart picks the PodDisruptionBudget API it serves.
    let budget = release.one("PodDisruptionBudget", "aci-backend")?;
    ensure!(budget["apiVersion"] == "policy/v1beta1" && budget["spec"]["minAvailable"] == 1, "{budget}");
    // The callers file in the backend's format: certificates (DER) and tokens by SHA-256.
    let callers = release.one("Secret", "-callers")?["data"]["callers.json"].as_str().context("callers")?;
    let callers: Value = serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(callers)?)?;
    let expected = json!({ "callers": [
        { "name": "cluster-a", "certificateSha256": sha256_hex(&der).await?, "clusters": ["uid-a"] },
        { "name": "cluster-b", "tokenSha256": sha256_hex(b"token-of-cluster-b").await?, "clusters": ["uid-b", "uid-b2"] },
    ] });
    ensure!(callers == expected, "callers file {callers}, expected {expected}");
    ensure!(release.one("Secret", "-tls")?["type"] == "kubernetes.io/tls");
    for object in &release.objects {
        if object["kind"] != "Secret" {
            ensure!(
                !object.to_string().contains("token-of-cluster-b"),
                "token leaks into {}",
                object["kind"]
            );
        }
    }
    let names =
        release.plane.kubectl(&["get", "pdb,svc,deploy", "-n", &release.namespace, "-o", "name"]).await?;
    ensure!(names.lines().count() == 3, "{names}");
    release.remove().await
}

#[tokio::test]
async fn a_shared_backend_without_tls_or_callers_is_refused() -> Result<()> {
    let (pem, _) = client_certificate()?;
    let mut no_tls = backend_values(&pem);
    no_tls["tls"] = json!({});
    let mut no_callers = backend_values(&pem);
    no_callers["callers"] = json!([]);
    let mut no_ca = backend_values(&pem);
    no_ca["tls"]["clientCa"] = json!("");
    for (values, reason) in
        [(no_tls, "tls is required"), (no_callers, "callers"), (no_ca, "uses a client certificate")]
    {
        let error = install_error("aci-backend", &values).await?;
        ensure!(error.contains(reason), "expected {reason:?} in: {error}");
    }
    Ok(())
}

#[test]
fn the_images_the_charts_name_are_the_ones_the_dockerfiles_build() -> Result<()> {
    let root = support::repo_root();
    let read_values = |chart: &str| -> Result<serde_yaml::Value> {
        Ok(serde_yaml::from_str(&std::fs::read_to_string(
            root.join("charts").join(chart).join("values.yaml"),
        )?)?)
    };
    let connector = read_values("virtual-kubelet-aci")?;
    let backend = read_values("aci-backend")?;
    let images = [
        ("node-agent", &connector["image"]["nodeAgent"]["repository"]),
        ("aci-backend", &connector["image"]["aciBackend"]["repository"]),
        ("aci-backend", &backend["image"]["repository"]),
    ];
    for (binary, repository) in images {
        let repository = repository.as_str().context("image repository")?;
        ensure!(repository == format!("ghcr.io/vk-aci/{binary}"), "{repository} is not {binary}'s image");
        let dockerfile = std::fs::read_to_string(root.join(binary).join("Dockerfile"))?;
        for wanted in [
            format!("docker build -f {binary}/Dockerfile -t {repository}:0.1.0 ."),
            format!("cargo build --release -p {binary}"),
            format!("ENTRYPOINT [\"/usr/local/bin/{binary}\"]"),
            // The charts run every container as this user.
            "USER 65532:65532".to_string(),
        ] {
            ensure!(dockerfile.contains(&wanted), "{binary}/Dockerfile lacks {wanted:?}");
        }
    }
    // The image tags default to the charts' appVersion, the workspace version.
    let workspace = std::fs::read_to_string(root.join("Cargo.toml"))?;
    for chart in ["virtual-kubelet-aci", "aci-backend"] {
        let meta: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(
            root.join("charts").join(chart).join("Chart.yaml"),
        )?)?;
        let version = meta["appVersion"].as_str().context("appVersion")?;
        ensure!(workspace.contains(&format!("version = \"{version}\"")), "{chart} appVersion {version}");
    }
    Ok(())
}

#[tokio::test]
async fn optional_settings_reach_the_agent_and_backend_args() -> Result<()> {
    let mut values = sidecar("Windows");
    values["taint"] = json!({ "enabled": false });
    values["clusterId"] = json!("my-cluster");
    values["kubelet"] = json!({ "servingCertSecret": "kubelet-tls", "port": 10350 });
    values["credentials"]["clientSecret"] = json!("");
    values["credentials"]["existingSecret"] = json!("my-sp");
    values["backend"] = json!({ "subnetIds": ["/subnets/a", "/subnets/b"], "clusterDns": "10.0.0.10", "statsReadsPerMinute": 0 });
    values["nodeName"] = json!({ "windows": "my-windows-node" });
    let release = Release::install("virtual-kubelet-aci", &values).await?;
    let deployment = release.one("Deployment", "-windows")?;
    let agent = args(container(deployment, "node-agent")?);
    for wanted in [
        "--disable-taint",
        "--cluster-id=my-cluster",
        "--nodename=my-windows-node",
        "--kubelet-port=10350",
        "--tls-cert-file=/etc/vk/kubelet-tls/tls.crt",
    ] {
        ensure!(has(&agent, wanted), "agent lacks {wanted}: {agent:?}");
    }
    ensure!(!agent.iter().any(|a| a.starts_with("--taint-key")), "{agent:?}");
    binary_accepts("node-agent", &agent).await?;
    let backend = container(deployment, "aci-backend")?;
    let backend_args = args(backend);
    binary_accepts("aci-backend", &backend_args).await?;
    for wanted in [
        "--subnet-id=/subnets/a",
        "--subnet-id=/subnets/b",
        "--cluster-dns=10.0.0.10",
        "--stats-reads-per-minute=0",
    ] {
        ensure!(has(&backend_args, wanted), "backend lacks {wanted}: {backend_args:?}");
    }
    // An existing Secret is referenced, none is created; with a cluster id no namespace is read.
    ensure!(release.all("Secret").is_empty(), "no Secret expected");
    ensure!(backend["env"].to_string().contains("\"my-sp\""), "{}", backend["env"]);
    let role = release.one("ClusterRole", "-node-agent")?;
    ensure!(!role.to_string().contains("namespaces"), "{role}");
    ensure!(role.to_string().contains("my-windows-node"), "{role}");
    release.remove().await
}
