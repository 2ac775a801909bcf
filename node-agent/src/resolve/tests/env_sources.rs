use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, ConfigMapKeySelector, Container, EnvFromSource, EnvVar, EnvVarSource,
    ObjectFieldSelector, ResourceFieldSelector, ResourceRequirements, SecretEnvSource, SecretKeySelector,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::super::service_links::tests_support::service;
use super::*;

fn literal(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), value_from: None }
}

fn from(name: &str, source: EnvVarSource) -> EnvVar {
    EnvVar { name: name.into(), value: None, value_from: Some(source) }
}

fn with_env(env: Vec<EnvVar>) -> Container {
    Container { env: Some(env), ..Container::default() }
}

fn triple(name: &str, value: &str, secret: bool) -> (String, String, bool) {
    (name.to_owned(), value.to_owned(), secret)
}

#[tokio::test]
async fn literal_values_are_expanded_against_earlier_variables() {
    let pod = pod(with_env(vec![literal("A", "x"), literal("B", "$(A)-$(MISSING)-$$(A)")]), |_| {});
    let resolution = resolve(&MemorySource::default(), &pod).await.expect("resolvable");
    assert_eq!(env_of(&resolution), [triple("A", "x", false), triple("B", "x-$(MISSING)-$(A)", false)]);
}

#[tokio::test]
async fn config_map_key_refs_are_read_and_optional_ones_may_be_absent() {
    let source = MemorySource::default().config_map("shop", "settings", &[("mode", "fast")]);
    let selector = |key: &str, optional| EnvVarSource {
        config_map_key_ref: Some(ConfigMapKeySelector { name: "settings".into(), key: key.into(), optional }),
        ..EnvVarSource::default()
    };
    let pod = pod(
        with_env(vec![from("MODE", selector("mode", None)), from("GONE", selector("nope", Some(true)))]),
        |_| {},
    );
    let resolution = resolve(&source, &pod).await.expect("resolvable");
    assert_eq!(env_of(&resolution), [triple("MODE", "fast", false)]);

    let missing = pod_with_required_key("nope");
    let error = resolve(&source, &missing).await.expect_err("required key is absent");
    assert_eq!(
        error.to_string(),
        "container \"app\" env \"X\": couldn't find key nope in ConfigMap shop/settings"
    );
    assert!(!error.is_permanent());
    assert_eq!(error.reason(), "CreateContainerConfigError");
}

fn pod_with_required_key(key: &str) -> Pod {
    pod(
        with_env(vec![from(
            "X",
            EnvVarSource {
                config_map_key_ref: Some(ConfigMapKeySelector {
                    name: "settings".into(),
                    key: key.into(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            },
        )]),
        |_| {},
    )
}

#[tokio::test]
async fn secret_key_refs_are_flagged_secret_and_a_missing_secret_is_named() {
    let source = MemorySource::default().secret("shop", "db", "Opaque", &[("password", "hunter2")]);
    let reference = |name: &str| EnvVarSource {
        secret_key_ref: Some(SecretKeySelector { name: name.into(), key: "password".into(), optional: None }),
        ..EnvVarSource::default()
    };
    let pod_ok = pod(with_env(vec![from("PW", reference("db")), literal("DSN", "user:$(PW)@db")]), |_| {});
    let resolution = resolve(&source, &pod_ok).await.expect("resolvable");
    assert_eq!(env_of(&resolution), [triple("PW", "hunter2", true), triple("DSN", "user:hunter2@db", true)]);
    assert!(!format!("{resolution:?}").contains("hunter2"), "debug output leaks the secret");

    let pod_missing = pod(with_env(vec![from("PW", reference("other"))]), |_| {});
    let error = resolve(&source, &pod_missing).await.expect_err("secret is absent");
    assert_eq!(error.to_string(), "container \"app\" env \"PW\": secret \"other\" not found");
}

#[tokio::test]
async fn field_refs_read_the_pod_and_the_node() {
    let field = |path: &str| EnvVarSource {
        field_ref: Some(ObjectFieldSelector { field_path: path.into(), api_version: None }),
        ..EnvVarSource::default()
    };
    let pod = pod(
        with_env(vec![
            from("NAME", field("metadata.name")),
            from("NS", field("metadata.namespace")),
            from("APP", field("metadata.labels['app']")),
            from("NODE", field("spec.nodeName")),
            from("HOST_IP", field("status.hostIP")),
        ]),
        |_| {},
    );
    let resolution = resolve(&MemorySource::default(), &pod).await.expect("resolvable");
    let values: Vec<String> = env_of(&resolution).into_iter().map(|(_, v, _)| v).collect();
    assert_eq!(values, ["web-1", "shop", "web", "vk-node", "10.240.0.4"]);

    let bad = super::pod(with_env(vec![from("X", field("spec.nope"))]), |_| {});
    assert!(resolve(&MemorySource::default(), &bad).await.expect_err("unsupported path").is_permanent());
}

#[tokio::test]
async fn resource_field_refs_use_the_divisor() {
    let container = Container {
        resources: Some(ResourceRequirements {
            limits: Some([("memory".to_owned(), Quantity("256Mi".into()))].into()),
            ..ResourceRequirements::default()
        }),
        ..with_env(vec![from(
            "MEM_MI",
            EnvVarSource {
                resource_field_ref: Some(ResourceFieldSelector {
                    resource: "limits.memory".into(),
                    divisor: Some(Quantity("1Mi".into())),
                    container_name: None,
                }),
                ..EnvVarSource::default()
            },
        )])
    };
    let resolution = resolve(&MemorySource::default(), &pod(container, |_| {})).await.expect("resolvable");
    assert_eq!(env_of(&resolution), [triple("MEM_MI", "256", false)]);
}

#[tokio::test]
async fn env_from_applies_prefixes_skips_invalid_keys_and_loses_to_env() {
    let source = MemorySource::default()
        .config_map("shop", "cfg", &[("LEVEL", "debug"), ("bad key", "x"), ("SHARED", "from-map")])
        .secret("shop", "sec", "Opaque", &[("TOKEN", "t0k")]);
    let container = Container {
        env_from: Some(vec![
            EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource { name: "cfg".into(), optional: None }),
                prefix: Some("CFG_".into()),
                secret_ref: None,
            },
            EnvFromSource {
                secret_ref: Some(SecretEnvSource { name: "sec".into(), optional: None }),
                ..EnvFromSource::default()
            },
            EnvFromSource {
                secret_ref: Some(SecretEnvSource { name: "absent".into(), optional: Some(true) }),
                ..EnvFromSource::default()
            },
        ]),
        ..with_env(vec![literal("CFG_SHARED", "from-env")])
    };
    let resolution = resolve(&source, &pod(container, |_| {})).await.expect("resolvable");
    assert_eq!(
        env_of(&resolution),
        [
            triple("CFG_LEVEL", "debug", false),
            triple("TOKEN", "t0k", true),
            triple("CFG_SHARED", "from-env", false)
        ]
    );
    assert_eq!(resolution.warnings.len(), 1);
    assert_eq!(resolution.warnings[0].reason, "InvalidEnvironmentVariableNames");
    assert!(resolution.warnings[0].message.contains("[CFG_bad key]"), "{}", resolution.warnings[0].message);
}

#[tokio::test]
async fn service_links_add_variables_that_env_does_not_override() {
    let source = MemorySource::default()
        .service("shop", service("cart", "10.0.0.20", &[(None, 80, "TCP")]))
        .service("default", service("kubernetes", "10.0.0.1", &[(Some("https"), 443, "TCP")]))
        .service("other", service("elsewhere", "10.0.0.30", &[(None, 80, "TCP")]));
    let linked =
        pod(with_env(vec![literal("CART_SERVICE_PORT", "mine"), literal("URL", "$(CART_PORT)")]), |spec| {
            spec.enable_service_links = None;
        });
    let env = env_of(&resolve(&source, &linked).await.expect("resolvable"));
    let get = |name: &str| env.iter().find(|(n, _, _)| n == name).map(|(_, v, _)| v.as_str());
    assert_eq!(get("CART_SERVICE_HOST"), Some("10.0.0.20"));
    assert_eq!(get("CART_SERVICE_PORT"), Some("mine"));
    assert_eq!(get("URL"), Some("tcp://10.0.0.20:80"));
    assert_eq!(get("KUBERNETES_SERVICE_HOST"), Some("10.0.0.1"));
    assert_eq!(get("ELSEWHERE_SERVICE_HOST"), None);

    let unlinked = pod(Container::default(), |spec| spec.enable_service_links = Some(false));
    let env = env_of(&resolve(&source, &unlinked).await.expect("resolvable"));
    assert!(env.iter().all(|(name, _, _)| !name.starts_with("CART_")));
    assert!(
        env.iter().any(|(name, _, _)| name == "KUBERNETES_SERVICE_HOST"),
        "the master service is always linked"
    );
}
