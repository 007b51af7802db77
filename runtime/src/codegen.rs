//! What a project's `build.rs` does: compile its protos with protox, a protobuf compiler
//! written in Rust, so that no `protoc` is needed, then generate the prost messages and tonic
//! services from them. A project takes this crate as a build dependency with only this feature:
//!
//! ```toml
//! [build-dependencies]
//! grpc-scaffold-runtime = { version = "0.5", default-features = false, features = ["codegen"] }
//! ```
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     grpc_scaffold_runtime::codegen::compile("proto")
//! }
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::{env, fs};

use miette::Diagnostic as _;
use protox::prost::Message as _;

/// Compile every `.proto` below `dir`, with imports found in `dir`, into `OUT_DIR`:
/// `descriptor.bin` (the encoded `FileDescriptorSet`, for reflection) and `proto.rs`, which
/// includes the code of every package. Every RPC gets a default stub that answers
/// UNIMPLEMENTED, so that an RPC added to the protos builds before it has a handler. A proto
/// that does not compile is named with its `file:line:column`.
pub fn compile(dir: impl AsRef<Path>) -> Result<(), Box<dyn Error>> {
    let dir = dir.as_ref();
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut protos = Vec::new();
    find_protos(dir, &mut protos)?;
    protos.sort();

    let descriptors = protox::compile(&protos, [dir]).map_err(|err| locate(dir, &err))?;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    fs::write(out_dir.join("descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure()
        .generate_default_stubs(true)
        .include_file("proto.rs")
        .compile_fds(descriptors)?;
    Ok(())
}

/// protox's message names no location; prefix `file:line:column`, as a compiler would.
fn locate(dir: &Path, err: &protox::Error) -> String {
    let Some(file) = err.file() else {
        return err.to_string();
    };
    let path = dir.join(file);
    let offset = err
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    match (offset, fs::read_to_string(&path)) {
        (Some(offset), Ok(source)) => {
            let before = &source[..offset.min(source.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
            format!("{}:{line}:{column}: {err}", path.display())
        }
        _ => format!("{}: {err}", path.display()),
    }
}

fn find_protos(dir: &Path, protos: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_protos(&path, protos)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            protos.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_proto_is_named_with_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("shop.proto"),
            "syntax = \"proto3\";\nmessage Item {\n  string name = 1\n}\n",
        )
        .unwrap();
        let err = protox::compile([dir.path().join("shop.proto")], [dir.path()]).unwrap_err();
        let located = locate(dir.path(), &err);
        let expected = format!("{}:4:1: ", dir.path().join("shop.proto").display());
        assert!(located.starts_with(&expected), "{located}");
    }
}
