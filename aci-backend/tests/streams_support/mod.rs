//! An emulator running real local processes, one running pod in it, and terminals into it.
#![allow(dead_code)]

#[path = "../support/emulated.rs"]
mod emulated;

use std::time::Duration;

use aci_backend::arm::ArmClient;
use aci_backend::status::pod_state;
use aci_backend::streams::terminal::{AciTerminals, WsConnector, websocket_tls};
use aci_backend::translate::{TranslateConfig, translate};
use vk_proto::v1;

/// A running emulator with one running pod.
pub struct World {
    pub emulator: aci_emulator::EmulatorHandle,
    pub arm: ArmClient,
    pub group: String,
    pub terminals: AciTerminals,
}

fn pod(command: &[&str]) -> v1::Pod {
    v1::Pod {
        meta: Some(v1::PodMeta {
            uid: "uid-streams".into(),
            namespace: "default".into(),
            name: "streams".into(),
            ..Default::default()
        }),
        spec: Some(v1::PodSpec {
            containers: vec![v1::Container {
                name: "main".into(),
                image: "busybox".into(),
                command: command.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        spec_hash: "h1".into(),
    }
}

impl World {
    /// An emulator over TLS with the process runtime, running `command` as container `main`.
    pub async fn start(command: &[&str]) -> World {
        // Shown only when a test fails: why the emulator ended each terminal session.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("aci_emulator::exec_ws=debug"))
            .with_test_writer()
            .try_init();
        let config = aci_emulator::Config {
            tls: true,
            runtime: aci_emulator::Runtime::Process,
            ..aci_emulator::Config::fast()
        };
        let emulator = aci_emulator::Emulator::start(config).await.expect("emulator starts");
        let arm = emulated::arm_client(&emulator);
        let config = TranslateConfig::new("cluster-1", "vk-node", "westeurope");
        let t = translate(&pod(command), &config, chrono::Utc::now()).expect("translates");
        arm.put_group(&t.name, &t.group).await.expect("PUT accepted");
        let mut phase = v1::PodPhase::Unspecified as i32;
        for _ in 0..200 {
            let group = arm.get_group(&t.name).await.expect("GET works").expect("group exists");
            phase = pod_state(&group).expect("our group").status.expect("status").phase;
            if phase == v1::PodPhase::Running as i32 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(phase, v1::PodPhase::Running as i32, "the pod reaches Running");
        let tls = websocket_tls(emulator.ca_pem().map(str::as_bytes)).expect("TLS settings");
        let terminals = AciTerminals::new(arm.clone(), WsConnector::new(tls), &t.name, "main");
        World { emulator, arm, group: t.name, terminals }
    }
}
