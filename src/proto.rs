//! The proto stage: compile the rendered `.proto` files in memory with protox, and turn the
//! descriptors into the [`Api`] model. This is the only module that sees descriptors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use protox::prost_reflect::{MethodDescriptor, ServiceDescriptor};

use crate::error::{Error, Result};
use crate::model::{Api, Method, Service};
use crate::naming;

/// The folder of the generated project that holds the protos, and the include root of its build.rs.
pub const PROTO_ROOT: &str = "proto";

/// Serves the rendered protos by their name relative to `proto/`.
struct MemoryResolver {
    files: BTreeMap<String, String>,
}

impl FileResolver for MemoryResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.files.get(name) {
            Some(source) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compile `files` (paths of the generated project, under `proto/`) into the API model.
pub fn compile(kind: &str, files: &BTreeMap<PathBuf, String>) -> Result<Api> {
    let sources: BTreeMap<String, String> = files
        .iter()
        .filter_map(|(path, source)| Some((proto_name(path)?, source.clone())))
        .collect();
    let names: Vec<String> = sources.keys().cloned().collect();

    let mut resolver = ChainFileResolver::new();
    resolver.add(MemoryResolver { files: sources });
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.open_files(&names).map_err(|err| Error::Proto {
        kind: kind.to_owned(),
        errors: vec![err],
    })?;

    let pool = compiler.descriptor_pool();
    let files: Vec<String> = compiler
        .files()
        .filter(|file| !file.is_import())
        .map(|file| file.name().to_owned())
        .collect();
    let services = pool
        .services()
        .filter(|service| {
            files
                .iter()
                .any(|name| name == service.parent_file().name())
        })
        .map(|service| to_service(&service))
        .collect();

    Ok(Api { files, services })
}

/// `proto/a/b.proto` -> `a/b.proto`, the name the protos import each other by.
fn proto_name(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(PROTO_ROOT).ok()?;
    if relative.extension()? != "proto" {
        return None;
    }
    Some(relative.to_string_lossy().replace('\\', "/"))
}

fn to_service(service: &ServiceDescriptor) -> Service {
    let name = service.name().to_owned();
    let package = service.package_name().to_owned();
    let module_path = std::iter::once("crate::proto".to_owned())
        .chain(naming::package_module_path(&package))
        .collect::<Vec<_>>()
        .join("::");
    let trait_name = naming::rust_camel(&name);
    Service {
        full_name: service.full_name().to_owned(),
        module_path,
        server_module: naming::server_module(&name),
        server_type: format!("{trait_name}Server"),
        client_module: naming::client_module(&name),
        client_type: format!("{trait_name}Client"),
        methods: service.methods().map(|method| to_method(&method)).collect(),
        trait_name,
        package,
        name,
    }
}

fn to_method(method: &MethodDescriptor) -> Method {
    Method {
        name: method.name().to_owned(),
        rust_name: naming::rust_snake(method.name()),
        path: format!("/{}/{}", method.parent_service().full_name(), method.name()),
        input: method.input().full_name().to_owned(),
        output: method.output().full_name().to_owned(),
        client_streaming: method.is_client_streaming(),
        server_streaming: method.is_server_streaming(),
        stream_type: method
            .is_server_streaming()
            .then(|| naming::stream_type(method.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_one(source: &str) -> Result<Api> {
        let files = BTreeMap::from([(PathBuf::from("proto/x/v1/x.proto"), source.to_owned())]);
        compile("test", &files)
    }

    #[test]
    fn services_and_methods_get_tonic_names() {
        let api = compile_one(
            r#"syntax = "proto3";
            package x.v1;
            import "google/protobuf/empty.proto";
            service HTTPService {
              rpc GetURL(google.protobuf.Empty) returns (stream Reply);
              rpc Type(stream Reply) returns (google.protobuf.Empty);
            }
            message Reply { string url = 1; }"#,
        )
        .unwrap();
        assert_eq!(api.files, ["x/v1/x.proto"]);
        let service = &api.services[0];
        assert_eq!(service.full_name, "x.v1.HTTPService");
        assert_eq!(service.module_path, "crate::proto::x::v1");
        assert_eq!(service.server_module, "http_service_server");
        assert_eq!(service.server_type, "HttpServiceServer");
        assert_eq!(service.methods[0].rust_name, "get_url");
        assert_eq!(service.methods[0].path, "/x.v1.HTTPService/GetURL");
        assert!(service.methods[0].server_streaming);
        assert_eq!(service.methods[1].rust_name, "r#type");
        assert!(service.methods[1].client_streaming);
    }

    #[test]
    fn a_syntax_error_keeps_its_location() {
        let err = compile_one("syntax = \"proto3\";\npackage x.v1;\nmessage { }\n").unwrap_err();
        let Error::Proto { errors, .. } = &err else {
            panic!("unexpected error {err:?}");
        };
        assert_eq!(errors[0].file(), Some("x/v1/x.proto"));
        let labels: Vec<_> = miette::Diagnostic::labels(&errors[0]).unwrap().collect();
        assert_eq!(
            labels[0].offset(),
            "syntax = \"proto3\";\npackage x.v1;\nmessage ".len()
        );
    }
}
