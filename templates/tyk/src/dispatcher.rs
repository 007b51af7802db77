//! The `coprocess.Dispatcher` service that the gateway calls: each `Dispatch` goes to the hook
//! registered for its hook type and name (see `hooks.rs`), and each `DispatchEvent` to the event
//! handler registered under the name in the API definition. One log line per dispatch names the
//! hook, the API and the latency, and the counters `tyk_dispatches_total` (by hook type and name)
//! and `tyk_events_total` (by handler and event) count the calls.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Instant;

use metrics::Counter;
use serde::Deserialize;
use tonic::{Request, Response, Status};

use crate::config::{Config, Settings};
use crate::hooks;
use crate::proto::coprocess::dispatcher_server::Dispatcher;
use crate::proto::coprocess::{Event, EventReply, HookType, Object};
use crate::redact;

/// A hook: an `async fn(&mut Object, &Settings) -> Result<(), HookError>` that changes the
/// `Object` in place, or fails the call. It may await other services, such as a key store.
pub trait Hook<'a>: Send + Sync + 'static {
    /// The future of one run of the hook, which borrows the `Object`.
    type Future: Future<Output = Result<(), HookError>> + Send + 'a;

    /// Run the hook on `object`.
    fn call(&self, object: &'a mut Object, settings: &'a Settings) -> Self::Future;
}

impl<'a, F, Fut> Hook<'a> for F
where
    F: Fn(&'a mut Object, &'a Settings) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HookError>> + Send + 'a,
{
    type Future = Fut;

    fn call(&self, object: &'a mut Object, settings: &'a Settings) -> Fut {
        self(object, settings)
    }
}

type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HookError>> + Send + 'a>>;

/// A registered hook, whatever the type of its function.
trait AnyHook: Send + Sync {
    fn run<'a>(&self, object: &'a mut Object, settings: &'a Settings) -> HookFuture<'a>;
}

impl<H: for<'a> Hook<'a>> AnyHook for H {
    fn run<'a>(&self, object: &'a mut Object, settings: &'a Settings) -> HookFuture<'a> {
        Box::pin(self.call(object, settings))
    }
}

type EventFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A registered event handler.
type EventHandler = Box<dyn Fn(GatewayEvent) -> EventFuture + Send + Sync>;

/// A gateway event, as the API definition's `cp_dynamic_handler` sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct GatewayEvent {
    /// The `name` in the handler's `handler_meta`.
    #[serde(rename = "handler_name")]
    pub handler: String,
    /// The kind of event, such as `AuthFailure` or `QuotaExceeded`.
    #[serde(rename = "message", deserialize_with = "event_kind")]
    pub kind: String,
    /// The API that fired it.
    #[serde(rename = "spec", deserialize_with = "event_api", default)]
    pub api_id: String,
}

/// The `Type` of the event's `message`, whose `Meta` (which may quote the request, credentials
/// and all) is left unread.
fn event_kind<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    struct Message {
        #[serde(rename = "Type")]
        kind: String,
    }
    Message::deserialize(deserializer).map(|message| message.kind)
}

fn event_api<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    struct Spec {
        #[serde(rename = "APIID", default)]
        api_id: String,
    }
    Spec::deserialize(deserializer).map(|spec| spec.api_id)
}

/// A hook failure. The gateway answers the client with 403 for a custom-auth hook and 500 for
/// the others; use [`crate::object::ObjectExt::reject`] or `respond` to choose the answer.
#[derive(Debug)]
pub struct HookError(pub String);

impl From<HookError> for Status {
    fn from(err: HookError) -> Self {
        Status::internal(err.0)
    }
}

/// A registered hook, with the counter of its dispatches.
struct Route {
    hook: Box<dyn AnyHook>,
    dispatches: Counter,
}

/// The hooks, by hook type and name, and the event handlers, by name.
#[derive(Default)]
pub struct Hooks {
    routes: HashMap<HookType, HashMap<String, Route>>,
    events: HashMap<String, EventHandler>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.routes.iter().map(|(kind, hooks)| (kind, hooks.keys())))
            .entry(&"events", &self.events.keys())
            .finish()
    }
}

/// The counter of the dispatches to `name`, a hook of `hook_type`.
fn dispatches(hook_type: HookType, name: &str) -> Counter {
    metrics::counter!(
        "tyk_dispatches_total",
        "hook_type" => hook_type.as_str_name(),
        "hook_name" => name.to_owned()
    )
}

impl Hooks {
    fn add(&mut self, hook_type: HookType, name: &str, hook: impl for<'a> Hook<'a>) -> &mut Self {
        let route = Route {
            hook: Box::new(hook),
            dispatches: dispatches(hook_type, name),
        };
        self.routes
            .entry(hook_type)
            .or_default()
            .insert(name.to_owned(), route);
        self
    }

    /// A `pre` hook: before authentication.
    pub fn pre(&mut self, name: &str, hook: impl for<'a> Hook<'a>) -> &mut Self {
        self.add(HookType::Pre, name, hook)
    }

    /// A custom authentication hook (`auth_check`): accept or reject the request.
    pub fn custom_key_check(&mut self, name: &str, hook: impl for<'a> Hook<'a>) -> &mut Self {
        self.add(HookType::CustomKeyCheck, name, hook)
    }

    /// A `post_key_auth` hook: after authentication, with the session.
    pub fn post_key_auth(&mut self, name: &str, hook: impl for<'a> Hook<'a>) -> &mut Self {
        self.add(HookType::PostKeyAuth, name, hook)
    }

    /// A `post` hook: last before the upstream, with the session.
    pub fn post(&mut self, name: &str, hook: impl for<'a> Hook<'a>) -> &mut Self {
        self.add(HookType::Post, name, hook)
    }

    /// A `response` hook: on the upstream's response.
    pub fn response(&mut self, name: &str, hook: impl for<'a> Hook<'a>) -> &mut Self {
        self.add(HookType::Response, name, hook)
    }

    /// An event handler: an `async fn(GatewayEvent)`, for the events that the API definition
    /// sends to the `cp_dynamic_handler` named `name`.
    pub fn event<F, Fut>(&mut self, name: &str, handler: F) -> &mut Self
    where
        F: Fn(GatewayEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: EventHandler = Box::new(move |event| Box::pin(handler(event)));
        self.events.insert(name.to_owned(), handler);
        self
    }
}

/// The plugin: hooks, settings, and the names already warned about.
#[derive(Debug)]
pub struct Plugin {
    hooks: Hooks,
    settings: Settings,
    log_secrets: bool,
    unknown: Mutex<HashSet<(HookType, String)>>,
}

impl Plugin {
    /// The plugin with the hooks of `hooks.rs`; fails when the settings are wrong.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let mut hooks = Hooks::default();
        hooks::register(&mut hooks);
        Ok(Self {
            hooks,
            settings: config.hooks.settings()?,
            log_secrets: config.log_secrets,
            unknown: Mutex::default(),
        })
    }

    /// Warn about a hook or event handler that nothing handles, once per type and name.
    fn warn_unknown(&self, hook_type: HookType, name: &str) {
        let mut unknown = self.unknown.lock().unwrap_or_else(|e| e.into_inner());
        if unknown.insert((hook_type, name.to_owned())) {
            tracing::warn!(
                hook = hook_type.as_str_name(),
                name,
                "nothing is registered under this name; passing the call through unchanged"
            );
        }
    }
}

#[tonic::async_trait]
impl Dispatcher for Plugin {
    async fn dispatch(&self, request: Request<Object>) -> Result<Response<Object>, Status> {
        let started = Instant::now();
        let mut object = request.into_inner();
        let hook_type = object.hook_type();
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(object = %redact::to_json(&object, self.log_secrets), "dispatch received");
        }

        let route = self
            .hooks
            .routes
            .get(&hook_type)
            .and_then(|hooks| hooks.get(&object.hook_name));
        // A panic in a hook fails this call only (the server's call layer catches it): the
        // gateway gets an error, and the plugin serves on.
        let result = match route {
            Some(Route { hook, dispatches }) => {
                dispatches.increment(1);
                hook.run(&mut object, &self.settings).await
            }
            None => {
                dispatches(hook_type, &object.hook_name).increment(1);
                self.warn_unknown(hook_type, &object.hook_name);
                Ok(())
            }
        };

        let name = &object.hook_name;
        let api = object.spec.get("APIID").map_or("", String::as_str);
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match &result {
            Ok(()) => tracing::debug!(
                hook = hook_type.as_str_name(),
                name,
                api,
                latency_us,
                "dispatch"
            ),
            Err(err) => {
                tracing::warn!(hook = hook_type.as_str_name(), name, api, latency_us, error = %err.0, "dispatch failed");
            }
        }
        result?;
        Ok(Response::new(object))
    }

    async fn dispatch_event(
        &self,
        request: Request<Event>,
    ) -> Result<Response<EventReply>, Status> {
        let payload = request.into_inner().payload;
        let event = match serde_json::from_str::<GatewayEvent>(&payload) {
            Ok(event) => event,
            // The gateway does not retry events: log the bad one and carry on.
            Err(err) => {
                tracing::warn!(%err, bytes = payload.len(), "event payload is not a gateway event");
                return Ok(Response::new(EventReply {}));
            }
        };
        metrics::counter!(
            "tyk_events_total",
            "handler" => event.handler.clone(),
            "event" => event.kind.clone()
        )
        .increment(1);
        match self.hooks.events.get(&event.handler) {
            Some(handler) => handler(event).await,
            None => self.warn_unknown(HookType::Unknown, &event.handler),
        }
        Ok(Response::new(EventReply {}))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser as _;
    use tokio::net::TcpListener;
    use tonic::Code;
    use tonic::transport::Channel;

    use super::*;
    use crate::object::ObjectExt as _;
    use crate::proto::coprocess::dispatcher_client::DispatcherClient;
    use crate::proto::coprocess::dispatcher_server::DispatcherServer;
    use crate::server::{self, Services};

    fn plugin(register: impl FnOnce(&mut Hooks)) -> Plugin {
        let mut hooks = Hooks::default();
        register(&mut hooks);
        Plugin {
            hooks,
            settings: Config::parse_from(["test", "--hmac-keys", &format!("k={}", "s".repeat(32))])
                .hooks
                .settings()
                .unwrap(),
            log_secrets: false,
            unknown: Mutex::default(),
        }
    }

    fn pre(hook_name: &str) -> Request<Object> {
        Request::new(Object {
            hook_type: HookType::Pre.into(),
            hook_name: hook_name.to_owned(),
            ..Object::default()
        })
    }

    async fn look_up(object: &mut Object, _: &Settings) -> Result<(), HookError> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        object.set_header("X-Looked-Up", "yes");
        Ok(())
    }

    async fn refuse(_: &mut Object, _: &Settings) -> Result<(), HookError> {
        Err(HookError("the key store is down".to_owned()))
    }

    async fn crash(_: &mut Object, _: &Settings) -> Result<(), HookError> {
        panic!("a bug in a hook");
    }

    /// `plugin`, served as the gateway meets it: behind the server's call layer.
    async fn serve(plugin: Plugin) -> DispatcherClient<Channel> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let config = Config::parse_from(["test"]);
        let mut services = Services::default();
        services.add(DispatcherServer::new(plugin));
        tokio::spawn(async move {
            let forever = std::future::pending();
            server::serve(listener.into(), &config.server, services, forever).await
        });
        DispatcherClient::connect(format!("http://{address}"))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_hook_may_await_before_it_changes_the_object() {
        let plugin = plugin(|hooks| {
            hooks.pre("LookUp", look_up);
        });
        let object = plugin.dispatch(pre("LookUp")).await.unwrap().into_inner();
        assert_eq!(object.request.unwrap().set_headers["X-Looked-Up"], "yes");
    }

    #[tokio::test]
    async fn a_failing_hook_fails_the_call_with_its_message() {
        let plugin = plugin(|hooks| {
            hooks.pre("Refuse", refuse);
        });
        let status = plugin.dispatch(pre("Refuse")).await.unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "the key store is down");
    }

    #[tokio::test]
    async fn a_panicking_hook_fails_its_own_call_only() {
        let mut client = serve(plugin(|hooks| {
            hooks.pre("Crash", crash).pre("LookUp", look_up);
        }))
        .await;
        let status = client.dispatch(pre("Crash")).await.unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "the handler panicked");
        assert!(client.dispatch(pre("LookUp")).await.is_ok());
    }
}
