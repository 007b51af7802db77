//! The server core that every kind shares, run for real: the metrics of known calls (and none when
//! they are off), a drain on SIGTERM that no in-flight call notices (with a stream open, and under
//! load), a flood that stays within the Deployment's memory, and a call's span exported over OTLP
//! under the client's trace.

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use grpc_scaffold::Kind;

use crate::generated::{binary, cargo, name, project, Server};
use crate::http;
use crate::support::{peer, run, tool};

/// A secret for the kinds that need one, long enough for all of them.
const SECRET: &str = "a secret of the core tests: well over 32 bytes";

/// The memory limit of the shipped Deployment (`deploy/k8s/deployment.yaml`).
const MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

/// The server of `kind`, built, started with what it needs to start, on free ports.
fn serve(kind: Kind, envs: &[(&str, &str)]) -> Server {
    let dir = project(kind);
    run(&mut cargo(&dir, &["build", "--bins"]));
    let server = binary(&format!("{}-server", name(kind)));
    let mut all: Vec<(&str, String)> = match kind {
        Kind::Extension => {
            run(Command::new(tool("make")).arg("dev-keys").current_dir(&dir));
            let key = dir.join("dev-keys/public.pem");
            vec![
                ("PUBLIC_KEY_FILE", key.to_str().unwrap().to_owned()),
                ("CLIENT_IDS", "1".to_owned()),
            ]
        }
        Kind::Streaming => vec![("JWT_SECRET", SECRET.to_owned())],
        Kind::Tyk => vec![("HMAC_KEYS", format!("client-1={SECRET}"))],
        Kind::ExtProc | Kind::ExtProcL4 => vec![("TLS_LISTEN", "off".to_owned())],
        _ => Vec::new(),
    };
    all.extend(envs.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match kind {
        Kind::ExtProc | Kind::ExtProcL4 => {
            Server::start_at(&server, "PLAINTEXT_LISTEN", http::free_port(), &all)
        }
        _ => Server::start(&server, &all),
    }
}

/// The value of the metric line that starts with `series` (name and labels), if any.
fn metric(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

fn health_check(server: &Server, service: &str) -> std::process::Output {
    Command::new(tool("grpcurl"))
        .args([
            "-plaintext",
            "-d",
            &format!(r#"{{"service": "{service}"}}"#),
        ])
        .arg(server.address.to_string())
        .arg("grpc.health.v1.Health/Check")
        .output()
        .unwrap()
}

/// Two health checks that pass and one of a service that does not exist, then `/metrics`.
fn known_calls_are_counted(kind: Kind) {
    let server = serve(kind, &[]);
    for _ in 0..2 {
        let checked = health_check(&server, "");
        assert!(checked.status.success(), "{checked:?}");
    }
    let missing = health_check(&server, "no.such.Service");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("Code: NotFound"), "{stderr}");

    let metrics = http::get(server.admin, "/metrics", &[]).text();
    let labels = r#"grpc_service="grpc.health.v1.Health",grpc_method="Check""#;
    let value = |name: &str, extra: &str| metric(&metrics, &format!("{name}{{{labels}{extra}}}"));
    assert_eq!(
        value("grpc_server_started_total", ""),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        value("grpc_server_handled_total", r#",grpc_code="Ok""#),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        value("grpc_server_handled_total", r#",grpc_code="NotFound""#),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(value("grpc_server_in_flight", ""), Some(0.0), "{metrics}");
    assert_eq!(
        value("grpc_server_handling_seconds_count", ""),
        Some(3.0),
        "{metrics}"
    );

    let (status, logs) = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}\n{logs}");
}

/// What a broken or hostile client sends (`peers/hostile.py`): bytes that are not protobuf, a
/// truncated message, a length prefix that lies, a compressed flag with no compression, a wrong
/// content type, a `grpc-timeout` that does not parse and one of 1 ns, 64 KiB of metadata and
/// 10,000 entries, a stream reset and a connection dropped mid-call, streams the client never
/// reads, 5,000 idle connections, and a client that sends a byte a second. Each gets a status
/// (or a closed stream or connection), a normal call then succeeds, and the server's memory is
/// back within 10% of its level before, or does not rise with every round of a fault that runs
/// more than twice; the server then drains and exits 0.
fn hostile_traffic_is_answered_and_forgotten(kind: Kind) {
    let server = serve(kind, &[]);
    let output = run(peer("hostile.py", &["h2"])
        .arg(server.address.to_string())
        .arg(server.pid().to_string()));
    // One line per fault, for the README's reliability table.
    print!("{}", String::from_utf8_lossy(&output.stdout));
    let (status, logs) = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}\n{logs}");
}

macro_rules! every_kind {
    ($($module:ident: $kind:expr,)*) => {$(
        mod $module {
            #[test]
            fn known_calls_are_counted_in_metrics() {
                super::known_calls_are_counted($kind);
            }

            #[test]
            fn hostile_traffic_is_answered_and_forgotten() {
                super::hostile_traffic_is_answered_and_forgotten($kind);
            }
        }
    )*};
}

every_kind! {
    basic: grpc_scaffold::Kind::Basic,
    custom: grpc_scaffold::Kind::Custom,
    extension: grpc_scaffold::Kind::Extension,
    streaming: grpc_scaffold::Kind::Streaming,
    tyk: grpc_scaffold::Kind::Tyk,
    ext_proc: grpc_scaffold::Kind::ExtProc,
    ext_proc_l4: grpc_scaffold::Kind::ExtProcL4,
}

/// With `METRICS=false`, calls are served and `/metrics` answers 404.
#[test]
fn metrics_can_be_turned_off() {
    let server = serve(Kind::Basic, &[("METRICS", "false")]);
    let checked = health_check(&server, "");
    assert!(checked.status.success(), "{checked:?}");
    let metrics = http::get(server.admin, "/metrics", &[]);
    assert_eq!(metrics.status, 404, "{}", metrics.text());
    let (status, logs) = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}\n{logs}");
}

/// SIGTERM while a stream is open: the server reports `NOT_SERVING` at once, still takes new
/// connections for the drain delay and refuses them after it, the stream ends whole, and the
/// exit status is 0.
#[test]
fn sigterm_drains_without_failing_a_call_in_flight() {
    let server = serve(
        Kind::Streaming,
        &[
            ("STREAM_MESSAGES", "10"),
            ("STREAM_INTERVAL_MS", "200"),
            ("DRAIN_DELAY_SECS", "2"),
            ("SHUTDOWN_GRACE_SECS", "10"),
        ],
    );
    let client = Command::new(binary("demo-streaming-client"))
        .args(["--server", &format!("http://{}", server.address), "Alice"])
        .env("JWT_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let metrics = http::get(server.admin, "/metrics", &[]).text();
    assert_eq!(
        metric(&metrics, "streaming_open_streams"),
        Some(1.0),
        "{metrics}"
    );
    let signalled = Instant::now();
    server.signal_term();

    std::thread::sleep(Duration::from_millis(300));
    let ready = http::get(server.admin, "/readyz", &[]);
    assert_eq!(ready.status, 503, "{}", ready.text());
    let during = health_check(&server, "");
    assert!(
        during.status.success(),
        "a new connection within the drain delay: {during:?}"
    );

    std::thread::sleep(Duration::from_millis(2500).saturating_sub(signalled.elapsed()));
    assert!(
        TcpStream::connect(server.address).is_err(),
        "a new connection was accepted after the drain delay"
    );

    let streamed = client.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&streamed.stdout);
    assert!(
        streamed.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&streamed.stderr)
    );
    assert!(
        stdout.contains("Hello Alice, this is message 10"),
        "{stdout}"
    );
    let (status, logs) = server.wait(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}\n{logs}");
}

/// SIGTERM while a load generator keeps 16 connections busy with unary calls: calls still succeed
/// during the drain delay, none that reached the server fails, new connections are refused after
/// the delay, and the exit status is 0.
#[test]
fn sigterm_under_load_fails_no_call() {
    let server = serve(
        Kind::Basic,
        &[("DRAIN_DELAY_SECS", "2"), ("SHUTDOWN_GRACE_SECS", "10")],
    );
    let method = format!(
        "/{}.greeting.v1.GreetingService/SayHello",
        name(Kind::Basic).replace('-', "_")
    );
    let mut load = peer("load.py", &["grpc"])
        .args([&server.address.to_string(), &method, "16", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(load.stdout.take().unwrap());
    let mut started = String::new();
    stdout.read_line(&mut started).unwrap();
    assert_eq!(started.trim(), "started");
    std::thread::sleep(Duration::from_secs(1));
    let signalled = SystemTime::now();
    server.signal_term();

    let (status, logs) = server.wait(Duration::from_secs(15));
    let report: String = stdout
        .lines()
        .map_while(Result::ok)
        .collect::<Vec<_>>()
        .join("\n");
    let finished = load.wait_with_output().unwrap();
    assert!(
        finished.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    assert!(status.success(), "exit status {status}\n{logs}");
    let outcome = |name: &str| -> (u64, f64) {
        let line = report
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no `{name}` line in:\n{report}"));
        let fields: Vec<&str> = line.split(' ').collect();
        (fields[1].parse().unwrap(), fields[2].parse().unwrap())
    };
    let (failed, _) = outcome("failed");
    assert_eq!(
        failed, 0,
        "calls that reached the server failed:\n{report}\n{logs}"
    );
    let signalled = signalled.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let (ok, last_ok) = outcome("ok");
    assert!(
        ok > 0 && last_ok > signalled + 1.5,
        "calls stopped succeeding before the end of the drain delay:\n{report}"
    );
    let (refused, _) = outcome("refused");
    assert!(
        refused > 0,
        "no new connection was refused after the drain delay:\n{report}"
    );
}

/// 200 unauthenticated calls at the receive limit at once, on one connection, against the
/// extension: its memory stays under the Deployment's limit, and a call with a valid token,
/// made during the flood, succeeds. The queue's wait is raised so that no call is shed with
/// `RESOURCE_EXHAUSTED`: all 200 are held at once, the worst case for memory.
#[test]
fn a_flood_at_the_receive_limit_stays_within_the_memory_limit() {
    let server = serve(Kind::Extension, &[("MAX_QUEUE_WAIT_MS", "300000")]);
    let dir = project(Kind::Extension);
    let token = run(Command::new(binary("demo-extension-token")).current_dir(&dir));
    let token = String::from_utf8(token.stdout).unwrap();
    let output =
        run(peer("flood.py", &["grpc"]).args([&server.address.to_string(), token.trim(), "200"]));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("authenticated: OK"), "{report}");
    assert!(report.contains("flood: 200 UNAUTHENTICATED"), "{report}");
    let metrics = http::get(server.admin, "/metrics", &[]).text();
    let misses = metric(&metrics, "token_cache_misses_total").unwrap_or_default();
    assert!(
        misses >= 1.0,
        "the valid token was not looked up in the cache:\n{metrics}"
    );
    let peak = server.peak_rss();
    assert!(
        peak < MEMORY_LIMIT,
        "peak RSS {} MiB is over the Deployment's {} MiB",
        peak >> 20,
        MEMORY_LIMIT >> 20
    );
    let (status, logs) = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}\n{logs}");
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a receiver of the test's own, a health check
/// that carries a `traceparent` gets a server span in that trace, a child of the client's span,
/// exported by the time the server exits on SIGTERM.
#[test]
fn a_calls_span_is_exported_under_the_clients_trace() {
    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT_ID: &str = "00f067aa0ba902b7";
    // Build first: the receiver stops by itself after two minutes, and a cold build takes longer.
    run(&mut cargo(&project(Kind::Basic), &["build", "--bins"]));
    let mut receiver = peer("otlp_receiver.py", &["grpc"])
        .arg("120")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Its lines, read on a thread of their own so that every wait below can be bounded.
    let (lines, arrivals) = mpsc::channel();
    let stdout = receiver.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let first = arrivals.recv_timeout(Duration::from_secs(30));
    let port = first
        .as_deref()
        .ok()
        .and_then(|line| line.strip_prefix("listening "))
        .unwrap_or_else(|| panic!("the receiver did not start: {first:?}"))
        .to_owned();

    let endpoint = format!("http://127.0.0.1:{port}");
    let server = serve(
        Kind::Basic,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_SERVICE_NAME", "demo-basic-test"),
        ],
    );
    let checked = Command::new(tool("grpcurl"))
        .args(["-plaintext", "-H"])
        .arg(format!("traceparent: 00-{TRACE_ID}-{PARENT_ID}-01"))
        .arg(server.address.to_string())
        .arg("grpc.health.v1.Health/Check")
        .output()
        .unwrap();
    assert!(checked.status.success(), "{checked:?}");
    let (status, logs) = server.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}\n{logs}");

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut spans = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = arrivals.recv_timeout(left) else {
            break None;
        };
        let span: serde_json::Value = serde_json::from_str(&line).unwrap();
        if span["trace_id"] == TRACE_ID {
            break Some(span);
        }
        spans.push(span);
    };
    let _ = receiver.kill();
    let _ = receiver.wait();
    let span = found.unwrap_or_else(|| {
        panic!("no span of trace {TRACE_ID} arrived; other spans: {spans:?}\n{logs}")
    });
    assert_eq!(span["parent_span_id"], PARENT_ID, "{span}");
    assert_eq!(span["kind"], 2, "a server span: {span}");
    assert_eq!(span["name"], "grpc.health.v1.Health/Check", "{span}");
}
