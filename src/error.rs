//! The one error type of grpc-scaffold.
//!
//! Every failure the user can meet is a variant here, written in cargo's voice: lowercase, no
//! trailing period, values in backticks, and a `help` that says how to fix it. Proto errors keep
//! their source spans, so that `main` can show the file, line, column and a snippet.

use std::io;
use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

/// Everything that can go wrong between the command line and the written project.
#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    /// The project name cannot be a Cargo package, a Rust crate or a proto package.
    #[error("invalid project name `{name}`: {reason}")]
    #[diagnostic(help("{help}"))]
    InvalidName {
        name: String,
        reason: String,
        help: String,
    },

    /// The destination holds files, and `--force` was not given.
    #[error("destination `{}` already exists and is not empty", path.display())]
    #[diagnostic(help(
        "choose another directory with `--output`, or pass `--force` to overwrite the generated files"
    ))]
    DestinationNotEmpty { path: PathBuf },

    /// The destination is a file, not a directory.
    #[error("destination `{}` exists and is not a directory", path.display())]
    #[diagnostic(help("choose another directory with `--output`"))]
    DestinationNotDir { path: PathBuf },

    /// A file system operation on the destination failed.
    #[error("failed to {action} `{}`: {source}", path.display())]
    #[diagnostic(help("{}", io_help(source)))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// `--kind custom` without a proto file.
    #[error("the `custom` kind needs at least one `--proto` file")]
    #[diagnostic(help("pass the files whose services to serve: `--proto api/service.proto`"))]
    NoProtos,

    /// `--proto` with a kind that brings its own protos.
    #[error("`--proto` cannot be used with `--kind {kind}`, which brings its own protos")]
    #[diagnostic(help("drop `--kind` (or use `--kind custom`) to serve your own protos"))]
    ProtosWithKind { kind: crate::Kind },

    /// A `--proto` path that cannot be read.
    #[error("cannot read the proto file `{}`: {source}", path.display())]
    #[diagnostic(help("check the path given to `--proto`"))]
    ProtoFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A `--proto` path outside every include directory.
    #[error("the proto file `{}` is not under any include directory", path.display())]
    #[diagnostic(help("pass the directory that its imports are relative to with `-I DIR`"))]
    NotIncluded { path: PathBuf },

    /// An import that no include directory holds.
    #[error("import `{import}` not found; searched {}", searched.iter().map(|d| format!("`{}`", d.display())).collect::<Vec<_>>().join(", "))]
    #[diagnostic(help("pass the directory that holds it with `-I DIR`"))]
    ImportNotFound {
        import: String,
        searched: Vec<PathBuf>,
    },

    /// A `--proto` file that defines no service.
    #[error("`{}` defines no service", path.display())]
    #[diagnostic(help(
        "pass only files with services to `--proto`; files they import are found through `-I`"
    ))]
    NoService { path: PathBuf },

    /// Two proto names that become the same Rust name.
    #[error("{what} `{first}` and `{second}` both become `{rust}` in Rust")]
    #[diagnostic(help("rename one of them in the proto file"))]
    NameCollision {
        what: &'static str,
        first: String,
        second: String,
        rust: String,
    },

    /// A wrapper type used as a whole request or response.
    #[error("`{method}` takes or returns `{message}`, which prost turns into a Rust primitive")]
    #[diagnostic(help("wrap it in a message of your own, as a field"))]
    UnsupportedRpcType { method: String, message: String },

    /// A user's proto file does not compile.
    #[error("failed to compile `{}`", path.display())]
    UserProto {
        path: PathBuf,
        #[related]
        errors: Vec<protox::Error>,
    },

    /// A bundled proto file does not compile.
    #[error("failed to compile the protos of kind `{kind}`")]
    #[diagnostic(help(
        "this is a bug in the bundled templates of grpc-scaffold; please report it"
    ))]
    Proto {
        kind: String,
        #[related]
        errors: Vec<protox::Error>,
    },

    /// A template does not render.
    #[error("failed to render `{template}`: {reason}")]
    #[diagnostic(help(
        "this is a bug in the bundled templates of grpc-scaffold; please report it"
    ))]
    Render { template: String, reason: String },

    /// A template manifest (`template.toml`) is malformed.
    #[error("failed to read the manifest `{path}`: {reason}")]
    #[diagnostic(help(
        "this is a bug in the bundled templates of grpc-scaffold; please report it"
    ))]
    Manifest { path: String, reason: String },
}

fn io_help(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "check the permissions of the destination, or choose another one with `--output`"
        }
        io::ErrorKind::StorageFull => "free some disk space and try again",
        _ => "check that the destination is writable, or choose another one with `--output`",
    }
}

impl Error {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The result type of grpc-scaffold.
pub type Result<T, E = Error> = std::result::Result<T, E>;
