//! A small ARM client for the tests: one emulator, one bearer token, JSON in and out.

use aci_emulator::{Config, Emulator, EmulatorHandle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const API: &str = "2025-09-01";
pub const SUB: &str = "00000000-0000-0000-0000-000000000000";

pub struct Arm {
    pub emulator: EmulatorHandle,
    pub http: reqwest::Client,
    pub token: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> &str {
        self.body.pointer("/error/code").and_then(Value::as_str).unwrap_or_default()
    }
}

impl Arm {
    pub async fn start(config: Config) -> Self {
        let emulator = Emulator::start(config).await.expect("the emulator starts");
        let token = emulator.issue_token("test-principal");
        Self { emulator, http: reqwest::Client::new(), token }
    }

    pub async fn fast() -> Self {
        Self::start(Config::fast()).await
    }

    pub fn group_path(rg: &str, name: &str) -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/{name}"
        )
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_as(&self.token, method, path, body).await
    }

    pub async fn call_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}{separator}api-version={API}", self.emulator.base_url())
        };
        let mut request = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the emulator answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("a JSON body") };
        Reply { status, headers, body }
    }

    pub async fn put_group(&self, rg: &str, name: &str, body: Value) -> Reply {
        self.call(Method::PUT, &Self::group_path(rg, name), Some(body)).await
    }

    pub async fn get_group(&self, rg: &str, name: &str) -> Reply {
        self.call(Method::GET, &Self::group_path(rg, name), None).await
    }

    /// Polls GET until `done` holds (bounded).
    pub async fn wait_for(&self, rg: &str, name: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..400 {
            let reply = self.get_group(rg, name).await;
            if done(&reply.body) {
                return reply.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the group {name} never reached the expected state: {}", self.get_group(rg, name).await.body);
    }
}

/// A minimal valid group of one container.
pub fn group_body(image: &str, restart_policy: &str) -> Value {
    json!({
        "location": "westus",
        "properties": {
            "osType": "Linux",
            "restartPolicy": restart_policy,
            "containers": [{
                "name": "main",
                "properties": {
                    "image": image,
                    "resources": { "requests": { "cpu": 1.0, "memoryInGB": 1.5 } }
                }
            }]
        }
    })
}

pub fn container_state(group: &Value) -> (String, i64, Option<i64>) {
    let view = &group["properties"]["containers"][0]["properties"]["instanceView"];
    (
        view["currentState"]["state"].as_str().unwrap_or_default().to_owned(),
        view["restartCount"].as_i64().unwrap_or(-1),
        view["currentState"]["exitCode"].as_i64(),
    )
}
