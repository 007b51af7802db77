//! The `custom` kind's protos: arbitrary bytes, and structure-aware protos.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use grpc_scaffold::model::Api;
use grpc_scaffold::{proto, report, Error};
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::TestRunner;
use tempfile::TempDir;

use super::fuzz;
use crate::generated::{binary, cargo, grpcurl, Server};
use crate::support::{cli, fixture, run};

/// Words that names are made of: Rust keywords and prelude names, tonic's own names, and
/// spellings that differ only in case or underscores.
const WORDS: &[&str] = &[
    "type",
    "self",
    "Self",
    "async",
    "await",
    "crate",
    "super",
    "move",
    "fn",
    "impl",
    "dyn",
    "try",
    "gen",
    "union",
    "Result",
    "Option",
    "Box",
    "String",
    "Vec",
    "Status",
    "Request",
    "Response",
    "Server",
    "Service",
    "Client",
    "Streaming",
    "Http",
    "HTTP",
    "HTTPService",
    "GetURL",
    "Get_URL",
    "get_url",
    "item",
    "Item",
    "ITEM",
    "a",
    "b1",
    "x_y",
    "_under",
    "Unimplemented",
    "proto",
    "tonic",
    "tokio",
    "prost",
    "v1",
    "v2",
];

/// Lines that nobody would write, mixed into otherwise well-formed protos.
const ODDITIES: &[&str] = &[
    "// a comment with Unicode: ünïcödé ☃ 漢字 and a right-to-left mark \u{200f}",
    "/* a block comment */",
    "option java_package = \"com.example.日本\";",
    "message Ünïcode {}",
    "message Empty {}",
    "reserved 5;",
    "",
];

fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(WORDS).prop_map(str::to_owned),
        "[A-Za-z][A-Za-z0-9_]{0,12}",
    ]
}

/// A message field's type: scalars, well-known types, another message, a map.
fn field_type(messages: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&["string", "int32", "uint64", "bytes", "bool", "double"][..])
            .prop_map(str::to_owned),
        prop::sample::select(
            &[
                "google.protobuf.Timestamp",
                "google.protobuf.Any",
                "google.protobuf.Struct",
                "google.protobuf.Duration",
            ][..]
        )
        .prop_map(str::to_owned),
        (0..messages).prop_map(|i| format!("M{i}")),
        Just("map<string, int32>".to_owned()),
    ]
}

/// One proto file: a package, messages with fields (some nested, some in a oneof), an enum,
/// services with RPCs of all four shapes, well-known types, and the odd line.
pub fn structured() -> impl Strategy<Value = String> {
    let package = prop::collection::vec(ident(), 1..4);
    let messages = 1..5usize;
    (package, messages).prop_flat_map(|(package, messages)| {
        let fields = prop::collection::vec(
            prop::collection::vec((ident(), field_type(messages), any::<bool>()), 0..4),
            messages,
        );
        let services = prop::collection::vec(
            (
                ident(),
                prop::collection::vec(
                    (ident(), any::<bool>(), any::<bool>(), 0..messages + 2, 0..messages + 2),
                    1..5,
                ),
            ),
            1..4,
        );
        let oddity = prop::sample::select(ODDITIES);
        (Just(package), Just(messages), fields, services, oddity)
    })
    .prop_map(|(package, messages, fields, services, oddity)| {
        let mut text = format!(
            "syntax = \"proto3\";\npackage {};\n\
             import \"google/protobuf/any.proto\";\nimport \"google/protobuf/duration.proto\";\n\
             import \"google/protobuf/empty.proto\";\nimport \"google/protobuf/struct.proto\";\n\
             import \"google/protobuf/timestamp.proto\";\n{oddity}\n",
            package.join(".")
        );
        for (i, fields) in fields.iter().enumerate() {
            let _ = writeln!(text, "message M{i} {{");
            for (number, (name, kind, repeated)) in fields.iter().enumerate() {
                let label = if *repeated && !kind.starts_with("map") { "repeated " } else { "" };
                let _ = writeln!(text, "  {label}{kind} {name} = {};", number + 1);
            }
            if i == 0 {
                text.push_str("  message Inner { string id = 1; }\n  oneof choice { Inner inner = 20; string text = 21; }\n");
            }
            text.push_str("}\n");
        }
        text.push_str("enum Kind { KIND_UNSPECIFIED = 0; KIND_SELF = 1; }\n");
        let message = |i: usize| match i.checked_sub(messages) {
            None => format!("M{i}"),
            Some(0) => "google.protobuf.Empty".to_owned(),
            Some(_) => "google.protobuf.Timestamp".to_owned(),
        };
        for (name, methods) in &services {
            let _ = writeln!(text, "service {name} {{");
            for (method, client, server, input, output) in methods {
                let stream = |on: bool| if on { "stream " } else { "" };
                let _ = writeln!(
                    text,
                    "  rpc {method}({}{}) returns ({}{});",
                    stream(*client),
                    message(*input),
                    stream(*server),
                    message(*output)
                );
            }
            text.push_str("}\n");
        }
        text
    })
}

/// Arbitrary bytes, and well-formed protos cut or corrupted at a random place.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (structured(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(text, at, byte)| {
            let mut bytes = text.into_bytes();
            let at = at.index(bytes.len().max(1));
            if byte % 2 == 0 {
                bytes.truncate(at);
            } else if at < bytes.len() {
                bytes[at] = byte;
            }
            bytes
        }),
    ]
}

/// A valid Rust identifier, raw or not, that is not a bare keyword.
fn is_rust_ident(name: &str) -> bool {
    let (raw, bare) = match name.strip_prefix("r#") {
        Some(bare) => (true, bare),
        None => (false, name),
    };
    let mut chars = bare.chars();
    let starts = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
    let rest = chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    let keyword = grpc_scaffold::naming::is_rust_keyword(bare);
    let unrawable = ["self", "Self", "super", "crate", "_"].contains(&bare);
    starts && rest && bare != "_" && (raw == keyword) && !(raw && unrawable)
}

/// The model's Rust names are valid identifiers, and distinct where they share a scope.
fn names_are_valid_and_distinct(api: &Api) -> Result<(), String> {
    let mut modules = std::collections::BTreeSet::new();
    for service in &api.services {
        for name in [
            &service.module_name,
            &service.trait_name,
            &service.server_module,
            &service.client_module,
        ] {
            if !is_rust_ident(name) {
                return Err(format!(
                    "`{}` gets the Rust name `{name}`",
                    service.full_name
                ));
            }
        }
        if !modules.insert(&service.module_name) {
            return Err(format!(
                "two services share the module `{}`",
                service.module_name
            ));
        }
        let mut methods = std::collections::BTreeSet::new();
        for method in &service.methods {
            if !is_rust_ident(&method.rust_name) {
                return Err(format!(
                    "`{}` gets the Rust name `{}`",
                    method.path, method.rust_name
                ));
            }
            if !methods.insert(&method.rust_name) {
                return Err(format!(
                    "two RPCs of `{}` share `{}`",
                    service.full_name, method.rust_name
                ));
            }
        }
    }
    Ok(())
}

/// The check of every input: a model with valid names, or an error that says where.
fn compiles_or_says_where(dir: &Path, source: &[u8]) -> Result<Option<Api>, String> {
    let path = dir.join("api.proto");
    fs::write(&path, source).map_err(|err| err.to_string())?;
    match proto::compile_user(std::slice::from_ref(&path), &[dir.to_owned()]) {
        Ok((api, _)) => names_are_valid_and_distinct(&api).map(|()| Some(api)),
        Err(err) => {
            let shown = report::render(&err);
            let located = shown.contains("api.proto")
                || matches!(
                    err,
                    Error::NameCollision { .. } | Error::UnsupportedRpcType { .. }
                );
            if located {
                Ok(None)
            } else {
                Err(format!("an error that does not say where: {shown}"))
            }
        }
    }
}

/// `new` with a proto it refuses writes nothing.
fn refused_without_a_write(dir: &Path, proto: &Path) -> Result<(), String> {
    let destination = dir.join("project");
    let output = cli()
        .args(["new", "fuzzed", "--proto"])
        .arg(proto)
        .arg("-o")
        .arg(&destination)
        .output()
        .map_err(|err| err.to_string())?;
    if output.status.success() {
        let _ = fs::remove_dir_all(&destination);
    } else if destination.exists() || fs::read_dir(dir).map_or(0, Iterator::count) != 1 {
        return Err("a refused `new` left files behind".into());
    }
    Ok(())
}

/// Replay the corpus, then arbitrary bytes.
#[test]
fn proto_bytes() {
    let dir = TempDir::new().unwrap();
    let corpus = fixture("../fuzz/corpus/proto_bytes");
    let mut seeds: Vec<PathBuf> = fs::read_dir(&corpus)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "the corpus is in {}", corpus.display());
    for seed in &seeds {
        let source = fs::read(seed).unwrap();
        compiles_or_says_where(dir.path(), &source)
            .unwrap_or_else(|reason| panic!("{}: {reason}", seed.display()));
        refused_without_a_write(dir.path(), &dir.path().join("api.proto")).unwrap();
    }
    let mut refused = 0u32;
    fuzz("proto_bytes", bytes(), |source| {
        if compiles_or_says_where(dir.path(), source)?.is_none() {
            refused += 1;
            // A sample of the refusals goes through the whole CLI.
            if refused % 25 == 0 {
                refused_without_a_write(dir.path(), &dir.path().join("api.proto"))?;
            }
        }
        Ok(())
    });
}

#[test]
fn proto_structured() {
    let dir = TempDir::new().unwrap();
    let mut accepted = 0u64;
    let executions = fuzz("proto_structured", structured(), |source| {
        if compiles_or_says_where(dir.path(), source.as_bytes())?.is_some() {
            accepted += 1;
        }
        Ok(())
    });
    println!("fuzz proto_structured: {accepted} of {executions} compiled into a project");
    assert!(
        accepted > 0,
        "no structured proto compiled: the generator is broken"
    );
}

/// A sample of the structured protos that compile, taken with a fixed seed: each project
/// builds, passes clippy with `-D warnings`, and serves every service.
#[test]
fn accepted_protos_build_lint_and_serve() {
    let dir = TempDir::new().unwrap();
    let mut runner = TestRunner::deterministic();
    let mut sample = Vec::new();
    while sample.len() < 2 {
        let source = structured().new_tree(&mut runner).unwrap().current();
        if let Ok(Some(api)) = compiles_or_says_where(dir.path(), source.as_bytes()) {
            sample.push((source, api));
        }
    }
    for (i, (source, api)) in sample.iter().enumerate() {
        let name = format!("fuzz-sample-{i}");
        let protos = dir.path().join(format!("protos-{i}"));
        fs::create_dir_all(&protos).unwrap();
        fs::write(protos.join("api.proto"), source).unwrap();
        let project = dir.path().join(&name);
        cli()
            .args(["new", &name, "--proto"])
            .arg(protos.join("api.proto"))
            .arg("-o")
            .arg(&project)
            .assert()
            .success();
        run(&mut cargo(
            &project,
            &["clippy", "--all-targets", "--", "-D", "warnings"],
        ));
        run(&mut cargo(&project, &["build", "--bins"]));
        let server = Server::start(&binary(&format!("{name}-server")), &[]);
        let listed = grpcurl(server.address, &["list"]);
        for service in &api.services {
            assert!(
                listed.lines().any(|line| line == service.full_name),
                "{} is not served:\n{listed}\n{source}",
                service.full_name
            );
        }
        let (status, logs) = server.terminate(Duration::from_secs(10));
        assert!(status.success(), "exit status {status}\n{logs}");
    }
}
