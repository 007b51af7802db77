//! The proto stage: compile the protos with protox, and turn the descriptors into the [`Api`]
//! model. This is the only module that sees descriptors.
//!
//! A kind's bundled protos are rendered first and compiled in memory; the `custom` kind's come
//! from the user's disk, with include directories, and are copied into the project.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use protox::prost_reflect::{
    DescriptorPool, MessageDescriptor, MethodDescriptor, ServiceDescriptor,
};

use crate::error::{Error, Result};
use crate::model::{Api, Method, Service};
use crate::naming;
use crate::render::Files;

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

/// Compile a kind's rendered `files` (paths of the generated project, under `proto/`).
pub fn compile(kind: &str, files: &Files) -> Result<Api> {
    compile_with(files, |_, err| Error::Proto {
        kind: kind.to_owned(),
        errors: vec![err],
    })
}

fn compile_with(files: &Files, error: impl Fn(&str, protox::Error) -> Error) -> Result<Api> {
    let sources: BTreeMap<String, String> = files
        .iter()
        .filter_map(|(path, source)| Some((proto_name(path)?, source.clone())))
        .collect();
    let names: Vec<String> = sources.keys().cloned().collect();

    let mut resolver = ChainFileResolver::new();
    resolver.add(MemoryResolver { files: sources });
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.open_files(&names).map_err(|err| {
        let file = err.file().unwrap_or_default().to_owned();
        error(&file, err)
    })?;
    to_api(&compiler.descriptor_pool(), names)
}

/// Compile the protos of a project on disk, `files` by their paths under `proto/`, whose errors
/// are the user's to fix.
pub fn compile_project(files: &Files) -> Result<Api> {
    compile_with(files, |name, err| Error::UserProto {
        path: Path::new(PROTO_ROOT).join(name),
        errors: vec![err],
    })
}

/// Compile the user's `protos`, finding imports in `includes` (by default, each file's
/// directory). Returns the model, and every non-Google proto they need, to copy into `proto/`.
pub fn compile_user(protos: &[PathBuf], includes: &[PathBuf]) -> Result<(Api, Files)> {
    for path in protos {
        fs::File::open(path).map_err(|source| Error::ProtoFile {
            path: path.clone(),
            source,
        })?;
    }
    let includes = if includes.is_empty() {
        let mut dirs: Vec<PathBuf> = protos.iter().map(|path| parent_dir(path)).collect();
        dirs.dedup();
        dirs
    } else {
        includes.to_vec()
    };

    let mut compiler = protox::Compiler::new(&includes).map_err(|err| Error::UserProto {
        path: includes.first().cloned().unwrap_or_default(),
        errors: vec![err],
    })?;
    let mut names = Vec::new();
    for path in protos {
        compiler
            .open_file(path)
            .map_err(|err| classify(path, &includes, err))?;
        let name = compiler
            .files()
            .find(|file| file.path().is_some_and(|p| same_file(p, path)))
            .map(|file| file.name().to_owned())
            .ok_or_else(|| Error::NotIncluded { path: path.clone() })?;
        names.push(name);
    }

    let pool = compiler.descriptor_pool();
    for (path, name) in protos.iter().zip(&names) {
        let has_service = pool
            .get_file_by_name(name)
            .is_some_and(|file| file.services().next().is_some());
        if !has_service {
            return Err(Error::NoService { path: path.clone() });
        }
    }

    // Every service of every file copied is served, as `update` serves every service in `proto/`.
    let mut files = Files::new();
    let mut served = Vec::new();
    for file in compiler.files() {
        if let Some(path) = file.path() {
            served.push(file.name().to_owned());
            let source = fs::read_to_string(path).map_err(|source| Error::ProtoFile {
                path: path.to_owned(),
                source,
            })?;
            files.insert(Path::new(PROTO_ROOT).join(file.name()), source);
        }
    }
    Ok((to_api(&pool, served)?, files))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || fs::canonicalize(a).ok() == fs::canonicalize(b).ok()
}

/// protox's error kinds are private; its messages say which one it is.
fn classify(path: &Path, includes: &[PathBuf], err: protox::Error) -> Error {
    let message = err.to_string();
    if let Some(import) = message
        .strip_prefix("import '")
        .and_then(|rest| rest.strip_suffix("' not found"))
    {
        return Error::ImportNotFound {
            import: import.to_owned(),
            searched: includes.to_vec(),
            errors: vec![err],
        };
    }
    if message.ends_with("is not in any include path") {
        return Error::NotIncluded {
            path: path.to_owned(),
        };
    }
    Error::UserProto {
        path: path.to_owned(),
        errors: vec![err],
    }
}

/// `proto/a/b.proto` -> `a/b.proto`, the name the protos import each other by.
fn proto_name(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(PROTO_ROOT).ok()?;
    if relative.extension()? != "proto" {
        return None;
    }
    Some(relative.to_string_lossy().replace('\\', "/"))
}

/// The model of the services in `files`, refusing names that would collide in Rust.
fn to_api(pool: &DescriptorPool, files: Vec<String>) -> Result<Api> {
    check_collisions(pool)?;
    check_rpc_types(pool)?;
    let mut services: Vec<Service> = pool
        .services()
        .filter(|service| {
            files
                .iter()
                .any(|name| name == service.parent_file().name())
        })
        .map(|service| to_service(&service))
        .collect();
    name_modules(&mut services)?;
    let packages = files
        .iter()
        .filter_map(|name| pool.get_file_by_name(name))
        .map(|file| (file.name().to_owned(), file.package_name().to_owned()))
        .collect();
    Ok(Api {
        lint_exceptions: Api::lint_exceptions(&services, &packages),
        files,
        services,
    })
}

/// Google's wrapper types become Rust primitives in prost, which tonic cannot take as a whole
/// request or response.
fn check_rpc_types(pool: &DescriptorPool) -> Result<()> {
    for method in pool
        .services()
        .flat_map(|service| service.methods().collect::<Vec<_>>())
    {
        for message in [method.input(), method.output()] {
            if message.package_name() == "google.protobuf" && message.name().ends_with("Value") {
                return Err(Error::UnsupportedRpcType {
                    method: format!("{}/{}", method.parent_service().full_name(), method.name()),
                    message: message.full_name().to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Services, methods and messages whose Rust names would be the same.
fn check_collisions(pool: &DescriptorPool) -> Result<()> {
    let mut seen = Seen::default();
    for service in pool.services() {
        seen.check(
            "services",
            (service.package_name(), naming::rust_camel(service.name())),
            service.full_name(),
        )?;
        let mut methods = Seen::default();
        for method in service.methods() {
            methods.check(
                "methods",
                (service.full_name(), naming::rust_snake(method.name())),
                &format!("{}/{}", service.full_name(), method.name()),
            )?;
        }
    }
    let mut messages = Seen::default();
    for message in pool.all_messages() {
        let scope = message.parent_message().map_or_else(
            || message.package_name().to_owned(),
            |p| p.full_name().to_owned(),
        );
        messages.check(
            "messages",
            (&scope, naming::rust_camel(message.name())),
            message.full_name(),
        )?;
    }
    Ok(())
}

/// Rust names already taken, with the proto name that took each.
#[derive(Default)]
struct Seen(HashMap<(String, String), String>);

impl Seen {
    fn check(
        &mut self,
        what: &'static str,
        (scope, rust): (&str, String),
        proto: &str,
    ) -> Result<()> {
        match self
            .0
            .insert((scope.to_owned(), rust.clone()), proto.to_owned())
        {
            Some(first) if first != proto => Err(Error::NameCollision {
                what,
                first,
                second: proto.to_owned(),
                rust,
            }),
            _ => Ok(()),
        }
    }
}

/// Give each service a module (and file) name of its own: its snake-case name, prefixed with
/// its package where two services share a name.
fn name_modules(services: &mut [Service]) -> Result<()> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for service in services.iter() {
        *counts.entry(service.module_name.clone()).or_default() += 1;
    }
    for service in services.iter_mut() {
        if counts[&service.module_name] > 1 {
            let package = service.package.replace('.', "_");
            service.module_name = naming::rust_snake(&format!("{package}_{}", service.module_name));
        }
    }
    let mut seen = Seen::default();
    for service in services.iter_mut() {
        seen.check(
            "services",
            ("", service.module_name.clone()),
            &service.full_name,
        )?;
        service.file_name = service.module_name.trim_start_matches("r#").to_owned();
    }
    Ok(())
}

fn to_service(service: &ServiceDescriptor) -> Service {
    let name = service.name().to_owned();
    let package = service.package_name().to_owned();
    let module_path = std::iter::once("proto".to_owned())
        .chain(package_modules(&package))
        .collect::<Vec<_>>()
        .join("::");
    let trait_name = naming::rust_camel(&name);
    let methods: Vec<Method> = service.methods().map(|method| to_method(&method)).collect();
    Service {
        bundled: false,
        full_name: service.full_name().to_owned(),
        module_path,
        module_name: naming::rust_snake(&name),
        file_name: String::new(),
        server_module: naming::server_module(&name),
        server_type: format!("{trait_name}Server"),
        client_module: naming::client_module(&name),
        client_type: format!("{trait_name}Client"),
        uses_proto: methods
            .iter()
            .any(|m| m.input_type.starts_with("proto::") || m.output_type.starts_with("proto::")),
        methods,
        trait_name,
        package,
        proto_file: service.parent_file().name().to_owned(),
        name,
    }
}

fn package_modules(package: &str) -> Vec<String> {
    if package.is_empty() {
        Vec::new()
    } else {
        naming::package_module_path(package)
    }
}

fn to_method(method: &MethodDescriptor) -> Method {
    let input_type = rust_type(&method.input());
    Method {
        default_input: if input_type == "()" {
            input_type.clone()
        } else {
            format!("{input_type}::default()")
        },
        name: method.name().to_owned(),
        rust_name: naming::rust_snake(method.name()),
        path: format!("/{}/{}", method.parent_service().full_name(), method.name()),
        input: method.input().full_name().to_owned(),
        output: method.output().full_name().to_owned(),
        input_type,
        output_type: rust_type(&method.output()),
        client_streaming: method.is_client_streaming(),
        server_streaming: method.is_server_streaming(),
    }
}

/// The Rust type prost generates for `message`, as a path from the crate's `proto` module
/// (`proto::a::v1::outer::Inner`), or as prost maps Google's well-known types.
fn rust_type(message: &MessageDescriptor) -> String {
    if message.package_name() == "google.protobuf" {
        return match message.name() {
            "Empty" => "()".to_owned(),
            name => format!("::prost_types::{name}"),
        };
    }
    let mut path = vec!["proto".to_owned()];
    path.extend(package_modules(message.package_name()));
    let mut parents = Vec::new();
    let mut parent = message.parent_message();
    while let Some(outer) = parent {
        parents.push(naming::rust_snake(outer.name()));
        parent = outer.parent_message();
    }
    path.extend(parents.into_iter().rev());
    path.push(naming::rust_camel(message.name()));
    path.join("::")
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
              rpc Type(stream Reply.Part) returns (google.protobuf.Empty);
            }
            message Reply { string url = 1; message Part {} }"#,
        )
        .unwrap();
        assert_eq!(api.files, ["x/v1/x.proto"]);
        let service = &api.services[0];
        assert_eq!(service.full_name, "x.v1.HTTPService");
        assert_eq!(service.module_path, "proto::x::v1");
        assert_eq!(service.module_name, "http_service");
        assert_eq!(service.server_module, "http_service_server");
        assert_eq!(service.server_type, "HttpServiceServer");
        let [get_url, kind] = &service.methods[..] else {
            panic!("two methods")
        };
        assert_eq!(get_url.rust_name, "get_url");
        assert_eq!(get_url.path, "/x.v1.HTTPService/GetURL");
        assert_eq!(
            (get_url.input_type.as_str(), get_url.output_type.as_str()),
            ("()", "proto::x::v1::Reply")
        );
        assert_eq!(kind.rust_name, "r#type");
        assert_eq!(kind.input_type, "proto::x::v1::reply::Part");
        assert!(kind.client_streaming && !kind.server_streaming);
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

    #[test]
    fn names_that_collide_in_rust_are_refused() {
        let err = compile_one(
            r#"syntax = "proto3";
            package x.v1;
            message M {}
            service S { rpc GetURL(M) returns (M); rpc GetUrl(M) returns (M); }"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "methods `x.v1.S/GetURL` and `x.v1.S/GetUrl` both become `get_url` in Rust"
        );
    }
}
