//! Fuzzing the kubelet API's remote-command connections with malformed SPDY and WebSocket
//! input (property tests with stated case counts; `PROPTEST_CASES` raises them).

mod harness;
mod spdy_sessions;
mod websocket_sessions;
