//! The admin timeline: when each group's creating PUT arrived and when its containers ran.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::arm_client::{Arm, container_state, group_body};

fn time(entry: &Value, field: &str) -> Option<DateTime<Utc>> {
    entry[field].as_str().and_then(|t| t.parse().ok())
}

#[tokio::test]
async fn the_timeline_tells_when_the_put_arrived_and_when_the_group_ran() {
    let arm = Arm::fast().await;
    let before = Utc::now();
    let mut body = group_body("nginx", "Always");
    body["tags"] = serde_json::json!({ "vk-pod-name": "p1" });
    arm.put_group("rg", "g", body).await;
    let admin = format!("{}/_emulator/timeline", arm.emulator.base_url());
    let read = || async {
        let reply = arm.http.get(&admin).send().await.expect("the admin API answers");
        reply.json::<Vec<Value>>().await.expect("a JSON list")
    };
    let pending = read().await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["name"], "g");
    assert_eq!(pending[0]["tags"]["vk-pod-name"], "p1");
    let put_at = time(&pending[0], "putAt").expect("the PUT arrival is known");
    assert!(put_at >= before && put_at <= Utc::now());
    arm.wait_for("rg", "g", |g| container_state(g).0 == "Running").await;
    let running = read().await;
    let running_at = time(&running[0], "runningAt").expect("the running time is known once it runs");
    assert!(running_at >= put_at, "{running_at} before {put_at}");
    assert_eq!(time(&running[0], "putAt"), Some(put_at), "a later read keeps the PUT arrival");
}
