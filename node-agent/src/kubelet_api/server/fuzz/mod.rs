//! Fuzzing the kubelet API: its remote-command connections with malformed SPDY and
//! WebSocket input, and what it serves from malformed provider answers (property tests with
//! stated case counts; `PROPTEST_CASES` raises them).

mod harness;
mod provider_stats;
mod spdy_sessions;
mod websocket_sessions;
