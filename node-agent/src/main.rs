//! `node-agent` entry point (placeholder until its issue lands).

fn main() {}
