//! Compiles every `.proto` under `proto/` with protox, a protobuf compiler written in Rust, so that
//! no `protoc` is needed, then generates the prost messages and tonic services from them.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::{env, fs};

use miette::Diagnostic as _;
use protox::prost::Message as _;

const PROTO_DIR: &str = "proto";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO_DIR}");

    let mut protos = Vec::new();
    find_protos(Path::new(PROTO_DIR), &mut protos)?;
    protos.sort();

    let descriptors = protox::compile(&protos, [PROTO_DIR]).map_err(|err| locate(&err))?;

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    fs::write(out_dir.join("descriptor.bin"), descriptors.encode_to_vec())?;

    tonic_prost_build::configure()
        .include_file("proto.rs")
        .compile_fds(descriptors)?;
    Ok(())
}

/// protox's message names no location; prefix `file:line:column`, as a compiler would.
fn locate(err: &protox::Error) -> String {
    let Some(file) = err.file() else {
        return err.to_string();
    };
    let path = Path::new(PROTO_DIR).join(file);
    let offset = err
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset());
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
