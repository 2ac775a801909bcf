//! The emulator driven over HTTP and websockets, as the backend and Azure's SDKs drive ACI.

mod emulator {
    mod arm_client;
    mod auth;
    mod binary;
    mod crud;
    mod examples;
    mod exec;
    mod faults;
    mod lifecycle;
    mod limits;
    mod metrics;
    mod spec_validation;
    mod structure;
    mod timeline;
}
