//! The generated projects, for real: each kind is written to disk, then built, tested, linted
//! with clippy and rustfmt (with no `protoc` anywhere), its Dockerfile checked with hadolint and
//! its manifests with kubernetes-validate, and its server run and called over the network.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use grpc_scaffold::Kind;

use crate::envoy::free_port;
use crate::support::{
    options, path_without_protoc, peer, python_with, run, runtime_checkout, tool, work_dir,
};

/// The name of each kind's project here. The names differ, because projects that share a
/// target directory must not share a package name: their build outputs would collide.
pub(crate) fn name(kind: Kind) -> String {
    format!("demo-{}", kind.id())
}

/// A generated project on disk, written once per test run and kind.
pub(crate) fn project(kind: Kind) -> PathBuf {
    static WRITTEN: OnceLock<Mutex<Vec<Kind>>> = OnceLock::new();
    let dir = work_dir().join("projects").join(kind.id());
    let mut written = WRITTEN.get_or_init(Mutex::default).lock().unwrap();
    if !written.contains(&kind) {
        let mut options = options(&name(kind), kind);
        options.destination.clone_from(&dir);
        options.runtime = runtime_checkout();
        options.force = true;
        let files = grpc_scaffold::generate(&options).unwrap().with_record();
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        grpc_scaffold::write::write(&dir, grpc_scaffold::write::Destination::Missing, &files)
            .unwrap();
        written.push(kind);
    }
    dir
}

/// `cargo <args>` in `dir`, with the shared target directory and no `protoc` to be found.
///
/// The kinds differ in a few features of tonic's dependencies, so each builds its own copy of
/// tonic and what sits above it. Without debug info and incremental state, those copies take
/// about a third of the disk, and the suite fits on a small build machine.
pub(crate) fn cargo(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", work_dir().join("generated-target"))
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env("CARGO_INCREMENTAL", "0")
        .env("PATH", path_without_protoc())
        .env_remove("PROTOC")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env("CARGO_TERM_COLOR", "never");
    command
}

pub(crate) fn binary(name: &str) -> PathBuf {
    work_dir().join("generated-target/debug").join(name)
}

fn build_test_lint(kind: Kind) {
    let dir = project(kind);
    assert!(
        Command::new("protoc")
            .env("PATH", path_without_protoc())
            .output()
            .is_err(),
        "protoc is still reachable"
    );
    run(&mut cargo(&dir, &["build"]));
    run(&mut cargo(&dir, &["test"]));
    run(&mut cargo(
        &dir,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    ));
    run(&mut cargo(&dir, &["fmt", "--check"]));
}

/// The names in a project appear in lines that rustfmt may wrap; a long one must stay formatted.
fn fmt_with_a_long_name(kind: Kind) {
    let dir = work_dir()
        .join("projects")
        .join(format!("{}-long-name", kind.id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // As long as Cargo allows.
    let name = "acme-payments-settlement-reconciliation-gateway";
    let name = format!("{name}-{}", "x".repeat(64 - name.len() - 1));
    let options = options(&name, kind);
    let files = grpc_scaffold::generate(&options).unwrap().with_record();
    grpc_scaffold::write::write(&dir, grpc_scaffold::write::Destination::Missing, &files).unwrap();
    run(&mut cargo(&dir, &["fmt", "--check"]));
}

fn hadolint(kind: Kind) {
    let dir = project(kind);
    run(Command::new(tool("hadolint")).arg(dir.join("Dockerfile")));
}

fn kubernetes_validate(kind: Kind) {
    let dir = project(kind);
    // The optional manifests, in a folder of their own, must validate too.
    let manifests: Vec<PathBuf> = crate::support::tree(&dir.join("deploy/k8s"))
        .into_iter()
        .map(|path| dir.join("deploy/k8s").join(path))
        .collect();
    assert!(!manifests.is_empty());
    run(Command::new(tool("kubernetes-validate"))
        .arg("--strict")
        .args(&manifests));
}

/// A server process, killed if the test fails before it stops it.
pub(crate) struct Server {
    child: Child,
    pub(crate) address: SocketAddr,
    /// The admin HTTP listener: `ADMIN_LISTEN_ADDR`, or the callout kinds' `HEALTH_LISTEN`.
    pub(crate) admin: SocketAddr,
}

impl Server {
    pub(crate) fn start(binary: &Path, envs: &[(&str, &str)]) -> Self {
        Self::start_at(binary, "LISTEN_ADDR", free_port(), envs)
    }

    /// Start `binary` with the address variable `listen` set to `address`, an admin listener
    /// on a free port, and no drain delay unless `envs` sets one.
    pub(crate) fn start_at(
        binary: &Path,
        listen: &str,
        address: SocketAddr,
        envs: &[(&str, &str)],
    ) -> Self {
        let admin = free_port();
        let child = Command::new(binary)
            .env(listen, address.to_string())
            .env("ADMIN_LISTEN_ADDR", admin.to_string())
            .env("HEALTH_LISTEN", admin.to_string())
            .env("DRAIN_DELAY_SECS", "0")
            .env("SHUTDOWN_GRACE_SECS", "5")
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("failed to start {}: {err}", binary.display()));
        let mut server = Self {
            child,
            address,
            admin,
        };
        server.wait_for_port();
        server
    }

    fn wait_for_port(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(self.address).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut logs = String::new();
                if let Some(mut stderr) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut logs);
                }
                panic!("the server exited with {status} before it opened its port:\n{logs}");
            }
            assert!(
                Instant::now() < deadline,
                "the server never opened {}",
                self.address
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then the exit status and the logs; fails if it takes longer than `limit`.
    pub(crate) fn terminate(self, limit: Duration) -> (std::process::ExitStatus, String) {
        self.signal_term();
        self.wait(limit)
    }

    /// Send SIGTERM, and return at once.
    pub(crate) fn signal_term(&self) {
        run(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's peak resident memory, in bytes (`VmHWM`).
    pub(crate) fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .expect("VmHWM in /proc/PID/status");
        kib * 1024
    }

    /// The exit status and the logs, once the process exits; fails if it takes longer than
    /// `limit`.
    pub(crate) fn wait(mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut logs = String::new();
        let stderr = self.child.stderr.take().unwrap();
        for line in BufReader::new(stderr).lines() {
            logs.push_str(&line.unwrap());
            logs.push('\n');
        }
        (status, logs)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn grpcurl(address: SocketAddr, args: &[&str]) -> String {
    let output = run(Command::new(tool("grpcurl"))
        .arg("-plaintext")
        .args(args.iter().take(args.len().saturating_sub(1)))
        .arg(address.to_string())
        .args(args.last()));
    String::from_utf8(output.stdout).unwrap()
}

/// `PATH` with the folder of `tool` first, for a line of shell that names it as a reader would.
fn path_with(tool: &Path) -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(
        std::iter::once(tool.parent().unwrap().to_owned()).chain(std::env::split_paths(&path)),
    )
    .unwrap()
}

/// buf's standard lint rules pass on the protos, with the exceptions that `buf.yaml` lists; for
/// custom projects, also on one made from protos that follow the rules, which lists none. A kind
/// whose protos are the runtime's has neither `buf.yaml` nor a buf job.
fn buf_lint(kind: Kind) {
    let lint = |dir: &Path| {
        assert!(dir.join("buf.yaml").is_file());
        run(Command::new(tool("buf")).arg("lint").current_dir(dir));
    };
    let dir = project(kind);
    if !dir.join("proto").exists() {
        // Tyk's and Envoy's protos are the runtime's: nothing to lint, and no job that would
        // fail on nothing.
        assert!(!dir.join("buf.yaml").exists(), "{kind}");
        let ci = std::fs::read_to_string(dir.join(".github/workflows/ci.yml")).unwrap();
        assert!(!ci.contains("buf lint"), "{kind}: {ci}");
        return;
    }
    lint(&dir);
    if kind == Kind::Custom {
        let dir = work_dir().join("projects").join("custom-clean");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let mut options = options("demo-clean", kind);
        let clean = crate::support::fixture("clean");
        options.protos = vec![clean.join("acme/orders/v1/orders.proto")];
        options.includes = vec![clean];
        let files = grpc_scaffold::generate(&options).unwrap().with_record();
        grpc_scaffold::write::write(&dir, grpc_scaffold::write::Destination::Missing, &files)
            .unwrap();
        let buf_yaml = std::fs::read_to_string(dir.join("buf.yaml")).unwrap();
        assert!(
            !buf_yaml.contains("ignore_only"),
            "no exceptions:\n{buf_yaml}"
        );
        lint(&dir);
    }
}

/// The checks every kind gets: build, test and lint; buf lint; hadolint; kubernetes-validate.
macro_rules! every_kind {
    ($($module:ident: $kind:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            #[test]
            fn builds_tests_and_lints_clean() {
                build_test_lint($kind);
                fmt_with_a_long_name($kind);
            }

            #[test]
            fn protos_pass_buf_lint() {
                buf_lint($kind);
            }

            #[test]
            fn dockerfile_passes_hadolint() {
                hadolint($kind);
            }

            #[test]
            fn manifests_validate() {
                kubernetes_validate($kind);
            }
        }
    )*};
}

every_kind! {
    basic: Kind::Basic,
    extension: Kind::Extension,
    streaming: Kind::Streaming,
    tyk: Kind::Tyk,
    ext_proc: Kind::ExtProc,
    ext_proc_l4: Kind::ExtProcL4,
    custom: Kind::Custom,
}

mod basic_live {
    use super::*;

    fn client(server: &Server, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(binary("demo-basic-client"));
        command
            .arg("--server")
            .arg(format!("http://{}", server.address))
            .args(args);
        command.output().unwrap()
    }

    fn text(output: &std::process::Output) -> String {
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[test]
    fn serves_grpcurl_and_the_client_then_drains_on_sigterm() {
        let dir = project(Kind::Basic);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let server = Server::start(&binary("demo-basic-server"), &[]);

        let services = grpcurl(server.address, &["list"]);
        for service in [
            "demo_basic.greeting.v1.GreetingService",
            "demo_basic.greeting.v2.GreetingService",
            "demo_basic.resource.v1.ResourceService",
            "grpc.health.v1.Health",
        ] {
            assert!(
                services.lines().any(|l| l == service),
                "{service} missing:\n{services}"
            );
        }

        let created = client(
            &server,
            &[
                "resource",
                "create",
                "invoices",
                "--display-name",
                "Invoices",
            ],
        );
        assert!(created.status.success(), "{created:?}");
        assert!(
            text(&created).starts_with("resources/invoices\tInvoices\t"),
            "{}",
            text(&created)
        );
        let updated = client(
            &server,
            &["resource", "update", "invoices", "--description", "All"],
        );
        assert!(updated.status.success(), "{updated:?}");
        let fetched = client(&server, &["resource", "get", "resources/invoices"]);
        assert_eq!(text(&fetched), text(&updated));
        let listed = client(&server, &["resource", "list", "--page-size", "1"]);
        assert_eq!(
            text(&listed),
            format!("NAME\tDISPLAY NAME\tETAG\n{}", text(&updated))
        );
        let greeting = client(&server, &["greeting", "v1"]);
        assert_eq!(text(&greeting), "Hello World\n");
        let greeting = client(&server, &["greeting", "v2", "--name", "Ada"]);
        assert_eq!(text(&greeting), "Hello Ada\n");
        let health = client(&server, &["health"]);
        assert_eq!(text(&health), "SERVING\n");

        let missing = client(&server, &["resource", "get", "report"]);
        assert_eq!(missing.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&missing.stderr),
            "error: `resources/report` does not exist (code: NotFound)\n"
        );
        let deleted = client(&server, &["resource", "delete", "invoices"]);
        assert_eq!(text(&deleted), "deleted resources/invoices\n");

        // The version that the build stamped, the same in both binaries and in the metric.
        let version = |bin: &str| {
            let output = run(Command::new(binary(bin)).arg("--version"));
            let line = text(&output);
            line.trim().rsplit(' ').next().unwrap().to_owned()
        };
        let stamped = version("demo-basic-server");
        let in_git = Command::new("git")
            .args(["rev-parse", "--git-dir"])
            .current_dir(&dir)
            .output()
            .is_ok_and(|output| output.status.success());
        if in_git {
            assert!(
                stamped.starts_with("0.1.0+"),
                "built in a git repository: {stamped}"
            );
        } else {
            assert_eq!(stamped, "0.1.0");
        }
        assert_eq!(version("demo-basic-client"), stamped);
        let metrics = crate::http::get(server.admin, "/metrics", &[]).text();
        assert!(
            metrics.contains(&format!("build_info{{version=\"{stamped}\"}} 1")),
            "{metrics}"
        );

        let (status, logs) = server.terminate(Duration::from_secs(5));
        assert!(status.success(), "exit status {status}\n{logs}");
        assert!(logs.contains(&format!("version=\"{stamped}\"")), "{logs}");
        assert!(logs.contains("received SIGTERM"), "{logs}");
        assert!(logs.contains("stopped"), "{logs}");
    }

    /// The grpcurl lines of the README, run as written against a server on its port.
    #[test]
    fn the_readme_grpcurl_lines_work_as_written() {
        let dir = project(Kind::Basic);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let server = Server::start(&binary("demo-basic-server"), &[]);
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let lines: Vec<String> = readme
            .lines()
            .filter(|line| line.starts_with("grpcurl "))
            .map(|line| line.replace("127.0.0.1:50051", &server.address.to_string()))
            .collect();
        let rpcs = [
            "list",
            "GreetingService/SayHello",
            "CreateResource",
            "GetResource",
            "UpdateResource",
            "ListResources",
            "DeleteResource",
            "Health/Check",
            "WatchResources",
        ];
        for rpc in rpcs {
            assert!(
                lines.iter().any(|line| line.contains(rpc)),
                "no grpcurl line for {rpc}"
            );
        }
        let path = path_with(&tool("grpcurl"));
        let shell = |line: &str| {
            let mut command = Command::new("sh");
            command.arg("-c").arg(line).env("PATH", &path);
            command
        };
        let mut outputs = BTreeMap::new();
        let (watch_line, unary) = lines.split_last().unwrap();
        assert!(
            watch_line.contains("WatchResources"),
            "the watch comes last: {watch_line}"
        );
        for line in unary {
            outputs.insert(line.clone(), text(&run(&mut shell(line))));
        }
        let output = |rpc: &str| {
            outputs
                .iter()
                .filter(|(line, _)| line.contains(rpc))
                .map(|(_, output)| output.as_str())
                .collect::<String>()
        };
        assert!(output("v1.GreetingService").contains("Hello World"));
        assert!(output("v2.GreetingService").contains("Hello Ada"));
        assert!(output("CreateResource").contains(r#""name": "resources/invoices""#));
        assert!(output("UpdateResource").contains(r#""description": "Every invoice""#));
        assert!(output("ListResources").contains("resources/invoices"));
        assert!(output("Health/Check").contains("SERVING"));

        // The watch streams until stopped: its snapshot, then a change made beside it.
        let mut watch = shell(&format!("exec {watch_line}"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut events = BufReader::new(watch.stdout.take().unwrap()).lines();
        let mut seen = String::new();
        while !seen.contains("EVENT_TYPE_RESET") {
            seen.push_str(&events.next().expect("the watch printed its reset").unwrap());
        }
        let created = client(
            &server,
            &["resource", "create", "later", "--display-name", "Later"],
        );
        assert!(created.status.success());
        while !seen.contains("resources/later") {
            seen.push_str(
                &events
                    .next()
                    .expect("the watch printed the change")
                    .unwrap(),
            );
        }
        assert!(seen.contains("EVENT_TYPE_CREATED"), "{seen}");
        watch.kill().unwrap();
        watch.wait().unwrap();
    }

    /// A free port below Linux's ephemeral range (32768 and up), which no test's `free_port` and
    /// no client's own end of a connection takes while the server is down.
    fn port_outside_the_ephemeral_range() -> SocketAddr {
        let start = 20_000 + (std::process::id() % 10_000) as u16;
        (start..32_000)
            .chain(20_000..start)
            .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
            .find(|address| std::net::TcpListener::bind(address).is_ok())
            .expect("a free port below 32000")
    }

    /// `resource watch` keeps going through a server that is killed and started again: it
    /// reconnects, and resumes with a reset, since the new process has none of the old changes.
    #[test]
    fn the_watch_reconnects_to_a_killed_and_restarted_server() {
        let dir = project(Kind::Basic);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let address = port_outside_the_ephemeral_range();
        let server = Server::start_at(&binary("demo-basic-server"), "LISTEN_ADDR", address, &[]);
        let mut watch = Command::new(binary("demo-basic-client"))
            .arg("--server")
            .arg(format!("http://{address}"))
            .args([
                "resource",
                "watch",
                "--max-backoff-ms",
                "400",
                "--progress-ms",
                "500",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, received) = std::sync::mpsc::channel();
        let stdout = watch.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines.send(line.unwrap()).is_err() {
                    return;
                }
            }
        });
        let next = || {
            received
                .recv_timeout(Duration::from_secs(20))
                .expect("the watch printed a line within 20 s")
        };
        assert_eq!(next(), "RESET");
        let created = client(
            &server,
            &["resource", "create", "first", "--display-name", "First"],
        );
        assert!(created.status.success());
        assert_eq!(next(), "CREATED\tresources/first\tFirst");

        drop(server);
        // Down for longer than a few waits, so that the client retries more than once.
        std::thread::sleep(Duration::from_millis(1_500));
        let server = Server::start_at(&binary("demo-basic-server"), "LISTEN_ADDR", address, &[]);
        assert_eq!(
            next(),
            "RESET",
            "the new process cannot resume the old one's changes"
        );
        let created = client(
            &server,
            &["resource", "create", "second", "--display-name", "Second"],
        );
        assert!(created.status.success());
        assert_eq!(next(), "CREATED\tresources/second\tSecond");

        watch.kill().unwrap();
        watch.wait().unwrap();
        let mut errors = String::new();
        std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut errors).unwrap();
        let waits: Vec<u64> = errors
            .lines()
            .filter_map(|line| line.strip_prefix("reconnecting in "))
            .map(|wait| wait.trim_end_matches(" ms").parse().unwrap())
            .collect();
        assert!(
            waits.len() >= 2,
            "it retried while the server was down:\n{errors}"
        );
        assert!(
            waits.iter().all(|&wait| wait <= 400),
            "capped at 400 ms: {waits:?}"
        );
        drop(server);
    }
}

mod extension_live {
    use super::*;

    #[test]
    fn grpcurl_with_a_minted_token() {
        let dir = project(Kind::Extension);
        run(Command::new(tool("make")).arg("dev-keys").current_dir(&dir));
        run(&mut cargo(&dir, &["build", "--bins"]));
        let public_key = dir.join("dev-keys/public.pem");
        // Each call is logged at debug only: the check that no token is logged needs those lines.
        let server = Server::start(
            &binary("demo-extension-server"),
            &[
                ("PUBLIC_KEY_FILE", public_key.to_str().unwrap()),
                ("CLIENT_IDS", "1"),
                ("RUST_LOG", "info,demo_extension=debug"),
            ],
        );
        let mint = |ttl: &str| {
            let output = run(Command::new(binary("demo-extension-token"))
                .arg(format!("--ttl-secs={ttl}"))
                .current_dir(&dir));
            String::from_utf8(output.stdout).unwrap().trim().to_owned()
        };
        let call = |token: &str, config_json: &str| {
            let body = serde_json::json!({
                "token": token,
                "action": "process",
                "data": [r#"{"id": 1}"#],
                "config_json": config_json,
            });
            Command::new(tool("grpcurl"))
                .args(["-plaintext", "-d", &body.to_string()])
                .arg(server.address.to_string())
                .arg("protos.DataExtension/ExtensionData")
                .output()
                .unwrap()
        };

        let ok = call(&mint("600"), "{}");
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let reply: String = String::from_utf8_lossy(&ok.stdout)
            .split_whitespace()
            .collect();
        assert_eq!(reply, "{}", "an empty ExtensionResponse");

        let expired = call(&mint("-3600"), "{}");
        let stderr = String::from_utf8_lossy(&expired.stderr);
        assert!(!expired.status.success());
        assert!(stderr.contains("Code: Unauthenticated"), "{stderr}");
        assert!(
            stderr.contains("Message: invalid token: token has expired"),
            "{stderr}"
        );

        let bad_config = call(&mint("600"), "{oops");
        let stderr = String::from_utf8_lossy(&bad_config.stderr);
        assert!(stderr.contains("Code: InvalidArgument"), "{stderr}");
        assert!(
            stderr.contains("Message: Invalid config_json: "),
            "{stderr}"
        );

        let (status, logs) = server.terminate(Duration::from_secs(5));
        assert!(status.success(), "exit status {status}\n{logs}");
        assert!(
            logs.contains("extension data"),
            "no call was logged:\n{logs}"
        );
        assert!(
            !logs.contains(&mint("600")[..20]),
            "a token was logged:\n{logs}"
        );
    }
}

mod streaming_live {
    use super::*;

    const SECRET: &str = "a secret for the live test, over 32 bytes";

    fn serve() -> Server {
        let dir = project(Kind::Streaming);
        run(&mut cargo(&dir, &["build", "--bins"]));
        Server::start(
            &binary("demo-streaming-server"),
            &[
                ("JWT_SECRET", SECRET),
                ("STREAM_MESSAGES", "3"),
                ("STREAM_INTERVAL_MS", "50"),
            ],
        )
    }

    fn expected(user: &str) -> String {
        let mut lines = String::new();
        for n in 1..=3 {
            let _ = writeln!(lines, "Hello {user}, this is message {n}");
        }
        lines
    }

    #[test]
    fn the_generated_client_streams_for_two_users() {
        let server = serve();
        let output = run(Command::new(binary("demo-streaming-client"))
            .args([
                "--server",
                &format!("http://{}", server.address),
                "Alice",
                "Bob",
            ])
            .env("JWT_SECRET", SECRET));
        let rule = "-".repeat(40);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!(
                "Streaming data for Alice:\n{}{rule}\nStreaming data for Bob:\n{}{rule}\n",
                expected("Alice"),
                expected("Bob")
            )
        );

        let wrong_secret = Command::new(binary("demo-streaming-client"))
            .args(["--server", &format!("http://{}", server.address), "Alice"])
            .env("JWT_SECRET", "not the secret, though long enough to pass")
            .output()
            .unwrap();
        assert_eq!(wrong_secret.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&wrong_secret.stderr),
            "Error: Invalid authorization token (Code: Unauthenticated)\n"
        );

        let (status, logs) = server.terminate(Duration::from_secs(5));
        assert!(status.success(), "exit status {status}\n{logs}");
    }

    /// A Python client built on `grpcio` and `PyJWT`, with hand-encoded messages: the kind of
    /// client the streaming kind must keep working for.
    #[test]
    fn a_python_grpcio_client_works_unchanged() {
        let server = serve();
        let output = run(peer("streaming_client.py", &["grpc", "jwt"]).args([
            &server.address.to_string(),
            SECRET,
            "Alice",
            "Bob",
        ]));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!(
                "Streaming data for Alice:\n{}Streaming data for Bob:\n{}",
                expected("Alice"),
                expected("Bob")
            )
        );
    }
}

mod tyk_live {
    use super::*;

    fn serve() -> (PathBuf, Server) {
        let dir = project(Kind::Tyk);
        run(&mut cargo(&dir, &["build", "--bins"]));
        // At debug level the whole Object is logged: the redaction is on trial too.
        let server = Server::start(
            &binary("demo-tyk-server"),
            &[
                (
                    "HMAC_KEYS",
                    "client-1=a secret of 32 bytes for the live test",
                ),
                ("RUST_LOG", "info,grpc_scaffold_runtime::tyk=debug"),
            ],
        );
        (dir, server)
    }

    /// grpcurl, sending a `testdata/` payload through reflection; the reply as JSON.
    fn send(dir: &Path, server: &Server, method: &str, payload: &str) -> serde_json::Value {
        let input = std::fs::File::open(dir.join("testdata").join(payload)).unwrap();
        let output = run(Command::new(tool("grpcurl"))
            .args(["-plaintext", "-d", "@"])
            .arg(server.address.to_string())
            .arg(format!("coprocess.Dispatcher/{method}"))
            .stdin(input));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    #[test]
    fn testdata_payloads_through_grpcurl() {
        let (dir, server) = serve();

        let pre = send(&dir, &server, "Dispatch", "pre.json");
        assert_eq!(pre["request"]["setHeaders"]["X-Plugin"], "rust", "{pre}");
        assert_eq!(pre["request"]["addParams"]["plugin"], "rust", "{pre}");
        assert_eq!(pre["request"]["params"]["status"], "available", "{pre}");

        let auth = send(&dir, &server, "Dispatch", "custom_key_check.json");
        let overrides = &auth["request"]["returnOverrides"];
        assert_eq!(overrides["responseCode"], 401, "{auth}");
        assert_eq!(
            overrides["responseError"], "missing Authorization header",
            "{auth}"
        );

        let post = send(&dir, &server, "Dispatch", "post.json");
        assert_eq!(
            post["request"]["deleteHeaders"],
            serde_json::json!(["Authorization"])
        );

        let response = send(&dir, &server, "Dispatch", "response.json");
        assert_eq!(
            response["response"]["headers"]["X-Plugin"], "rust",
            "{response}"
        );

        let event = send(&dir, &server, "DispatchEvent", "event.json");
        assert_eq!(event, serde_json::json!({}));

        let (status, logs) = server.terminate(Duration::from_secs(5));
        assert!(status.success(), "exit status {status}\n{logs}");
        assert!(logs.contains("hook=\"Pre\""), "{logs}");
        assert!(
            logs.contains("api=\"ce6528c0af7b43206b9cf736a5e5d1b4\""),
            "{logs}"
        );
        assert!(logs.contains("dispatch received"), "no debug dump:\n{logs}");
        assert!(logs.contains("[redacted]"), "nothing was redacted:\n{logs}");
        assert!(
            !logs.contains("c2lnbmF0dXJl"),
            "a credential was logged:\n{logs}"
        );
    }

    /// An Object encoded by hand from the protocol's field numbers, through Python grpcio.
    #[test]
    fn the_wire_format_matches_the_gateways() {
        let (_dir, server) = serve();
        let output = run(peer("tyk_wire.py", &["grpc"]).arg(server.address.to_string()));
        let report = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            report.lines().filter(|l| l.starts_with("ok: ")).count(),
            9,
            "{report}"
        );
    }

    #[test]
    fn gateway_files_are_valid_and_name_the_hooks() {
        let dir = project(Kind::Tyk);
        let json = |path: &str| -> serde_json::Value {
            let text = std::fs::read_to_string(dir.join(path)).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
        };
        let conf = json("tyk/tyk.conf");
        assert_eq!(conf["coprocess_options"]["enable_coprocess"], true);
        assert_eq!(
            conf["coprocess_options"]["coprocess_grpc_server"],
            "tcp://plugin:5555"
        );
        // Without it, the gateway sends an empty :authority, which HTTP/2 servers refuse.
        assert_eq!(conf["coprocess_options"]["grpc_authority"], "plugin:5555");

        let classic = json("tyk/apps/classic.json");
        assert_eq!(classic["enable_coprocess_auth"], true);
        let middleware = &classic["custom_middleware"];
        assert_eq!(middleware["driver"], "grpc");
        assert_eq!(middleware["auth_check"]["name"], "MyAuthCheck");

        assert_eq!(classic["config_data"]["tag"], "rust");
        assert_eq!(
            classic["event_handlers"]["events"]["AuthFailure"][0]["handler_meta"]["name"],
            "MyEventHandler"
        );

        // A file-based gateway loads an OAS API from a pair: `oas.json`, its Classic form, and
        // `oas-oas.json`, the OAS document (tyk_gateway.rs checks that they agree).
        let oas_classic = json("tyk/apps/oas.json");
        assert_eq!(oas_classic["is_oas"], true);
        let oas = json("tyk/apps/oas-oas.json");
        let tyk = &oas["x-tyk-api-gateway"];
        assert_eq!(
            tyk["middleware"]["global"]["pluginConfig"]["data"]["value"]["tag"],
            "rust"
        );
        assert_eq!(
            tyk["middleware"]["global"]["pluginConfig"]["driver"],
            "grpc"
        );
        assert_eq!(
            tyk["server"]["authentication"]["custom"]["config"]["functionName"],
            "MyAuthCheck"
        );

        let hooks = std::fs::read_to_string(dir.join("src/hooks.rs")).unwrap();
        for name in [
            "MyPrePluginMiddleware",
            "MyAuthCheck",
            "MyPostKeyAuth",
            "MyPostMiddleware",
            "MyResponseMiddleware",
        ] {
            assert!(
                hooks.contains(&format!("\"{name}\"")),
                "{name} is not registered"
            );
            assert!(
                classic.to_string().contains(name),
                "{name} is not in classic.json"
            );
            assert!(
                oas.to_string().contains(name),
                "{name} is not in oas-oas.json"
            );
        }

        let compose = dir.join("tyk/docker-compose.yml");
        run(Command::new(python_with(&["yaml"]))
            .args(["-c", "import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert set(d['services']) == {'plugin', 'redis', 'gateway'}, d"])
            .arg(compose));
        let env = std::fs::read_to_string(dir.join("tyk/gateway.env")).unwrap();
        assert!(env.contains("TYK_GW_COPROCESSOPTIONS_COPROCESSGRPCSERVER=tcp://plugin:5555"));
        assert!(env.contains("TYK_GW_COPROCESSOPTIONS_GRPCAUTHORITY=plugin:5555"));
        let compose = std::fs::read_to_string(dir.join("tyk/docker-compose.yml")).unwrap();
        assert!(compose.contains("HMAC_KEYS: "), "{compose}");
        assert!(!compose.contains("HMAC_SECRET"), "{compose}");
    }
}

mod custom_live {
    use super::*;

    #[test]
    fn grpcurl_lists_every_service_and_reaches_every_shape() {
        let dir = project(Kind::Custom);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let server = Server::start(&binary("demo-custom-server"), &[]);

        let listed = grpcurl(server.address, &["list"]);
        for service in [
            "tricky.v1.HTTPService",
            "tricky.v1.Greeter",
            "tricky.v2.Greeter",
            "async.Jobs",
            "grpc.health.v1.Health",
        ] {
            assert!(
                listed.lines().any(|l| l == service),
                "{service} missing:\n{listed}"
            );
        }

        // One RPC of each shape: unary, server, client and bidirectional streaming.
        for method in ["GetURL", "Type", "Upload", "Chat"] {
            let path = format!("tricky.v1.HTTPService/{method}");
            let output = Command::new(tool("grpcurl"))
                .args(["-plaintext", "-d", "{}"])
                .arg(server.address.to_string())
                .arg(&path)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("Code: Unimplemented"), "{method}: {stderr}");
            assert!(
                stderr.contains("Message: Not yet implemented"),
                "{method}: {stderr}"
            );
        }
        let (status, logs) = server.terminate(Duration::from_secs(5));
        assert!(status.success(), "exit status {status}\n{logs}");
    }
}

/// The callout kinds describe Envoy's services in reflection, from the `proto/` that their
/// build.rs compiles, so that `grpcurl describe` works against them.
mod callout_reflection {
    use super::*;

    /// `grpcurl describe` of each of `symbols`, against the server of `kind`.
    fn describe(kind: Kind, symbols: &[&str]) -> Vec<String> {
        let dir = project(kind);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let server = Server::start_at(
            &binary(&format!("{}-server", name(kind))),
            "PLAINTEXT_LISTEN",
            free_port(),
            &[("TLS_LISTEN", "off")],
        );
        let described = symbols
            .iter()
            .map(|symbol| {
                let output = run(Command::new(tool("grpcurl"))
                    .arg("-plaintext")
                    .arg(server.address.to_string())
                    .args(["describe", symbol]));
                String::from_utf8(output.stdout).unwrap()
            })
            .collect();
        let (status, logs) = server.terminate(Duration::from_secs(5));
        assert!(status.success(), "exit status {status}\n{logs}");
        described
    }

    /// `described` is the service `package.service`, whose `Process` streams both ways.
    fn assert_process(described: &str, package: &str, service: &str) {
        assert!(
            described.starts_with(&format!("{package}.{service} is a service:")),
            "{described}"
        );
        let rpc = format!(
            "rpc Process ( stream .{package}.ProcessingRequest ) returns ( stream .{package}.ProcessingResponse );"
        );
        assert!(
            described.lines().any(|line| line.trim() == rpc),
            "{rpc} missing:\n{described}"
        );
    }

    #[test]
    fn ext_proc_describes_the_external_processor() {
        let package = "envoy.service.ext_proc.v3";
        let described = describe(
            Kind::ExtProc,
            &[
                &format!("{package}.ExternalProcessor"),
                &format!("{package}.ProcessingRequest"),
                &format!("{package}.ProcessingResponse"),
            ],
        );
        assert_process(&described[0], package, "ExternalProcessor");
        for field in [
            ".envoy.service.ext_proc.v3.HttpHeaders request_headers = 2;",
            ".envoy.service.ext_proc.v3.HttpBody response_body = 5;",
            ".envoy.config.core.v3.Metadata metadata_context = 8;",
            "map<string, .google.protobuf.Struct> attributes = 9;",
            ".envoy.service.ext_proc.v3.ProtocolConfiguration protocol_config = 11;",
        ] {
            assert!(described[1].contains(field), "{field}:\n{}", described[1]);
        }
        for field in [
            ".envoy.service.ext_proc.v3.ImmediateResponse immediate_response = 7;",
            ".google.protobuf.Struct dynamic_metadata = 8;",
            ".google.protobuf.Duration override_message_timeout = 10;",
        ] {
            assert!(described[2].contains(field), "{field}:\n{}", described[2]);
        }
    }

    #[test]
    fn ext_proc_l4_describes_the_network_external_processor() {
        let package = "envoy.service.network_ext_proc.v3";
        let described = describe(
            Kind::ExtProcL4,
            &[
                &format!("{package}.NetworkExternalProcessor"),
                &format!("{package}.ProcessingResponse"),
            ],
        );
        assert_process(&described[0], package, "NetworkExternalProcessor");
        for field in [
            ".envoy.service.network_ext_proc.v3.Data read_data = 1;",
            ".envoy.service.network_ext_proc.v3.ProcessingResponse.ConnectionStatus connection_status = 4;",
        ] {
            assert!(described[1].contains(field), "{field}:\n{}", described[1]);
        }
    }
}

/// The callout kinds behind a real Envoy, with the generated `envoy/envoy.yaml` on ports of the
/// test's own, and upstreams that record what reaches them.
mod envoy_live {
    use super::*;
    use crate::envoy::{self, Envoy, Ports};

    /// The generated Envoy config on free ports, with the upstream cluster at `upstream`.
    fn ports(upstream: SocketAddr) -> Ports {
        Ports {
            admin: free_port(),
            ingress: free_port(),
            stand_in_upstream: free_port(),
            ext_proc: free_port(),
            upstream,
        }
    }

    fn start_envoy(kind: Kind, ports: &Ports) -> Envoy {
        let dir = project(kind);
        let yaml = std::fs::read_to_string(dir.join("envoy/envoy.yaml")).unwrap();
        Envoy::start(&dir, &envoy::with_ports(&yaml, ports), ports.admin)
    }

    /// The generated server running `example` (the user's callout if empty), plaintext on
    /// `address`, with TLS off.
    fn callout(binary: &str, address: SocketAddr, example: &str) -> Server {
        let mut envs = vec![("TLS_LISTEN", "off")];
        if !example.is_empty() {
            envs.push(("EXAMPLE", example));
        }
        Server::start_at(&super::binary(binary), "PLAINTEXT_LISTEN", address, &envs)
    }

    fn assert_no_failures(stats: &std::collections::BTreeMap<String, u64>, prefix: &str) {
        assert!(stats[&format!("{prefix}streams_started")] > 0, "{stats:#?}");
        for counter in [
            "spurious_msgs_received",
            "streams_failed",
            "failure_mode_allowed",
            "message_timeouts",
        ] {
            if let Some(value) = stats.get(&format!("{prefix}{counter}")) {
                assert_eq!(*value, 0, "{counter}: {stats:#?}");
            }
        }
    }

    /// The body modes of the matrix, as Envoy spells them.
    const BODY_MODES: [&str; 5] = [
        "NONE",
        "STREAMED",
        "BUFFERED",
        "BUFFERED_PARTIAL",
        "FULL_DUPLEX_STREAMED",
    ];

    /// The generated ext-proc config, with one route per body mode and trailer mode, picked by
    /// the `x-mode` header (`STREAMED-SEND`, ...), and the access log written to `log`.
    fn matrix_config(yaml: &str, log: &Path) -> String {
        let default_route =
            "                      routes:\n                        - match: { prefix: \"/\" }\n";
        assert!(
            yaml.contains(default_route),
            "the route of envoy.yaml moved"
        );
        let mut routes = String::from("                      routes:\n");
        for body in BODY_MODES {
            for trailers in ["SEND", "SKIP"] {
                let _ = write!(
                    routes,
                    r#"                        - match:
                            prefix: "/"
                            headers: [{{ name: x-mode, string_match: {{ exact: "{body}-{trailers}" }} }}]
                          route: {{ cluster: upstream }}
                          typed_per_filter_config:
                            envoy.filters.http.ext_proc:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute
                              overrides:
                                processing_mode:
                                  request_header_mode: SEND
                                  response_header_mode: SEND
                                  request_body_mode: {body}
                                  response_body_mode: {body}
                                  request_trailer_mode: {trailers}
                                  response_trailer_mode: {trailers}
"#
                );
            }
        }
        routes.push_str("                        - match: { prefix: \"/\" }\n");
        yaml.replace(default_route, &routes)
            .replace("path: /dev/stdout", &format!("path: {}", log.display()))
    }

    fn start_matrix_envoy(kind: Kind, ports: &Ports, log: &Path) -> Envoy {
        let dir = project(kind);
        let yaml = std::fs::read_to_string(dir.join("envoy/envoy.yaml")).unwrap();
        let yaml = match kind {
            Kind::ExtProc => matrix_config(&yaml, log),
            _ => yaml.replace("path: /dev/stdout", &format!("path: {}", log.display())),
        };
        Envoy::start(&dir, &envoy::with_ports(&yaml, ports), ports.admin)
    }

    /// The lines Envoy's access log has so far, waiting up to a few seconds for `wanted`.
    fn access_log(log: &Path, wanted: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.contains(wanted) || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The seed's basic callout, as a new project serves it and as `EXAMPLE=basic`, in every body
    /// mode, with trailers sent and skipped, for bodies of 0 bytes, 1 byte and 1 MiB (which
    /// Envoy sends in many chunks): what the upstream and the client get, and no failure in
    /// Envoy's counters.
    #[test]
    fn every_body_mode_through_envoy() {
        let dir = project(Kind::ExtProc);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let (upstream, received) = envoy::http_upstream();
        let ports = ports(upstream);
        let log = dir.join("access.log");
        let envoy = start_matrix_envoy(Kind::ExtProc, &ports, &log);
        let big = vec![b'x'; 1 << 20];
        let bodies: [&[u8]; 3] = [b"", b"1", &big];
        for example in ["", "basic"] {
            let server = callout("demo-ext-proc-server", ports.ext_proc, example);
            for body_mode in BODY_MODES {
                for trailers in ["SEND", "SKIP"] {
                    let mode = format!("{body_mode}-{trailers}");
                    for body in bodies {
                        let cell = format!("{example:?} {mode} {} bytes", body.len());
                        let headers = [("x-mode", mode.as_str()), ("foo", "bar")];
                        let response =
                            envoy::request(ports.ingress, "POST", "/orders", &headers, body)
                                .unwrap();
                        assert_eq!(response.status, 200, "{cell}: {response:?}");
                        assert_eq!(
                            response.header("hello"),
                            Some("service-extensions"),
                            "{cell}"
                        );
                        let seen = envoy::next(&received);
                        assert_eq!(seen.start, "POST / HTTP/1.1", "{cell}");
                        assert_eq!(
                            seen.header("host"),
                            Some("service-extensions.com"),
                            "{cell}"
                        );
                        assert_eq!(seen.header("header-request"), Some("request"), "{cell}");
                        assert_eq!(seen.header("foo"), None, "{cell}");
                        if body_mode == "NONE" {
                            assert_eq!(seen.body, body, "{cell}");
                            assert_eq!(response.text(), "upstream body", "{cell}");
                        } else {
                            // An empty body has no body phase: there is nothing to replace.
                            let expected: &[u8] = if body.is_empty() {
                                b""
                            } else {
                                b"replaced-body"
                            };
                            assert_eq!(seen.body, expected, "{cell}: {:?}", seen.text());
                            assert_eq!(response.text(), "", "{cell}");
                        }
                    }
                }
            }
            response_bodies_in_every_mode(&ports, &received, example);
            let (status, logs) = server.terminate(Duration::from_secs(5));
            assert!(status.success(), "exit status {status}\n{logs}");
        }
        assert_no_failures(
            &envoy.stats("http.ingress.ext_proc."),
            "http.ingress.ext_proc.",
        );
    }

    /// The response direction of the matrix, for the callout running `example`: in every body
    /// mode, with trailers sent and skipped, the upstream answers 0 bytes, 1 byte and 1 MiB
    /// (which Envoy sends in many chunks). The seed's basic callout clears the response body,
    /// so the client gets it only in mode NONE.
    fn response_bodies_in_every_mode(
        ports: &Ports,
        received: &std::sync::mpsc::Receiver<crate::http::Message>,
        example: &str,
    ) {
        for body_mode in BODY_MODES {
            for trailers in ["SEND", "SKIP"] {
                let mode = format!("{body_mode}-{trailers}");
                for size in [0, 1, 1 << 20] {
                    let cell = format!("{example:?} {mode} response of {size} bytes");
                    let size_text = size.to_string();
                    let headers = [
                        ("x-mode", mode.as_str()),
                        ("x-response-size", size_text.as_str()),
                    ];
                    let response =
                        envoy::request(ports.ingress, "POST", "/orders", &headers, b"").unwrap();
                    let seen = envoy::next(received);
                    assert_eq!(
                        seen.header("x-response-size"),
                        Some(size_text.as_str()),
                        "{cell}"
                    );
                    assert_eq!(response.status, 200, "{cell}: {response:?}");
                    assert_eq!(
                        response.header("hello"),
                        Some("service-extensions"),
                        "{cell}"
                    );
                    let expected = if body_mode == "NONE" { size } else { 0 };
                    assert_eq!(response.body.len(), expected, "{cell}");
                    assert!(response.body.iter().all(|&byte| byte == b'y'), "{cell}");
                }
            }
        }
    }

    /// Dynamic metadata from the callout reaches Envoy's access log; `mode_override` skips the
    /// response body of a GET; a namespaced JWT claim passes `jwt_auth`; a timeout extension
    /// followed by a slow answer is not a 504.
    #[test]
    #[allow(
        clippy::too_many_lines,
        reason = "one case after another, each with its own checks"
    )]
    fn metadata_mode_override_and_timeout_extension_through_envoy() {
        let dir = project(Kind::ExtProc);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let (upstream, received) = envoy::http_upstream();
        let ports = ports(upstream);
        let log = dir.join("access-metadata.log");
        let envoy = start_matrix_envoy(Kind::ExtProc, &ports, &log);

        let server = callout("demo-ext-proc-server", ports.ext_proc, "dynamic_forwarding");
        let headers = [("x-select-endpoint", "10.1.2.3:8080")];
        let response = envoy::request(ports.ingress, "GET", "/picked", &headers, b"").unwrap();
        assert_eq!(response.status, 200, "{response:?}");
        envoy::next(&received);
        let lines = access_log(&log, "endpoint=10.1.2.3:8080");
        assert!(
            lines.lines().any(|line| line.starts_with("GET /picked 200")
                && line.ends_with("endpoint=10.1.2.3:8080")),
            "{lines}"
        );
        drop(server);

        // skip_response_body: a GET's response body never reaches the callout, a POST's does.
        let server = callout("demo-ext-proc-server", ports.ext_proc, "skip_response_body");
        let response_bodies = || {
            let metrics = envoy::get(server.admin, "/metrics", &[]).text();
            metrics
                .lines()
                .find(|line| {
                    line.starts_with("ext_proc_messages_total")
                        && line.contains(r#"phase="response_body""#)
                })
                .and_then(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let headers = [("x-mode", "BUFFERED-SKIP")];
        let got = envoy::request(ports.ingress, "GET", "/", &headers, b"").unwrap();
        assert_eq!((got.status, got.text().as_str()), (200, "upstream body"));
        envoy::next(&received);
        assert_eq!(
            response_bodies(),
            0,
            "a GET's response body reached the callout"
        );
        let posted = envoy::request(ports.ingress, "POST", "/", &headers, b"x").unwrap();
        assert_eq!(
            (posted.status, posted.text().as_str()),
            (200, "upstream body")
        );
        envoy::next(&received);
        assert_eq!(
            response_bodies(),
            1,
            "a POST's response body skipped the callout"
        );
        drop(server);

        // jwt_auth: a namespaced claim becomes a valid header name, not a 500.
        let key = dir.join("jwt-test.key");
        run(Command::new(tool("openssl"))
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&key));
        let public = dir.join("jwt-test.pub");
        run(Command::new(tool("openssl"))
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&public));
        let server = Server::start_at(
            &binary("demo-ext-proc-server"),
            "PLAINTEXT_LISTEN",
            ports.ext_proc,
            &[
                ("TLS_LISTEN", "off"),
                ("EXAMPLE", "jwt_auth"),
                ("PUBLIC_KEY_FILE", public.to_str().unwrap()),
            ],
        );
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        let token = rs256_token(
            &key,
            &serde_json::json!({ "sub": "ada", "exp": exp, "https://x/roles": ["admin"] }),
        );
        let authorization = format!("Bearer {token}");
        let response = envoy::request(
            ports.ingress,
            "GET",
            "/claims",
            &[("authorization", &authorization)],
            b"",
        )
        .unwrap();
        assert_eq!(response.status, 200, "{response:?}");
        let seen = envoy::next(&received);
        assert_eq!(
            seen.header("decoded-https---x-roles"),
            Some(r#"["admin"]"#),
            "{seen:?}"
        );
        assert_eq!(seen.header("decoded-sub"), Some("ada"), "{seen:?}");
        assert_eq!(seen.header("authorization"), None, "{seen:?}");
        let refused = envoy::request(ports.ingress, "GET", "/claims", &[], b"").unwrap();
        assert_eq!(refused.status, 401, "{refused:?}");
        drop(server);

        // slow_lookup: it answers after Envoy's message_timeout, having asked for more time.
        let server = callout("demo-ext-proc-server", ports.ext_proc, "slow_lookup");
        let response = envoy::request(ports.ingress, "GET", "/slow", &[], b"").unwrap();
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(envoy::next(&received).header("x-looked-up"), Some("yes"));
        drop(server);

        assert_no_failures(
            &envoy.stats("http.ingress.ext_proc."),
            "http.ingress.ext_proc.",
        );
    }

    /// An RS256 JWT of `claims`, signed by openssl with the private key in `key`.
    fn rs256_token(key: &Path, claims: &serde_json::Value) -> String {
        use base64::Engine as _;
        use std::io::Write as _;

        let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let input = format!(
            "{}.{}",
            encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            encode(claims.to_string().as_bytes())
        );
        let mut sign = Command::new(tool("openssl"))
            .args(["dgst", "-sha256", "-sign"])
            .arg(key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        sign.stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let output = sign.wait_with_output().unwrap();
        assert!(output.status.success(), "openssl dgst failed");
        format!("{input}.{}", encode(&output.stdout))
    }

    #[test]
    fn http_examples_through_envoy() {
        let dir = project(Kind::ExtProc);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let (upstream, received) = envoy::http_upstream();
        let ports = ports(upstream);
        let envoy = start_envoy(Kind::ExtProc, &ports);
        let send = |headers: &[(&str, &str)], body: &[u8]| {
            envoy::request(ports.ingress, "POST", "/orders", headers, body).unwrap()
        };

        // add_custom_response: a deny answered by Envoy with the callout's 403, and a mock.
        let server = callout(
            "demo-ext-proc-server",
            ports.ext_proc,
            "add_custom_response",
        );
        let denied = send(&[("deny", "true")], b"");
        assert_eq!(denied.status, 403, "{denied:?}");
        assert_eq!(denied.text(), "denied by the callout\n");
        let mocked = send(&[("mock", "true")], b"");
        assert_eq!(
            (mocked.status, mocked.text().as_str()),
            (200, "Mocked response\n")
        );
        let passed = send(&[], b"fine");
        assert_eq!(
            (passed.status, passed.text().as_str()),
            (200, "upstream body")
        );
        assert_eq!(envoy::next(&received).text(), "fine");
        drop(server);

        // redirect: 301 and a Location, without reaching the upstream.
        let server = callout("demo-ext-proc-server", ports.ext_proc, "redirect");
        let redirected = send(&[], b"");
        assert_eq!(redirected.status, 301, "{redirected:?}");
        assert_eq!(
            redirected.header("location"),
            Some("http://service-extensions.com/redirect")
        );
        drop(server);
        assert!(
            received.try_recv().is_err(),
            "a stopped request reached the upstream"
        );

        assert_no_failures(
            &envoy.stats("http.ingress.ext_proc."),
            "http.ingress.ext_proc.",
        );
    }

    /// The TLS listener with `make certs`' certificates, the plaintext one off, and the HTTP
    /// health listener beside it.
    #[test]
    fn tls_listener_and_http_health() {
        let dir = project(Kind::ExtProcL4);
        run(Command::new(tool("make")).arg("certs").current_dir(&dir));
        run(&mut cargo(&dir, &["build", "--bins"]));
        let certs = dir.join("certs");
        let (cert, key) = (certs.join("server.pem"), certs.join("server.key"));
        let health = free_port();
        let server = Server::start_at(
            &binary("demo-ext-proc-l4-server"),
            "TLS_LISTEN",
            free_port(),
            &[
                ("PLAINTEXT_LISTEN", "off"),
                ("HEALTH_LISTEN", &health.to_string()),
                ("TLS_CERT", cert.to_str().unwrap()),
                ("TLS_KEY", key.to_str().unwrap()),
            ],
        );
        let checked = run(Command::new(tool("grpcurl"))
            .arg("-cacert")
            .arg(certs.join("ca.pem"))
            .arg(server.address.to_string())
            .arg("grpc.health.v1.Health/Check"));
        let checked = String::from_utf8_lossy(&checked.stdout);
        assert!(checked.contains(r#""status": "SERVING""#), "{checked}");
        let plaintext = Command::new(tool("grpcurl"))
            .args([
                "-plaintext",
                &server.address.to_string(),
                "grpc.health.v1.Health/Check",
            ])
            .output()
            .unwrap();
        assert!(
            !plaintext.status.success(),
            "the TLS listener answered plaintext"
        );

        let ready = envoy::get(health, "/healthz", &[]);
        assert_eq!((ready.status, ready.text().as_str()), (200, "SERVING\n"));
        let (status, logs) = server.terminate(Duration::from_secs(5));
        assert!(status.success(), "exit status {status}\n{logs}");
        assert!(
            logs.lines()
                .any(|line| line.contains("serving gRPC") && line.contains("tls=true")),
            "{logs}"
        );
    }

    #[test]
    fn tcp_rewrite_and_metadata_through_envoy() {
        use std::io::{Read as _, Write as _};

        let dir = project(Kind::ExtProcL4);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let (upstream, received) = envoy::tcp_echo_upstream();
        let ports = ports(upstream);
        let log = dir.join("access.log");
        let envoy = start_matrix_envoy(Kind::ExtProcL4, &ports, &log);
        let _server = callout("demo-ext-proc-l4-server", ports.ext_proc, "rewrite");

        let mut client = std::net::TcpStream::connect(ports.ingress).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client.write_all(b"Hello, upstream\n").unwrap();
        assert_eq!(envoy::next(&received), b"HELLO, UPSTREAM\n");
        let mut echoed = [0; 64];
        let read = client.read(&mut echoed).unwrap();
        assert_eq!(&echoed[..read], b"hello, upstream\n");

        // `quit` closes the connection: the client reads the end of the stream.
        client.write_all(b"quit\n").unwrap();
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{rest:?}");

        // The callout's dynamic metadata reached Envoy, which logs it as the connection closes.
        let lines = access_log(&log, "rewritten_bytes");
        assert!(
            lines.contains(r#"callout={"rewritten_bytes":16}"#),
            "{lines}"
        );

        let stats = envoy.stats("network_ext_proc.ingress.");
        assert_no_failures(&stats, "network_ext_proc.ingress.");
        // Both chunks reached the callout, and only the first went on: `quit` closed instead.
        assert_eq!(
            stats["network_ext_proc.ingress.read_data_sent"], 2,
            "{stats:#?}"
        );
        assert_eq!(
            stats["network_ext_proc.ingress.read_data_injected"], 1,
            "{stats:#?}"
        );
        assert_eq!(
            stats.get("network_ext_proc.ingress.streams_grpc_error"),
            Some(&0),
            "{stats:#?}"
        );
    }

    /// A callout that is slow, then one killed mid-request, then one restarted, through Envoy:
    /// the slow one is waited for; the request in flight when it is killed fails at once with a
    /// 5xx (the filter does not fail open), as do requests while it is down, and Envoy keeps
    /// serving; back on its address, it is called again.
    #[test]
    fn a_slow_killed_and_restarted_callout_through_envoy() {
        let dir = project(Kind::ExtProc);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let (upstream, _received) = envoy::http_upstream();
        let ports = ports(upstream);
        let _envoy = start_envoy(Kind::ExtProc, &ports);
        let send = move || envoy::request(ports.ingress, "GET", "/", &[], b"").unwrap();

        let server = callout("demo-ext-proc-server", ports.ext_proc, "slow_lookup");
        let started = Instant::now();
        assert_eq!(send().status, 200);
        assert!(started.elapsed() >= Duration::from_millis(1500), "not slow");

        let pending = std::thread::spawn(move || {
            let started = Instant::now();
            (send(), started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(500));
        drop(server); // SIGKILL, mid-lookup
        let (answer, took) = pending.join().unwrap();
        assert!(answer.status >= 500, "{answer:?}");
        assert!(
            took < Duration::from_secs(3),
            "the killed callout's request took {took:?}"
        );
        let down = send();
        assert!(down.status >= 500, "{down:?}");

        let _server = callout("demo-ext-proc-server", ports.ext_proc, "basic");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = send();
            if answer.status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not called again after a restart: {answer:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The same for the network filter: a connection whose callout is killed is closed, not
    /// left hanging, and once the callout is back, a new connection passes its bytes again.
    #[test]
    fn a_killed_and_restarted_tcp_callout_through_envoy() {
        use std::io::{Read as _, Write as _};

        let dir = project(Kind::ExtProcL4);
        run(&mut cargo(&dir, &["build", "--bins"]));
        let (upstream, received) = envoy::tcp_echo_upstream();
        let ports = ports(upstream);
        let _envoy = start_envoy(Kind::ExtProcL4, &ports);
        let server = callout("demo-ext-proc-l4-server", ports.ext_proc, "basic");
        let connect = || {
            let client = std::net::TcpStream::connect(ports.ingress).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            client
        };

        let mut client = connect();
        client.write_all(b"before\n").unwrap();
        assert_eq!(envoy::next(&received), b"before\n");
        drop(server); // SIGKILL, with the connection open
        let _ = client.write_all(b"during\n");
        let mut rest = Vec::new();
        // Closed (or reset) by Envoy, not left waiting on a callout that is gone.
        let started = Instant::now();
        let closed = client.read_to_end(&mut rest);
        assert!(
            !closed
                .as_ref()
                .is_err_and(|err| err.kind() == std::io::ErrorKind::WouldBlock),
            "the connection was left open: {closed:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "closed after {:?}",
            started.elapsed()
        );

        let _server = callout("demo-ext-proc-l4-server", ports.ext_proc, "basic");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut client = connect();
            if client.write_all(b"after\n").is_ok() {
                if let Ok(chunk) = received.recv_timeout(Duration::from_secs(2)) {
                    if chunk == b"after\n" {
                        break;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no bytes pass after the callout restarts"
            );
        }
    }

    /// `EXAMPLE=slow_lookup` through Envoy's network `ext_proc` filter, in front of a server-first
    /// upstream: the greeting reaches the client while the client's first bytes wait out the
    /// slow read, and those bytes still reach the upstream after it.
    #[test]
    fn a_slow_read_does_not_stall_writes_through_envoy() {
        use std::io::{Read as _, Write as _};

        let dir = project(Kind::ExtProcL4);
        run(&mut cargo(&dir, &["build", "--bins"]));
        // The greeting comes a little after the connection, when the client's bytes are
        // already with the callout.
        let (upstream, received) =
            envoy::tcp_greeting_upstream(b"220 ready\n", Duration::from_millis(100));
        let ports = ports(upstream);
        let envoy = start_envoy(Kind::ExtProcL4, &ports);
        let _server = callout("demo-ext-proc-l4-server", ports.ext_proc, "slow_lookup");

        let mut client = std::net::TcpStream::connect(ports.ingress).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let started = Instant::now();
        client.write_all(b"HELO client\n").unwrap();
        let mut greeting = [0; 64];
        let read = client.read(&mut greeting).unwrap();
        let greeted = started.elapsed();
        assert_eq!(&greeting[..read], b"220 ready\n");
        // The slow read takes 500 ms: the greeting must have come back while it was pending.
        assert!(
            received.try_recv().is_err(),
            "the greeting came back only after the read was answered ({greeted:?}): the write \
             waited for the read"
        );
        assert_eq!(envoy::next(&received), b"HELO client\n");
        let forwarded = started.elapsed();
        assert!(
            forwarded >= Duration::from_millis(500),
            "forwarded after {forwarded:?}"
        );

        let stats = envoy.stats("network_ext_proc.ingress.");
        assert_no_failures(&stats, "network_ext_proc.ingress.");
        assert_eq!(
            stats["network_ext_proc.ingress.write_data_sent"], 1,
            "{stats:#?}"
        );
    }
}

mod buf {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        run(Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(args)
            .current_dir(dir));
    }

    /// The generated CI's `buf breaking` step, run as the workflow runs it, in a clone of a
    /// repository whose main branch holds the project as generated.
    #[test]
    fn the_ci_breaking_step_fails_a_change_that_breaks_clients() {
        let root = work_dir().join("buf-breaking");
        if root.exists() {
            std::fs::remove_dir_all(&root).unwrap();
        }
        let origin = root.join("origin");
        crate::support::copy_tree(&project(Kind::Basic), &origin);
        std::fs::remove_dir_all(origin.join("target")).ok();
        git(&origin, &["init", "-q", "-b", "main"]);
        git(&origin, &["add", "-A"]);
        git(&origin, &["commit", "-q", "-m", "generated"]);
        let clone = root.join("clone");
        git(&root, &["clone", "-q", "origin", "clone"]);
        git(&clone, &["checkout", "-q", "-b", "change"]);

        let workflow = std::fs::read_to_string(clone.join(".github/workflows/ci.yml")).unwrap();
        let step = workflow
            .lines()
            .find_map(|line| line.trim().strip_prefix("run: buf breaking"))
            .map(|rest| format!("buf breaking{rest}"))
            .expect("a `buf breaking` step");
        let path = path_with(&tool("buf"));
        let breaking = || {
            Command::new("sh")
                .arg("-c")
                .arg(&step)
                .env("PATH", &path)
                // What Actions sets for a pull request into main.
                .env("GITHUB_BASE_REF", "main")
                .current_dir(&clone)
                .output()
                .unwrap()
        };
        assert!(breaking().status.success(), "no change, nothing broken");

        let proto = clone.join("proto/demo_basic/resource/v1/resource.proto");
        let original = std::fs::read_to_string(&proto).unwrap();
        let added = original.replace(
            "  string etag = 6;\n",
            "  string etag = 6;\n  string owner = 7;\n",
        );
        assert_ne!(added, original);
        std::fs::write(&proto, &added).unwrap();
        let output = breaking();
        assert!(
            output.status.success(),
            "a new field breaks no one: {output:?}"
        );

        let retyped = original.replace("  string display_name = 2;", "  int64 display_name = 2;");
        assert_ne!(retyped, original);
        std::fs::write(&proto, &retyped).unwrap();
        let output = breaking();
        assert!(!output.status.success(), "a changed field type must fail");
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            report.contains(r#"name "display_name" on message "Resource" changed type"#),
            "{report}"
        );
    }

    /// A basic project made by 0.2.0 keeps its protos through `update`, and gets a `buf.yaml`
    /// that lists what its shapes break, so that `buf lint` passes.
    #[test]
    fn an_updated_0_2_0_basic_project_passes_buf_lint() {
        let dir = work_dir().join("buf-upgrade-0.2.0-basic");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        crate::support::copy_tree(&crate::support::fixture("upgrade-0.2.0/basic"), &dir);
        let protos = crate::support::tree(&dir.join("proto"));
        let before: Vec<String> = protos
            .iter()
            .map(|p| std::fs::read_to_string(dir.join("proto").join(p)).unwrap())
            .collect();
        run(Command::new(env!("CARGO_BIN_EXE_grpc-scaffold"))
            .arg("update")
            .current_dir(&dir));
        let after: Vec<String> = protos
            .iter()
            .map(|p| std::fs::read_to_string(dir.join("proto").join(p)).unwrap())
            .collect();
        assert_eq!(before, after, "the protos are the user's");
        let buf_yaml = std::fs::read_to_string(dir.join("buf.yaml")).unwrap();
        for rule in [
            "RPC_REQUEST_STANDARD_NAME",
            "RPC_RESPONSE_STANDARD_NAME",
            "RPC_REQUEST_RESPONSE_UNIQUE",
        ] {
            assert!(buf_yaml.contains(rule), "{rule}:\n{buf_yaml}");
        }
        run(Command::new(tool("buf")).arg("lint").current_dir(&dir));
        // Without the exceptions, the same protos fail: the list is what makes lint pass.
        let strict = buf_yaml.split("  ignore_only:").next().unwrap().to_owned()
            + "breaking:\n  use:\n    - FILE\n";
        std::fs::write(dir.join("buf.yaml"), strict).unwrap();
        let output = Command::new(tool("buf"))
            .arg("lint")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(!output.status.success(), "the old shapes break the rules");
    }
}
