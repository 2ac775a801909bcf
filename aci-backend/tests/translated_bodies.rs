//! The PUT bodies of a varied pod corpus validate against the ContainerGroup schema of the
//! official spec, use every mapped field, and never carry a secret outside secret fields.

mod support;

use std::collections::BTreeSet;

use aci_backend::translate::{ClusterDns, TranslateConfig, translate};
use serde_json::Value;
use support::{pod_corpus, spec_schema};

fn configs() -> (TranslateConfig, TranslateConfig) {
    let plain = TranslateConfig::new("cluster-uid", "vk-aci-linux", "westeurope");
    let mut vnet = plain.clone();
    vnet.subnet_ids =
        vec!["/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn/subnets/default".into()];
    vnet.cluster_dns =
        Some(ClusterDns { nameserver: "10.0.0.10".into(), cluster_domain: "cluster.local".into() });
    (plain, vnet)
}

fn bodies() -> Vec<(String, Value, String)> {
    let (plain, vnet) = configs();
    let at = chrono::DateTime::from_timestamp(1_760_000_100, 0).expect("valid time");
    let mut out = Vec::new();
    let corpus = pod_corpus::pods();
    assert!(corpus.len() >= 30, "the corpus has at least 30 pods");
    for (what, pod) in &corpus {
        for (config, label) in [(&plain, "public"), (&vnet, "vnet")] {
            if label == "vnet" && !matches!(*what, "minimal nginx" | "TCP and UDP ports on two containers") {
                continue;
            }
            let t = translate(pod, config, at).unwrap_or_else(|e| panic!("{what} ({label}) translates: {e}"));
            let body = serde_json::to_value(&t.group).expect("bodies serialize");
            out.push((format!("{what} ({label})"), body, format!("{:?}", t.group)));
        }
    }
    out
}

#[test]
fn every_corpus_body_validates_against_the_official_container_group_schema() {
    let spec = spec_schema::Spec::load();
    let mut failures = Vec::new();
    for (what, body, _) in bodies() {
        for e in spec.check_request("ContainerGroup", &body) {
            failures.push(format!("{what}: {e}"));
        }
    }
    assert!(failures.is_empty(), "schema violations:\n{}", failures.join("\n"));
}

#[test]
fn the_validator_rejects_a_body_that_breaks_the_schema() {
    let spec = spec_schema::Spec::load();
    let (_, body, _) = bodies().into_iter().next().expect("a body");
    let mut broken = body.clone();
    broken["properties"]["restartPolicy"] = Value::from("Sometimes");
    broken["properties"]["containers"][0]["properties"]["imaginary"] = Value::from(1);
    broken["properties"]["provisioningState"] = Value::from("Succeeded");
    broken["properties"]["containers"][0]["properties"]["resources"]["requests"]
        .as_object_mut()
        .expect("requests")
        .remove("cpu");
    let errors = spec.check_request("ContainerGroup", &broken);
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn the_corpus_uses_every_mapped_field() {
    let mut seen = BTreeSet::new();
    for (_, body, _) in bodies() {
        spec_schema::leaf_paths(&body, "", &mut seen);
    }
    let c = "properties.containers[].properties";
    let i = "properties.initContainers[].properties";
    let expected = [
        "location".to_string(),
        "tags.vk-cluster-id".into(),
        "tags.vk-pod-uid".into(),
        "tags.vk-spec-hash".into(),
        "tags.vk-pod-data-00".into(),
        "identity.type".into(),
        "identity.userAssignedIdentities.".into(),
        format!("{c}.image"),
        format!("{c}.command[]"),
        format!("{c}.environmentVariables[].value"),
        format!("{c}.environmentVariables[].secureValue"),
        format!("{c}.ports[].port"),
        format!("{c}.ports[].protocol"),
        format!("{c}.resources.requests.cpu"),
        format!("{c}.resources.requests.memoryInGB"),
        format!("{c}.resources.limits.cpu"),
        format!("{c}.resources.limits.memoryInGB"),
        format!("{c}.volumeMounts[].mountPath"),
        format!("{c}.volumeMounts[].readOnly"),
        format!("{c}.livenessProbe.httpGet.path"),
        format!("{c}.livenessProbe.httpGet.scheme"),
        format!("{c}.readinessProbe.httpGet.httpHeaders[].name"),
        format!("{c}.readinessProbe.httpGet.httpHeaders[].value"),
        format!("{c}.livenessProbe.exec.command[]"),
        format!("{c}.readinessProbe.exec.command[]"),
        format!("{c}.livenessProbe.initialDelaySeconds"),
        format!("{c}.livenessProbe.periodSeconds"),
        format!("{c}.livenessProbe.failureThreshold"),
        format!("{c}.livenessProbe.successThreshold"),
        format!("{c}.livenessProbe.timeoutSeconds"),
        format!("{c}.securityContext.privileged"),
        format!("{c}.securityContext.allowPrivilegeEscalation"),
        format!("{c}.securityContext.capabilities.add[]"),
        format!("{c}.securityContext.capabilities.drop[]"),
        format!("{c}.securityContext.runAsUser"),
        format!("{c}.securityContext.runAsGroup"),
        format!("{i}.image"),
        format!("{i}.command[]"),
        format!("{i}.environmentVariables[].secureValue"),
        format!("{i}.volumeMounts[].name"),
        format!("{i}.securityContext.runAsUser"),
        "properties.imageRegistryCredentials[].server".into(),
        "properties.imageRegistryCredentials[].username".into(),
        "properties.imageRegistryCredentials[].password".into(),
        "properties.restartPolicy".into(),
        "properties.osType".into(),
        "properties.sku".into(),
        "properties.priority".into(),
        "properties.confidentialComputeProperties.ccePolicy".into(),
        "properties.ipAddress.type".into(),
        "properties.ipAddress.ports[].port".into(),
        "properties.ipAddress.ports[].protocol".into(),
        "properties.ipAddress.dnsNameLabel".into(),
        "properties.subnetIds[].id".into(),
        "properties.dnsConfig.nameServers[]".into(),
        "properties.dnsConfig.searchDomains".into(),
        "properties.dnsConfig.options".into(),
        "properties.volumes[].emptyDir".into(),
        "properties.volumes[].secret.app.yaml".into(),
        "properties.volumes[].azureFile.shareName".into(),
        "properties.volumes[].azureFile.storageAccountName".into(),
        "properties.volumes[].azureFile.storageAccountKey".into(),
        "properties.volumes[].azureFile.readOnly".into(),
        "properties.volumes[].gitRepo.repository".into(),
        "properties.volumes[].gitRepo.directory".into(),
        "properties.volumes[].gitRepo.revision".into(),
    ];
    let missing: Vec<_> = expected
        .iter()
        .filter(|e| !seen.iter().any(|s| s == *e || (e.ends_with('.') && s.starts_with(e.as_str()))))
        .collect();
    assert!(missing.is_empty(), "fields no corpus pod exercises: {missing:#?}");
}

fn secret_outside_secret_fields(value: &Value, key: &str, found: &mut Vec<String>) {
    match value {
        Value::String(s)
            if s.contains("SECRET-") && !matches!(key, "secureValue" | "password" | "storageAccountKey") =>
        {
            found.push(format!("{key} = {s}"));
        }
        Value::Object(map) => map.iter().for_each(|(k, v)| secret_outside_secret_fields(v, k, found)),
        Value::Array(items) => items.iter().for_each(|v| secret_outside_secret_fields(v, key, found)),
        _ => {}
    }
}

#[test]
fn a_secret_never_appears_as_a_value_or_in_debug_output() {
    let mut found = Vec::new();
    let mut secure_values = 0;
    for (what, body, debug) in bodies() {
        secret_outside_secret_fields(&body, "", &mut found);
        secure_values += body.to_string().matches("secureValue").count();
        assert!(!debug.contains("SECRET-"), "{what}: debug output shows a secret");
    }
    assert!(found.is_empty(), "secrets outside secret fields: {found:?}");
    assert!(secure_values >= 3, "the corpus has secret env vars");
}

#[test]
#[ignore = "prints one body for a human to read"]
fn print_the_everything_body() {
    let (what, body, _) =
        bodies().into_iter().find(|(w, _, _)| w.starts_with("everything")).expect("present");
    println!("{what}\n{}", serde_json::to_string_pretty(&body).expect("json"));
}
