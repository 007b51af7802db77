//! The tyk kind behind a real Tyk Gateway (OSS v5.8.1, which `scripts/tyk-gateway.sh` builds):
//! the generated plugin, the generated `tyk/tyk.conf` and `tyk/apps/` with only their hosts,
//! ports and paths moved to loopback, a Redis of each test's own, and an upstream that records
//! what reaches it. Every hook is seen at work through the Classic and the OAS API definitions,
//! and so are the failures a user meets: a stopped plugin, a failing hook, a body over the
//! plugin's limit.
//!
//! Beside the shipped APIs, each gateway serves two that only the tests write: a keyless API with
//! no plugin, to show that the gateway keeps serving what does not need the plugin, and a copy of
//! the Classic API whose `config_data` makes the Pre hook fail.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{mpsc, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use grpc_scaffold::Kind;
use hmac::{Hmac, Mac as _};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::generated::{cargo, name, project};
use crate::http::{self, free_port, Message, HOST, PATIENCE, UPSTREAM_COOKIES};
use crate::support::{run, tool, work_dir};

/// The gateway's API secret (`x-tyk-authorization`).
const GATEWAY_SECRET: &str = "the gateway secret of the tests";

/// The hooks of the shipped API definitions, by hook type and name, in the order they run.
const HOOKS: [(&str, &str); 5] = [
    ("Pre", "MyPrePluginMiddleware"),
    ("CustomKeyCheck", "MyAuthCheck"),
    ("PostKeyAuth", "MyPostKeyAuth"),
    ("Post", "MyPostMiddleware"),
    ("Response", "MyResponseMiddleware"),
];

/// An API that the gateway serves, by its id and listen path.
#[derive(Debug, Clone, Copy)]
struct Api {
    id: &'static str,
    listen_path: &'static str,
}

impl Api {
    /// A request target under the API's listen path.
    fn path(self, rest: &str) -> String {
        format!("{}{rest}", self.listen_path)
    }
}

/// `tyk/apps/classic.json`.
const CLASSIC: Api = Api {
    id: "petstore-classic",
    listen_path: "/petstore-classic/",
};
/// `tyk/apps/oas-oas.json`, which the gateway loads through `tyk/apps/oas.json`.
const OAS: Api = Api {
    id: "petstore-oas",
    listen_path: "/petstore/",
};
/// The shipped APIs, which go through the plugin.
const PLUGIN_APIS: [Api; 2] = [CLASSIC, OAS];
/// Written by the tests: keyless, without the plugin.
const KEYLESS: Api = Api {
    id: "keyless",
    listen_path: "/keyless/",
};
/// Written by the tests: `classic.json` with `config_data: {"tag": 42}`, which the Pre hook
/// refuses.
const FAILING: Api = Api {
    id: "petstore-failing",
    listen_path: "/petstore-failing/",
};

/// The target, under each API, of the requests that should pass.
const PETS: &str = "pet/findByStatus?status=sold";

/// A signing key of the plugin's `HMAC_KEYS`, or one that it does not know.
#[derive(Debug, Clone, Copy)]
struct Key {
    id: &'static str,
    secret: &'static str,
}

const CLIENT_1: Key = Key {
    id: "client-1",
    secret: "client-1-secret-of-at-least-32-bytes",
};
const CLIENT_2: Key = Key {
    id: "client-2",
    secret: "client-2-secret-of-at-least-32-bytes",
};
/// A key id that the plugin does not know.
const STRANGER: Key = Key {
    id: "client-9",
    secret: CLIENT_1.secret,
};
/// A known key id with the wrong secret.
const IMPOSTOR: Key = Key {
    id: CLIENT_1.id,
    secret: "not-the-secret-of-client-1-though-long",
};

/// What a signature covers when it covers what the plugin requires.
const COVERED: [&str; 3] = ["(request-target)", "host", "date"];

/// The plugin's `HMAC_KEYS`.
fn hmac_keys() -> String {
    [CLIENT_1, CLIENT_2]
        .map(|key| format!("{}={}", key.id, key.secret))
        .join(",")
}

type Headers = Vec<(String, String)>;

impl Key {
    /// The headers of a request signed now over `(request-target) host date`, and `digest` when
    /// there is a body: `Date`, `Digest` if so, and `Authorization`.
    fn sign(self, method: &str, target: &str, body: &[u8]) -> Headers {
        let mut covered = COVERED.to_vec();
        if !body.is_empty() {
            covered.push("digest");
        }
        self.sign_over(&covered, SystemTime::now(), method, target, body)
    }

    /// The headers of a request signed at `date` over the header names `covered`, as
    /// draft-cavage-http-signatures-12 says: one `name: value` line for each, in order.
    fn sign_over(
        self,
        covered: &[&str],
        date: SystemTime,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> Headers {
        let date = httpdate::fmt_http_date(date);
        let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
        let line = |name: &str| match name {
            "(request-target)" => format!("{name}: {} {target}", method.to_ascii_lowercase()),
            "host" => format!("host: {HOST}"),
            "date" => format!("date: {date}"),
            "digest" => format!("digest: {digest}"),
            other => panic!("the tests do not sign `{other}`"),
        };
        let signing_string = covered.iter().map(|name| line(name)).collect::<Vec<_>>();
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(signing_string.join("\n").as_bytes());
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        let authorization = format!(
            r#"Signature keyId="{}",algorithm="hmac-sha256",headers="{}",signature="{signature}""#,
            self.id,
            covered.join(" ")
        );
        let mut headers = vec![("Date".to_owned(), date)];
        if !body.is_empty() {
            headers.push(("Digest".to_owned(), digest));
        }
        headers.push(("Authorization".to_owned(), authorization));
        headers
    }
}

/// `headers` with `from` replaced by `to` in the value of `name`, which must contain it.
fn tampered(mut headers: Headers, name: &str, from: &str, to: &str) -> Headers {
    let (_, value) = headers
        .iter_mut()
        .find(|(header, _)| header == name)
        .unwrap_or_else(|| panic!("no {name} header to tamper with"));
    assert!(value.contains(from), "`{from}` is not in `{value}`");
    *value = value.replace(from, to);
    headers
}

/// `headers` without `name`.
fn without(mut headers: Headers, name: &str) -> Headers {
    headers.retain(|(header, _)| header != name);
    headers
}

/// A child process whose output goes to a log file, killed when dropped.
struct Process {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &'static str, command: &mut Command, log: PathBuf) -> Self {
        let file = File::create(&log).unwrap();
        let child = command
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|err| panic!("failed to start {name}: {err}"));
        Self { name, child, log }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait until `ready`; fail, with the logs, if the process exits first or takes too long.
    fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "{} exited with {status} before {what}:\n{}",
                    self.name,
                    self.logs()
                );
            }
            if ready() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} was not {what} within {PATIENCE:?}:\n{}",
                self.name,
                self.logs()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for_port(&mut self, address: SocketAddr) {
        self.wait_until(&format!("listening on {address}"), || {
            TcpStream::connect(address).is_ok()
        });
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The plugin's release binary, built once per test run.
fn plugin_binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        run(&mut cargo(
            &project(Kind::Tyk),
            &["build", "--release", "--bins"],
        ));
        work_dir()
            .join("generated-target/release")
            .join(format!("{}-server", name(Kind::Tyk)))
    })
}

/// The generated plugin, with the tests' keys and a metrics listener.
struct Plugin {
    process: Process,
    admin: SocketAddr,
}

impl Plugin {
    fn start(dir: &Path, address: SocketAddr, envs: &[(&str, &str)]) -> Self {
        let admin = free_port();
        let mut command = Command::new(plugin_binary());
        command
            .env("LISTEN_ADDR", address.to_string())
            .env("ADMIN_LISTEN_ADDR", admin.to_string())
            .env("HMAC_KEYS", hmac_keys())
            .env("RUST_LOG", "info")
            .env("SHUTDOWN_GRACE_SECS", "1")
            .envs(envs.iter().copied());
        let mut process = Process::spawn("the plugin", &mut command, dir.join("plugin.log"));
        process.wait_for_port(address);
        process.wait_for_port(admin);
        Self { process, admin }
    }

    fn metrics(&self) -> Metrics {
        Metrics(http::get(self.admin, "/metrics", &[]).text())
    }
}

/// Prometheus metrics, in the text format.
struct Metrics(String);

/// One sample of a counter: `name{label="value",...} value`.
struct Sample<'a> {
    name: &'a str,
    labels: Vec<(&'a str, String)>,
    value: u64,
}

impl Metrics {
    /// The sum of the counters `name` whose labels include all of `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(Sample::parse)
            .filter(|sample| sample.name == name && labels.iter().all(|label| sample.has(label)))
            .map(|sample| sample.value)
            .sum()
    }

    fn dispatches(&self, (hook_type, hook_name): (&str, &str)) -> u64 {
        self.sum(
            "tyk_dispatches_total",
            &[("hook_type", hook_type), ("hook_name", hook_name)],
        )
    }

    fn auth_failure_events(&self) -> u64 {
        self.sum(
            "tyk_events_total",
            &[("handler", "MyEventHandler"), ("event", "AuthFailure")],
        )
    }
}

impl<'a> Sample<'a> {
    /// A sample line; `None` for anything else, or a value that is not a whole number.
    fn parse(line: &'a str) -> Option<Self> {
        let line = line.trim();
        let (name, mut rest) = line.split_at(line.find(['{', ' '])?);
        let mut labels = Vec::new();
        if let Some(inner) = rest.strip_prefix('{') {
            rest = inner;
            loop {
                rest = rest.trim_start_matches(',');
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (label, after) = rest.split_once("=\"")?;
                let (value, after) = quoted(after)?;
                labels.push((label.trim(), value));
                rest = after;
            }
        }
        let value = rest.split_whitespace().next()?.parse().ok()?;
        Some(Self {
            name,
            labels,
            value,
        })
    }

    fn has(&self, (key, value): &(&str, &str)) -> bool {
        self.labels.iter().any(|(k, v)| k == key && v == value)
    }
}

/// A label value up to its closing quote, unescaped, and the text after that quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    loop {
        match chars.next()? {
            (at, '"') => return Some((value, &text[at + 1..])),
            (_, '\\') => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            (_, other) => value.push(other),
        }
    }
}

/// The JSON file at `path`.
fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// Set the field at `pointer`, which the document must already have.
fn set(document: &mut Value, pointer: &str, value: impl Into<Value>) {
    let field = document.pointer_mut(pointer);
    *field.unwrap_or_else(|| panic!("the document has no `{pointer}`")) = value.into();
}

/// `url` with its scheme, host and port those of the plain HTTP `address`, and its path kept.
fn on_loopback(url: &Value, address: SocketAddr) -> String {
    let url = url.as_str().expect("a URL is a string");
    let (_, rest) = url.split_once("://").expect("a URL has a scheme");
    let path = rest.find('/').map_or("", |at| &rest[at..]);
    format!("http://{address}{path}")
}

/// The generated `tyk/tyk.conf`, for a gateway on `gateway` with Redis on `redis`, the plugin on
/// `plugin` and the API definitions in `apps`.
fn gateway_config(
    project: &Path,
    apps: &Path,
    gateway: SocketAddr,
    redis: SocketAddr,
    plugin: SocketAddr,
) -> Value {
    let mut conf = read_json(&project.join("tyk/tyk.conf"));
    let templates = tool("tyk-gateway").parent().unwrap().join("templates");
    set(&mut conf, "/listen_port", gateway.port());
    set(&mut conf, "/secret", GATEWAY_SECRET);
    set(&mut conf, "/template_path", templates.to_str().unwrap());
    set(&mut conf, "/app_path", apps.to_str().unwrap());
    set(&mut conf, "/storage/host", redis.ip().to_string());
    set(&mut conf, "/storage/port", redis.port());
    set(
        &mut conf,
        "/coprocess_options/coprocess_grpc_server",
        format!("tcp://{plugin}"),
    );
    conf
}

/// The generated API definitions, with `upstream` for their upstream, and the tests' own two.
fn write_apps(project: &Path, apps: &Path, upstream: SocketAddr) {
    let shipped = project.join("tyk/apps");
    let mut classic = read_json(&shipped.join("classic.json"));
    let target = on_loopback(&classic["proxy"]["target_url"], upstream);
    set(&mut classic, "/proxy/target_url", target);
    write_json(&apps.join("classic.json"), &classic);

    let mut oas = read_json(&shipped.join("oas.json"));
    let target = on_loopback(&oas["proxy"]["target_url"], upstream);
    set(&mut oas, "/proxy/target_url", target);
    write_json(&apps.join("oas.json"), &oas);
    let mut document = read_json(&shipped.join("oas-oas.json"));
    let pointer = "/x-tyk-api-gateway/upstream/url";
    let target = on_loopback(
        &document.pointer(pointer).cloned().unwrap_or_default(),
        upstream,
    );
    set(&mut document, pointer, target);
    write_json(&apps.join("oas-oas.json"), &document);

    let mut failing = classic;
    set(&mut failing, "/api_id", FAILING.id);
    set(&mut failing, "/name", "A hook that fails");
    set(&mut failing, "/proxy/listen_path", FAILING.listen_path);
    set(&mut failing, "/config_data/tag", 42);
    write_json(&apps.join("failing.json"), &failing);

    let keyless = json!({
        "name": "Keyless, without the plugin",
        "api_id": KEYLESS.id,
        "org_id": "default",
        "active": true,
        "use_keyless": true,
        "proxy": {
            "listen_path": KEYLESS.listen_path,
            "target_url": format!("http://{upstream}/"),
            "strip_listen_path": true,
        },
        "version_data": {
            "not_versioned": true,
            "versions": {"Default": {"name": "Default", "use_extended_paths": true}},
        },
    });
    write_json(&apps.join("keyless.json"), &keyless);
}

/// The API ids that the gateway on `address` has loaded, once its control API answers.
fn loaded_apis(address: SocketAddr) -> Option<Vec<String>> {
    let response = http::try_get(
        address,
        "/tyk/apis",
        &[("x-tyk-authorization", GATEWAY_SECRET)],
    )
    .ok()?;
    let apis: Value = serde_json::from_slice(&response.body).ok()?;
    let ids = apis
        .as_array()?
        .iter()
        .filter_map(|api| api["api_id"].as_str());
    Some(ids.map(str::to_owned).collect())
}

/// A Redis of its own on `address`, which keeps nothing on disk.
fn start_redis(dir: &Path, address: SocketAddr) -> Process {
    let mut redis = Process::spawn(
        "Redis",
        Command::new(tool("redis-server"))
            .args(["--port", &address.port().to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(dir),
        dir.join("redis.log"),
    );
    redis.wait_for_port(address);
    redis
}

/// The gateway with the config file `conf`, once it serves every one of `apis`.
fn start_gateway(conf: &Path, address: SocketAddr, apis: &[Api]) -> Process {
    let dir = conf.parent().unwrap();
    let mut gateway = Process::spawn(
        "the gateway",
        Command::new(tool("tyk-gateway"))
            .arg("--conf")
            .arg(conf)
            .current_dir(dir),
        dir.join("gateway.log"),
    );
    gateway.wait_until("serving every API", || {
        loaded_apis(address)
            .is_some_and(|loaded| apis.iter().all(|api| loaded.iter().any(|id| id == api.id)))
    });
    gateway
}

/// Which API definitions a [`Stack`] starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Apps {
    /// The shipped ones, the keyless one and the failing one.
    All,
    /// None: the app directory is empty.
    None,
}

/// Redis, the plugin and a gateway, each on free loopback ports, and the recording upstream.
/// Dropped, it stops them all; dropped by a failing test, it prints their logs first.
struct Stack {
    gateway: Process,
    plugin: Option<Plugin>,
    redis: Process,
    address: SocketAddr,
    upstream: mpsc::Receiver<Message>,
    apps: PathBuf,
    _dir: tempfile::TempDir,
}

impl Stack {
    /// Everything, with the plugin's environment extended by `envs`.
    fn start(envs: &[(&str, &str)]) -> Self {
        Self::start_with(envs, Apps::All)
    }

    fn start_with(envs: &[(&str, &str)], apps: Apps) -> Self {
        // Build the plugin first: nothing should be waiting on a port meanwhile.
        plugin_binary();
        let project = project(Kind::Tyk);
        let dir = tempfile::Builder::new()
            .prefix("tyk-gateway-")
            .tempdir_in(work_dir())
            .unwrap();
        let (upstream, received) = http::http_upstream();
        let (redis_address, plugin_address, address) = (free_port(), free_port(), free_port());
        let redis = start_redis(dir.path(), redis_address);
        let plugin = Plugin::start(dir.path(), plugin_address, envs);

        let app_dir = dir.path().join("apps");
        std::fs::create_dir(&app_dir).unwrap();
        let mut expected = Vec::new();
        if apps == Apps::All {
            write_apps(&project, &app_dir, upstream);
            expected = vec![CLASSIC, OAS, KEYLESS, FAILING];
        }
        let conf = dir.path().join("tyk.conf");
        let config = gateway_config(&project, &app_dir, address, redis_address, plugin_address);
        write_json(&conf, &config);
        let gateway = start_gateway(&conf, address, &expected);
        Self {
            gateway,
            plugin: Some(plugin),
            redis,
            address,
            upstream: received,
            apps: app_dir,
            _dir: dir,
        }
    }

    /// A request through the gateway: its response, and the request that reached the upstream,
    /// if one did. The upstream reports a request before it answers it, so by the time the
    /// response is here, the report is too.
    fn exchange(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (Message, Option<Message>) {
        while self.upstream.try_recv().is_ok() {}
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let response = http::request(self.address, method, target, &headers, body)
            .unwrap_or_else(|err| panic!("{method} {target}: {err}"));
        (response, self.upstream.try_recv().ok())
    }

    /// A request signed by `key`.
    fn signed(
        &self,
        key: Key,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> (Message, Option<Message>) {
        self.exchange(method, target, &key.sign(method, target, body), body)
    }

    /// A signed request that must pass: what reached the upstream, and the response.
    fn passes(&self, key: Key, method: &str, target: &str, body: &[u8]) -> (Message, Message) {
        let (response, seen) = self.signed(key, method, target, body);
        assert_eq!(response.status, 200, "{method} {target}: {response:?}");
        let seen = seen.unwrap_or_else(|| panic!("{method} {target} did not reach the upstream"));
        (seen, response)
    }

    fn plugin(&self) -> &Plugin {
        self.plugin.as_ref().expect("the plugin is running")
    }

    fn metrics(&self) -> Metrics {
        self.plugin().metrics()
    }

    fn stop_plugin(&mut self) {
        drop(self.plugin.take());
    }

    /// A request to the gateway's control API, with its secret. The body must be sent as JSON:
    /// the gateway reads form values first, and would take a form's body for its own.
    fn control(&self, method: &str, path: &str, body: &Value) -> Message {
        let headers = [
            ("x-tyk-authorization", GATEWAY_SECRET),
            ("content-type", "application/json"),
        ];
        let body = body.to_string();
        http::request(self.address, method, path, &headers, body.as_bytes())
            .unwrap_or_else(|err| panic!("{method} {path}: {err}"))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- the gateway's log\n{}", self.gateway.logs());
            if let Some(plugin) = &self.plugin {
                eprintln!("--- the plugin's log\n{}", plugin.process.logs());
            }
            eprintln!("--- Redis's log\n{}", self.redis.logs());
        }
    }
}

/// The `error` of one of the gateway's JSON error bodies, `{"error": "..."}`.
fn error_of(response: &Message) -> String {
    let body: Value = serde_json::from_slice(&response.body)
        .unwrap_or_else(|err| panic!("not a JSON error body ({err}): {response:?}"));
    body["error"].as_str().unwrap_or_default().to_owned()
}

/// The gateway's own answer to a request that did not reach the upstream.
fn assert_refused(
    (response, seen): &(Message, Option<Message>),
    status: u16,
    error: &str,
    what: &str,
) {
    assert_eq!(response.status, status, "{what}: {response:?}");
    assert_eq!(error_of(response), error, "{what}: {response:?}");
    assert!(seen.is_none(), "{what} reached the upstream: {seen:?}");
}

/// The path and the query parameters of the request line of `seen`.
fn target_of(seen: &Message) -> (String, Vec<String>) {
    let target = seen.start.split(' ').nth(1).unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params: Vec<String> = query.split('&').map(str::to_owned).collect();
    params.sort();
    (path.to_owned(), params)
}

#[test]
fn the_pre_hook_tags_what_reaches_the_upstream() {
    let stack = Stack::start(&[]);
    for api in PLUGIN_APIS {
        let (seen, _) = stack.passes(CLIENT_1, "GET", &api.path(PETS), b"");
        assert_eq!(seen.header("x-plugin"), Some("rust"), "{api:?}: {seen:?}");
        assert_eq!(
            target_of(&seen),
            (
                "/api/v3/pet/findByStatus".to_owned(),
                vec!["plugin=rust".to_owned(), "status=sold".to_owned()]
            ),
            "{api:?}"
        );
    }
}

#[test]
fn custom_auth_passes_signed_requests_and_refuses_the_rest() {
    let stack = Stack::start(&[]);
    for api in PLUGIN_APIS {
        stack.passes(CLIENT_1, "GET", &api.path(PETS), b"");
        let (seen, _) = stack.passes(CLIENT_2, "POST", &api.path("pet"), PET);
        assert_eq!(seen.body, PET);

        for refused in refusals(api) {
            let what = format!("{api:?}, {}", refused.what);
            let (response, seen) = stack.exchange(
                refused.method,
                &refused.target,
                &refused.headers,
                refused.body,
            );
            assert_eq!(response.status, refused.status, "{what}: {response:?}");
            assert!(!error_of(&response).is_empty(), "{what}: {response:?}");
            assert!(seen.is_none(), "{what}: reached the upstream");
            if refused.status == 401 {
                assert_challenge(api, &response);
            }
        }
    }
}

/// The body of the signed POSTs.
const PET: &[u8] = br#"{"name": "Rex"}"#;

/// A request that the plugin must refuse, what is wrong with it, and the status it must get.
struct Refused {
    what: &'static str,
    method: &'static str,
    target: String,
    body: &'static [u8],
    headers: Headers,
    status: u16,
}

/// Missing, wrong and stale credentials (401), and malformed ones (400), for `api`.
fn refusals(api: Api) -> Vec<Refused> {
    let (pets, pet) = (api.path(PETS), api.path("pet"));
    let get = |what, headers, status| Refused {
        what,
        method: "GET",
        target: pets.clone(),
        body: b"",
        headers,
        status,
    };
    let post = |what, headers, status| Refused {
        what,
        method: "POST",
        target: pet.clone(),
        body: PET,
        headers,
        status,
    };
    let signed_get = || CLIENT_1.sign("GET", &pets, b"");
    let signed_post = || CLIENT_1.sign("POST", &pet, PET);
    let (now, an_hour_ago) = (
        SystemTime::now(),
        SystemTime::now() - Duration::from_secs(3600),
    );
    vec![
        get("no Authorization", Headers::new(), 401),
        get("no Date", without(signed_get(), "Date"), 401),
        get("a wrong signature", IMPOSTOR.sign("GET", &pets, b""), 401),
        get("an unknown keyId", STRANGER.sign("GET", &pets, b""), 401),
        get(
            "a Date an hour old",
            CLIENT_1.sign_over(&COVERED, an_hour_ago, "GET", &pets, b""),
            401,
        ),
        get(
            "another scheme",
            tampered(signed_get(), "Authorization", "Signature ", "Basic "),
            400,
        ),
        get(
            "a signature not in base64",
            tampered(
                signed_get(),
                "Authorization",
                "signature=\"",
                "signature=\"%",
            ),
            400,
        ),
        get(
            "an unknown algorithm",
            tampered(signed_get(), "Authorization", "hmac-sha256", "hmac-md5"),
            400,
        ),
        get(
            "no keyId",
            tampered(signed_get(), "Authorization", "keyId=\"client-1\",", ""),
            400,
        ),
        get(
            "the host left unsigned",
            CLIENT_1.sign_over(&["(request-target)", "date"], now, "GET", &pets, b""),
            400,
        ),
        post(
            "a body with its digest left unsigned",
            CLIENT_1.sign_over(&COVERED, now, "POST", &pet, PET),
            400,
        ),
        post(
            "a Digest of another algorithm",
            tampered(signed_post(), "Digest", "SHA-256=", "MD5="),
            400,
        ),
    ]
}

/// A 401 names the API it came from, so the Classic and OAS APIs are told apart.
fn assert_challenge(api: Api, response: &Message) {
    assert_eq!(
        response.header("www-authenticate"),
        Some(
            format!(
                r#"Signature realm="{}",headers="(request-target) host date digest""#,
                api.id
            )
            .as_str()
        ),
        "{response:?}"
    );
}

#[test]
fn a_captured_signature_does_not_pass_for_another_request() {
    let stack = Stack::start(&[]);
    for api in PLUGIN_APIS {
        let (pets, pet) = (api.path(PETS), api.path("pet"));
        let get = CLIENT_1.sign("GET", &pets, b"");
        let post = CLIENT_1.sign("POST", &pet, PET);
        // Each passes for the request it signs...
        assert_eq!(stack.exchange("GET", &pets, &get, b"").0.status, 200);
        assert_eq!(stack.exchange("POST", &pet, &post, PET).0.status, 200);
        // ...and for no other.
        let replays: [(&str, &str, String, &Headers, &[u8]); 5] = [
            ("another method", "DELETE", pets.clone(), &get, b""),
            (
                "another path",
                "GET",
                api.path("store/inventory"),
                &get,
                b"",
            ),
            (
                "another query",
                "GET",
                api.path("pet/findByStatus?status=available"),
                &get,
                b"",
            ),
            (
                "another body",
                "POST",
                pet.clone(),
                &post,
                br#"{"name": "Max"}"#,
            ),
            ("no body", "POST", pet.clone(), &post, b""),
        ];
        for (what, method, target, headers, body) in replays {
            let (response, seen) = stack.exchange(method, &target, headers, body);
            assert_eq!(response.status, 401, "{api:?}, {what}: {response:?}");
            assert!(seen.is_none(), "{api:?}, {what}: reached the upstream");
        }
    }
}

#[test]
fn a_quota_of_three_refuses_the_fourth_request() {
    let stack = Stack::start(&[("SESSION_QUOTA_MAX", "3")]);
    // A key's quota is the key's, whichever API it calls: one key per API.
    for (api, key) in [(CLASSIC, CLIENT_1), (OAS, CLIENT_2)] {
        for _ in 0..3 {
            stack.passes(key, "GET", &api.path(PETS), b"");
        }
        let fourth = stack.signed(key, "GET", &api.path(PETS), b"");
        assert_refused(&fourth, 403, "Quota exceeded", &format!("{api:?}, 4th"));
    }
}

#[test]
fn each_request_dispatches_each_hook_once() {
    let stack = Stack::start(&[]);
    for api in PLUGIN_APIS {
        let before = stack.metrics();
        for _ in 0..5 {
            stack.passes(CLIENT_1, "GET", &api.path(PETS), b"");
        }
        let after = stack.metrics();
        for hook in HOOKS {
            // No auth cache: the signature is checked on every request.
            let dispatched = after.dispatches(hook) - before.dispatches(hook);
            assert_eq!(dispatched, 5, "{api:?}, {hook:?}:\n{}", after.0);
        }
    }
}

#[test]
fn the_upstream_sees_the_key_alias_and_never_the_credentials() {
    let stack = Stack::start(&[]);
    for api in PLUGIN_APIS {
        for key in [CLIENT_1, CLIENT_2] {
            let (seen, _) = stack.passes(key, "GET", &api.path(PETS), b"");
            assert_eq!(
                seen.header("x-key-alias"),
                Some(key.id),
                "{api:?}: {seen:?}"
            );
            assert_eq!(seen.header("authorization"), None, "{api:?}: {seen:?}");
        }
    }
}

#[test]
fn the_response_hook_stamps_the_response_and_keeps_every_cookie() {
    let stack = Stack::start(&[]);
    for api in PLUGIN_APIS {
        let (_, response) = stack.passes(CLIENT_1, "GET", &api.path(PETS), b"");
        assert_eq!(
            response.header("x-plugin"),
            Some("rust"),
            "{api:?}: {response:?}"
        );
        assert_eq!(
            response.header_values("set-cookie"),
            UPSTREAM_COOKIES,
            "{api:?}: {response:?}"
        );
        assert_eq!(response.text(), "upstream body");
    }
    let (response, _) = stack.exchange("GET", &KEYLESS.path(PETS), &[], b"");
    assert_eq!(response.header("x-plugin"), None, "{response:?}");
    assert_eq!(response.header_values("set-cookie"), UPSTREAM_COOKIES);
}

/// Tyk OAS API definitions (5.8.1) have webhook, JavaScript (`custom`) and log event handlers,
/// and no coprocess one: only the Classic API's `event_handlers` can send events to the plugin.
#[test]
fn auth_failures_reach_the_event_handler_from_the_classic_api_only() {
    let stack = Stack::start(&[]);
    let before = stack.metrics().auth_failure_events();
    let refused = stack.signed(IMPOSTOR, "GET", &OAS.path(PETS), b"");
    assert_eq!(refused.0.status, 401, "{:?}", refused.0);
    let refused = stack.signed(IMPOSTOR, "GET", &CLASSIC.path(PETS), b"");
    assert_eq!(refused.0.status, 401, "{:?}", refused.0);

    // The gateway sends events from goroutines of their own: wait for the Classic API's, then
    // give a stray one from the OAS API the time to arrive too.
    let deadline = Instant::now() + PATIENCE;
    while stack.metrics().auth_failure_events() < before + 1 {
        assert!(
            Instant::now() < deadline,
            "no AuthFailure event reached the plugin"
        );
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(500));
    assert_eq!(stack.metrics().auth_failure_events(), before + 1);

    // And the gateway refuses an OAS API definition that names a coprocess event handler.
    let mut document = read_json(&stack.apps.join("oas-oas.json"));
    set(
        &mut document,
        "/x-tyk-api-gateway/info/id",
        "petstore-oas-events",
    );
    set(
        &mut document,
        "/x-tyk-api-gateway/server/listenPath/value",
        "/petstore-events/",
    );
    document["x-tyk-api-gateway"]["server"]["eventHandlers"] = json!([{
        "enabled": true,
        "trigger": "AuthFailure",
        "type": "cp_dynamic_handler",
        "name": "MyEventHandler",
    }]);
    let refused = stack.control("POST", "/tyk/apis/oas", &document);
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(
        refused
            .text()
            .contains(r#"type must be one of the following: \"webhook\", \"custom\", \"log\""#),
        "{}",
        refused.text()
    );
}

#[test]
fn a_stopped_plugin_fails_its_apis_and_no_other() {
    let mut stack = Stack::start(&[]);
    for api in PLUGIN_APIS {
        stack.passes(CLIENT_1, "GET", &api.path(PETS), b"");
    }
    stack.stop_plugin();
    for api in PLUGIN_APIS {
        let answer = stack.signed(CLIENT_1, "GET", &api.path(PETS), b"");
        // The Pre hook is the first to fail.
        assert_refused(&answer, 500, "Middleware error", &format!("{api:?}"));
    }
    let (response, seen) = stack.exchange("GET", &KEYLESS.path(PETS), &[], b"");
    assert_eq!(response.status, 200, "{response:?}");
    assert!(seen.is_some());
}

#[test]
fn a_failing_hook_answers_500_and_the_other_apis_serve_on() {
    let stack = Stack::start(&[]);
    let failed = stack.signed(CLIENT_1, "GET", &FAILING.path(PETS), b"");
    assert_refused(&failed, 500, "Middleware error", "tag 42");
    for api in PLUGIN_APIS {
        stack.passes(CLIENT_1, "GET", &api.path(PETS), b"");
    }
    let (response, _) = stack.exchange("GET", &KEYLESS.path(PETS), &[], b"");
    assert_eq!(response.status, 200, "{response:?}");
}

#[test]
fn a_body_over_the_plugin_limit_fails_that_request_only() {
    let mut stack = Stack::start(&[("MAX_RECV_MSG_SIZE_MB", "1")]);
    let body = vec![b'x'; 2 << 20];
    for api in PLUGIN_APIS {
        let failed = stack.signed(CLIENT_1, "POST", &api.path("pet"), &body);
        assert_refused(&failed, 500, "Middleware error", &format!("{api:?}, 2 MiB"));
        stack.passes(CLIENT_1, "POST", &api.path("pet"), b"{}");
    }
    assert!(stack.plugin.as_mut().unwrap().process.is_running());
}

/// The gateway loads an OAS API from files as a pair, `X.json` (the Classic form, with
/// `is_oas`) and `X-oas.json` (the OAS document), and writes the pair itself when it is given
/// the document through its API. The shipped `oas.json` must be what it writes, less the fields
/// left at their zero values.
#[test]
fn the_shipped_oas_pair_is_the_one_the_gateway_writes() {
    let stack = Stack::start_with(&[], Apps::None);
    let shipped = project(Kind::Tyk).join("tyk/apps");
    let document = read_json(&shipped.join("oas-oas.json"));
    let added = stack.control("POST", "/tyk/apis/oas", &document);
    assert_eq!(added.status, 200, "{added:?}");
    let written = read_json(&stack.apps.join(format!("{}.json", OAS.id)));
    assert_eq!(
        without_zeros(written),
        without_zeros(read_json(&shipped.join("oas.json")))
    );
}

/// `value` without the object fields that are null, false, 0, or empty.
fn without_zeros(value: Value) -> Value {
    match value {
        Value::Object(fields) => fields
            .into_iter()
            .map(|(name, field)| (name, without_zeros(field)))
            .filter(|(_, field)| !is_zero(field))
            .collect(),
        Value::Array(items) => items.into_iter().map(without_zeros).collect(),
        other => other,
    }
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_i64() == Some(0),
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
    }
}
