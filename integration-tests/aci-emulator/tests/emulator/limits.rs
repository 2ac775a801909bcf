//! ARM throttling and ACI quotas answer as Azure does, and can be switched off.

use aci_emulator::Config;
use reqwest::{Method, StatusCode};

use super::arm_client::{Arm, group_body};

#[tokio::test]
async fn reads_beyond_the_bucket_get_429_with_retry_after() {
    let arm = Arm::start(Config { arm_read_burst: 3, arm_read_rate: 0.5, ..Config::fast() }).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let reply = arm.get_group("rg", "none").await;
        remaining.push(reply.header("x-ms-ratelimit-remaining-subscription-reads").map(str::to_owned));
    }
    assert_eq!(remaining, [Some("2".to_owned()), Some("1".to_owned()), Some("0".to_owned())]);
    let throttled = arm.get_group("rg", "none").await;
    assert_eq!(
        (throttled.status, throttled.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "SubscriptionRequestsThrottled")
    );
    assert_eq!(throttled.header("retry-after"), Some("2"));
    assert_eq!(arm.emulator.counters().get("429:ContainerGroups_Get"), Some(&1), "throttling is counted");
    // Writes have their own bucket, and another principal has its own buckets.
    assert_eq!(arm.put_group("rg", "g", group_body("nginx", "Always")).await.status, StatusCode::CREATED);
    let other = arm.emulator.issue_token("someone-else");
    assert_eq!(
        arm.call_as(&other, Method::GET, &Arm::group_path("rg", "g"), None).await.status,
        StatusCode::OK
    );
    arm.emulator.set_arm_throttling(false);
    assert_eq!(arm.get_group("rg", "g").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_container_group_count_quota_is_enforced_per_region() {
    let arm = Arm::start(Config { quota_groups: 2, ..Config::fast() }).await;
    for name in ["a", "b"] {
        assert_eq!(
            arm.put_group("rg", name, group_body("nginx", "Always")).await.status,
            StatusCode::CREATED
        );
    }
    let refused = arm.put_group("rg", "c", group_body("nginx", "Always")).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::CONFLICT, "ContainerGroupQuotaReached"));
    let mut elsewhere = group_body("nginx", "Always");
    elsewhere["location"] = "eastus".into();
    assert_eq!(
        arm.put_group("rg", "c", elsewhere).await.status,
        StatusCode::CREATED,
        "quotas are per region"
    );
    assert_eq!(
        arm.put_group("rg", "a", group_body("nginx", "Never")).await.status,
        StatusCode::OK,
        "updates fit"
    );
}

#[tokio::test]
async fn the_core_quota_counts_cpu_requests() {
    let arm = Arm::start(Config { quota_cores: 2, ..Config::fast() }).await;
    assert_eq!(arm.put_group("rg", "a", group_body("nginx", "Always")).await.status, StatusCode::CREATED);
    let mut big = group_body("nginx", "Always");
    big["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = 1.5.into();
    let refused = arm.put_group("rg", "b", big).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::CONFLICT, "StandardCoresQuotaReached"));
    arm.emulator.set_quotas(false);
    let mut big = group_body("nginx", "Always");
    big["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = 1.5.into();
    assert_eq!(arm.put_group("rg", "b", big).await.status, StatusCode::CREATED, "quotas can be switched off");
}

async fn create_and_delete(arm: &Arm, name: &str) -> (StatusCode, StatusCode) {
    let created = arm.put_group("rg", name, group_body("nginx", "Always")).await.status;
    let deleted = arm.call(Method::DELETE, &Arm::group_path("rg", name), None).await.status;
    (created, deleted)
}

#[tokio::test]
async fn creates_and_deletes_per_five_minutes_are_limited_and_windows_scale() {
    let config =
        Config { quota_creates_per_5min: 2, quota_deletes_per_5min: 1, time_scale: 0.01, ..Config::fast() };
    let arm = Arm::start(config).await;
    for name in ["a", "b"] {
        assert_eq!(
            arm.put_group("rg", name, group_body("nginx", "Always")).await.status,
            StatusCode::CREATED
        );
    }
    let refused = arm.put_group("rg", "c", group_body("nginx", "Always")).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "ContainerGroupCreationQuotaReached")
    );
    assert!(refused.header("retry-after").is_some());
    assert_eq!(
        arm.emulator.counters().get("429:ContainerGroups_CreateOrUpdate"),
        Some(&1),
        "quota 429s are counted"
    );
    assert_eq!(arm.call(Method::DELETE, &Arm::group_path("rg", "a"), None).await.status, StatusCode::OK);
    let refused = arm.call(Method::DELETE, &Arm::group_path("rg", "b"), None).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "ContainerGroupDeletionQuotaReached")
    );
    // With time scaled by 0.01, five minutes last 3 s.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(arm.put_group("rg", "c", group_body("nginx", "Always")).await.status, StatusCode::CREATED);
    assert_eq!(arm.call(Method::DELETE, &Arm::group_path("rg", "b"), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn creates_and_deletes_per_hour_are_limited() {
    let config =
        Config { quota_creates_per_hour: 2, quota_deletes_per_hour: 1, time_scale: 0.001, ..Config::fast() };
    let arm = Arm::start(config).await;
    assert_eq!(create_and_delete(&arm, "a").await, (StatusCode::CREATED, StatusCode::OK));
    let after_first_create = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(350)).await; // past the scaled 5 minutes (300 ms)
    assert_eq!(arm.put_group("rg", "b", group_body("nginx", "Always")).await.status, StatusCode::CREATED);
    let deleted = arm.call(Method::DELETE, &Arm::group_path("rg", "b"), None).await;
    assert_eq!(deleted.error_code(), "ContainerGroupDeletionQuotaReached");
    let refused = arm.put_group("rg", "c", group_body("nginx", "Always")).await;
    assert_eq!(refused.error_code(), "ContainerGroupCreationQuotaReached");
    // Past the scaled hour (3.6 s) after the first create.
    tokio::time::sleep(std::time::Duration::from_millis(3700).saturating_sub(after_first_create.elapsed()))
        .await;
    assert_eq!(arm.put_group("rg", "c", group_body("nginx", "Always")).await.status, StatusCode::CREATED);
}
