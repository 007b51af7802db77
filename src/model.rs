//! The typed model that templates render: every name a template prints is computed here (or in
//! [`crate::naming`]), never in a template.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use heck::ToTitleCase;
use serde::Serialize;

use crate::options::Options;
use crate::templates::{Limits, Manifest};
use crate::{naming, runtime};

/// Everything the templates of a project can see.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    /// The Cargo package name, such as `billing-plugin`.
    pub name: String,
    /// The Rust crate name, and the first segment of the kind's own proto packages: `billing_plugin`.
    pub crate_name: String,
    /// The Rust module of the kind's own proto packages under `crate::proto`: `billing_plugin`.
    pub proto_root: String,
    /// A human title for documents: `Billing Plugin`.
    pub title: String,
    /// `BILLING_PLUGIN`, for environment variables that belong to this project alone.
    pub env_prefix: String,
    pub kind: &'static str,
    pub summary: String,
    /// The summary as a sentence, for `Cargo.toml`: `A versioned API ...`.
    pub description: String,
    /// The server binary: `billing-plugin-server`.
    pub server_bin: String,
    /// The other binaries by role, each built from `src/bin/<role>.rs`:
    /// `client` -> `billing-plugin-client`.
    pub bins: BTreeMap<String, String>,
    pub port: u16,
    pub limits: Limits,
    /// The server settings whose default this kind changes from the runtime's, by clap's id:
    /// `("listen", "[::]:5555")`, for `mut_arg` in `src/config.rs`.
    pub server_defaults: Vec<(&'static str, String)>,
    /// The files the user owns, as the README names them: `src/services/<service>.rs`.
    pub user_files: Vec<String>,
    /// The dependency on grpc-scaffold-runtime, as `Cargo.toml` writes it after the name:
    /// `{ version = "0.5.0", path = "vendor/grpc-scaffold-runtime", features = ["jwt"] }`.
    pub runtime: String,
    /// The build dependency on grpc-scaffold-runtime, with only its `codegen` feature, for
    /// `build.rs` to compile the protos with.
    pub runtime_codegen: String,
    /// The version of grpc-scaffold that writes the project, for its CI to check it with.
    pub scaffold_version: &'static str,
    /// Dependency versions of the generated project, from `templates/versions.toml`.
    pub versions: BTreeMap<String, String>,
    /// The compiled protos; empty until the proto stage has run.
    pub api: Api,
}

impl Project {
    pub fn new(options: &Options, manifest: &Manifest, versions: BTreeMap<String, String>) -> Self {
        let crate_name = naming::crate_name(&options.name);
        Self {
            proto_root: naming::rust_snake(&crate_name),
            title: options.name.to_title_case(),
            env_prefix: crate_name.to_uppercase(),
            kind: options.kind.id(),
            summary: manifest.summary.clone(),
            description: sentence(&manifest.summary),
            server_bin: format!("{}-server", options.name),
            bins: manifest
                .bins
                .iter()
                .map(|role| (role.clone(), format!("{}-{role}", options.name)))
                .collect(),
            port: manifest.port,
            limits: manifest.limits,
            server_defaults: server_defaults(manifest),
            user_files: manifest
                .user
                .iter()
                .map(|path| {
                    path.replace("__crate__", &crate_name)
                        .replace("__service__", "<service>")
                })
                .collect(),
            runtime: runtime_dependency(&options.runtime, &manifest.runtime),
            runtime_codegen: format!(
                "{{ {}, default-features = false, features = [\"codegen\"] }}",
                options.runtime.dependency()
            ),
            scaffold_version: env!("CARGO_PKG_VERSION"),
            versions,
            api: Api::default(),
            name: options.name.clone(),
            crate_name,
        }
    }
}

/// What `manifest` changes of the runtime's defaults: the port of the core listener (a callout
/// has listeners of its own), and the call limits.
fn server_defaults(manifest: &Manifest) -> Vec<(&'static str, String)> {
    let runtime = Limits::default();
    let mut defaults = Vec::new();
    let callout = manifest.features.iter().any(|feature| feature == "callout");
    if !callout && manifest.port != RUNTIME_PORT {
        defaults.push(("listen", format!("[::]:{}", manifest.port)));
    }
    if manifest.limits.max_call_secs != runtime.max_call_secs {
        defaults.push(("max_call_secs", manifest.limits.max_call_secs.to_string()));
    }
    if manifest.limits.max_concurrent_calls != runtime.max_concurrent_calls {
        let calls = manifest.limits.max_concurrent_calls.to_string();
        defaults.push(("max_concurrent_calls", calls));
    }
    defaults
}

/// The gRPC port of the runtime's own listener flags.
const RUNTIME_PORT: u16 = 50051;

/// The inline table of the runtime's dependency, from `source` with `features`.
fn runtime_dependency(source: &runtime::Source, features: &[String]) -> String {
    let mut table = source.dependency();
    if !features.is_empty() {
        let quoted: Vec<String> = features.iter().map(|f| format!("\"{f}\"")).collect();
        let _ = write!(table, ", features = [{}]", quoted.join(", "));
    }
    format!("{{ {table} }}")
}

/// `text` with its first letter in upper case, and the rest as it is.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What the project's protos define.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Api {
    /// The proto files, relative to `proto/`, in dependency order.
    pub files: Vec<String>,
    pub services: Vec<Service>,
    /// The files that break buf's lint rules on packages, folders and names, by rule, for
    /// `buf.yaml` to list (see [`Api::lint_exceptions`]).
    pub lint_exceptions: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Api {
    /// Mark the services that the kind's own protos define, by their full names.
    pub fn mark_bundled(&mut self, bundled: &Api) {
        for service in &mut self.services {
            service.bundled = bundled
                .services
                .iter()
                .any(|own| own.full_name == service.full_name);
        }
    }

    /// What `services` and the files of `packages` (each file's package) break of buf's standard
    /// lint rules on packages, folders and names: a package that is missing, has no version, is
    /// not in the folder of its name or shares a folder with another; a service without the
    /// `Service` suffix; an RPC whose request and response are not `<Method>Request` and
    /// `<Method>Response` (or `<Service><Method>...`) of its own.
    pub fn lint_exceptions(
        services: &[Service],
        packages: &BTreeMap<String, String>,
    ) -> BTreeMap<&'static str, BTreeSet<String>> {
        let mut exceptions: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        let mut add = |rule, file: &str| {
            exceptions
                .entry(rule)
                .or_default()
                .insert(format!("proto/{file}"));
        };
        let folder = |file: &str| {
            file.rsplit_once('/')
                .map_or("", |(folder, _)| folder)
                .to_owned()
        };
        let mut by_folder: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        let mut by_package: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (file, package) in packages {
            by_folder.entry(folder(file)).or_default().insert(package);
            by_package.entry(package).or_default().insert(folder(file));
        }
        for (file, package) in packages {
            if by_folder[&folder(file)].len() > 1 {
                add("DIRECTORY_SAME_PACKAGE", file);
            }
            if package.is_empty() {
                add("PACKAGE_DEFINED", file);
                continue;
            }
            if by_package[package.as_str()].len() > 1 {
                add("PACKAGE_SAME_DIRECTORY", file);
            }
            if folder(file) != package.replace('.', "/") {
                add("PACKAGE_DIRECTORY_MATCH", file);
            }
            let version = package.rsplit_once('.').map(|(_, last)| last);
            if !version.is_some_and(naming::is_package_version) {
                add("PACKAGE_VERSION_SUFFIX", file);
            }
        }
        let mut uses: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
        for service in services {
            for method in &service.methods {
                for message in [&method.input, &method.output] {
                    let rpc = (service.full_name.as_str(), method.name.as_str());
                    uses.entry(message).or_default().insert(rpc);
                }
            }
        }
        for service in services {
            let file = service.proto_file.as_str();
            if !service.name.ends_with("Service") {
                add("SERVICE_SUFFIX", file);
            }
            let service_name = naming::buf_pascal_case(&service.name);
            for method in &service.methods {
                let method_name = naming::buf_pascal_case(&method.name);
                let named = |message: &str, suffix: &str| {
                    let name = message.rsplit('.').next().unwrap_or(message);
                    name == format!("{method_name}{suffix}")
                        || name == format!("{service_name}{method_name}{suffix}")
                };
                if !named(&method.input, "Request") {
                    add("RPC_REQUEST_STANDARD_NAME", file);
                }
                if !named(&method.output, "Response") {
                    add("RPC_RESPONSE_STANDARD_NAME", file);
                }
                let shared =
                    |message: &String| uses.get(message.as_str()).is_some_and(|u| u.len() > 1);
                if method.input == method.output || shared(&method.input) || shared(&method.output)
                {
                    add("RPC_REQUEST_RESPONSE_UNIQUE", file);
                }
            }
        }
        exceptions
    }

    /// The HTTP/2 path of every RPC: `/billing.greeting.v1.GreetingService/SayHello`.
    pub fn rpcs(&self) -> Vec<String> {
        self.services
            .iter()
            .flat_map(|service| service.methods.iter().map(|method| method.path.clone()))
            .collect()
    }
}

/// A proto service, with the names tonic gives its generated code.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    /// The proto name: `GreetingService`.
    pub name: String,
    /// The fully qualified name: `billing.greeting.v1.GreetingService`.
    pub full_name: String,
    pub package: String,
    /// The file that defines it, relative to `proto/`.
    pub proto_file: String,
    /// The Rust path of the package module, from the crate root: `proto::billing::greeting::v1`.
    pub module_path: String,
    /// A module name of its own among the services, for the file that implements it:
    /// `greeting_service`, or `billing_v1_greeting_service` where two packages share the name.
    pub module_name: String,
    /// The file of that module, without a raw identifier's `r#`: `type` for `r#type`.
    pub file_name: String,
    /// tonic's server module and type: `greeting_service_server`, `GreetingServiceServer`.
    pub server_module: String,
    pub server_type: String,
    /// tonic's client module and type.
    pub client_module: String,
    pub client_type: String,
    /// The trait the user implements: `GreetingService`.
    pub trait_name: String,
    /// Whether the kind's own protos define it, so that the kind's templates serve it by hand;
    /// every other service gets a module of its own, and a generic registration.
    pub bundled: bool,
    /// Whether a method uses the crate's own messages (rather than only `()` and Google's
    /// well-known types).
    pub uses_proto: bool,
    pub methods: Vec<Method>,
}

/// A proto method.
#[derive(Debug, Clone, Serialize)]
pub struct Method {
    pub name: String,
    /// The Rust method name: `say_hello`.
    pub rust_name: String,
    /// The HTTP/2 path: `/billing.greeting.v1.GreetingService/SayHello`.
    pub path: String,
    /// Fully qualified message names.
    pub input: String,
    pub output: String,
    /// The Rust types, as paths from the crate's `proto` module (`proto::a::v1::Reply`), or
    /// `()` and `::prost_types::...` for Google's well-known types.
    pub input_type: String,
    pub output_type: String,
    /// An expression for a default request message: `()` or `proto::a::v1::Request::default()`.
    pub default_input: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}
