//! Encodes the Envoy protos under `proto/` that each callout feature serves, for gRPC reflection
//! to describe them; their Rust types come from envoy-types. With `tyk`, also generates the
//! messages, client and server of Tyk Gateway's coprocess protocol (`proto/tyk/`). protox, a
//! protobuf compiler written in Rust, compiles the protos, so that no `protoc` is needed.

fn main() {
    println!("cargo:rerun-if-changed=proto");
    #[cfg(feature = "ext-proc")]
    describe(
        "ext_proc",
        "envoy/service/ext_proc/v3/external_processor.proto",
    );
    #[cfg(feature = "ext-proc-l4")]
    describe(
        "ext_proc_l4",
        "envoy/service/network_ext_proc/v3/network_external_processor.proto",
    );
    #[cfg(feature = "tyk")]
    coprocess();
}

/// Write `service`, and every proto it imports, to `$OUT_DIR/<name>.bin` as an encoded
/// `FileDescriptorSet`, with the comments that reflection shows.
#[cfg(any(feature = "ext-proc", feature = "ext-proc-l4"))]
fn describe(name: &str, service: &str) {
    use protox::prost::Message as _;

    let descriptors = protox::compile([service], ["proto"])
        .unwrap_or_else(|err| panic!("proto/{service}: {err}"));
    let out_dir = std::env::var_os("OUT_DIR").expect("Cargo sets OUT_DIR for build scripts");
    let path = std::path::Path::new(&out_dir).join(format!("{name}.bin"));
    std::fs::write(&path, descriptors.encode_to_vec())
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
}

/// Generate Tyk's coprocess protocol into `$OUT_DIR/coprocess.rs`, and write its protos to
/// `$OUT_DIR/coprocess.bin`, for reflection and for the redacted debug dump of an `Object`. The
/// files import each other by bare name, so `proto/tyk` is their root.
#[cfg(feature = "tyk")]
fn coprocess() {
    use protox::prost::Message as _;

    let service = "coprocess_object.proto";
    let descriptors = protox::compile([service], ["proto/tyk"])
        .unwrap_or_else(|err| panic!("proto/tyk/{service}: {err}"));
    let out_dir = std::env::var_os("OUT_DIR").expect("Cargo sets OUT_DIR for build scripts");
    let path = std::path::Path::new(&out_dir).join("coprocess.bin");
    std::fs::write(&path, descriptors.encode_to_vec())
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    tonic_prost_build::configure()
        .compile_fds(descriptors)
        .unwrap_or_else(|err| panic!("generating proto/tyk: {err}"));
}
