//! Hostile gRPC and HTTP/2 against a running aci-backend (with the emulator behind it), in
//! both shapes: on a temp-dir Unix socket (sidecar) and on TLS TCP with an authenticated
//! caller (remote). Inputs: random bytes as protobuf bodies, mutated valid requests, broken
//! gRPC message framing (lengths that lie, the compressed flag, several messages for a unary
//! call, no message) and garbage scope, authorization and grpc-timeout metadata, for every
//! rpc of the provider, health and reflection services; and raw byte soups and random HTTP/2
//! frames on fresh connections. Every call is answered with a gRPC status (or its stream
//! reset) in time, nothing panics, and between cases the server keeps answering a
//! well-behaved client on its own connection.
//!
//! Default counts: 384 calls and 160 raw connections on the Unix socket, 256 calls and 96
//! raw connections over TLS (about 10 s in all). `PROPTEST_CASES=N` runs N of each:
//! `PROPTEST_CASES=10000 cargo test -p aci-backend --test fuzz_grpc -- --nocapture`.

#[path = "../support/mod.rs"]
mod support;

mod calls;
mod raw_http2;
mod served;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

use calls::{METHODS, body, body_bytes, call, scope_headers};
use raw_http2::{raw, raw_connection, raw_frame};
use served::Served;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn run_all<S: Strategy>(strategy: S, count: u32, case: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = proptest::test_runner::Config {
        cases: cases(count),
        failure_persistence: None,
        max_shrink_iters: 32,
        ..Default::default()
    };
    if let Err(failure) = TestRunner::new(config).run(&strategy, case) {
        panic!("{failure}");
    }
}

/// `count` malformed calls; every one is answered and the server keeps serving.
fn malformed_calls(served: &Served, count: u32) {
    let done = AtomicUsize::new(0);
    let answers = Mutex::new(BTreeMap::<String, usize>::new());
    let calls = (0..METHODS.len(), scope_headers(), body());
    run_all(calls, count, |(method, scope, body)| {
        let bytes = body_bytes(method, &body);
        let answer =
            served.runtime.block_on(call(served, method, &scope, bytes)).map_err(TestCaseError::fail)?;
        *answers.lock().expect("answers").entry(answer).or_default() += 1;
        served.check_panics()?;
        if done.fetch_add(1, Ordering::Relaxed).is_multiple_of(16) {
            served.still_serves()?;
        }
        Ok(())
    });
    served.still_serves().expect("the backend still serves after the fuzz");
    let answers = answers.into_inner().expect("answers");
    println!("answers: {answers:?}");
    let refusals =
        answers.keys().filter(|answer| answer.starts_with("grpc-status") && *answer != "grpc-status 0");
    assert!(refusals.count() >= 3, "calls were refused for several reasons: {answers:?}");
}

/// `count` connections of broken HTTP/2; each is closed and the server keeps serving.
fn broken_connections(served: &Served, count: u32) {
    let connections = (
        prop_oneof![1 => Just(false), 4 => Just(true)],
        proptest::collection::vec(raw_frame(), 0..8),
        proptest::collection::vec((any::<usize>(), 1u8..=255), 0..3),
    );
    run_all(connections, count, |(preface, frames, flips)| {
        let bytes = raw_connection(preface, &frames, &flips);
        served.runtime.block_on(raw(served, &bytes)).map_err(TestCaseError::fail)?;
        served.check_panics()?;
        served.still_serves()
    });
}

#[test]
fn the_sidecar_backend_answers_384_malformed_grpc_calls_and_keeps_serving() {
    malformed_calls(&Served::unix(), 384);
}

#[test]
fn the_sidecar_backend_survives_160_connections_of_broken_http2() {
    broken_connections(&Served::unix(), 160);
}

#[test]
fn the_remote_backend_answers_256_malformed_grpc_calls_over_tls_and_keeps_serving() {
    let served = Served::tls();
    assert!(served.remote());
    malformed_calls(&served, 256);
}

#[test]
fn the_remote_backend_survives_96_tls_connections_of_broken_http2() {
    broken_connections(&Served::tls(), 96);
}
