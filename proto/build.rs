//! Generates the tonic/prost code for `vk.provider.v1` and the encoded descriptor set used by
//! gRPC reflection. `protoc` comes from the `protoc-bin-vendored` crate unless `PROTOC` is
//! set, so a fresh machine needs no system protoc.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/vk/provider/v1/provider.proto",
    "proto/vk/provider/v1/pod.proto",
    "proto/vk/provider/v1/status.proto",
    "proto/vk/provider/v1/streams.proto",
    "proto/vk/provider/v1/node.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let well_known = protoc_bin_vendored::include_path()?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);

    let protos: Vec<PathBuf> = PROTOS.iter().map(PathBuf::from).collect();
    let includes = [PathBuf::from("proto"), well_known];
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("vk_provider_v1_descriptor.bin"))
        .compile_with_config(config, &protos, &includes)?;
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-env-changed=PROTOC");
    Ok(())
}
