//! The `coprocess.Dispatcher` service that the gateway calls: each `Dispatch` goes to the hook
//! registered for its hook type and name ([`Hooks`]), and each `DispatchEvent` to the event
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

use super::Settings;
use super::proto::coprocess::dispatcher_server::{Dispatcher, DispatcherServer};
use super::proto::coprocess::{Event, EventReply, HookType, Object};
use super::redact;
use crate::server::MessageLimits;

/// A hook: an `async fn(&mut Object, &S) -> Result<(), HookError>` that changes the `Object` in
/// place, or fails the call. It may await other services, such as a key store. `S` is what every
/// hook reads: [`Settings`] unless the project makes its own.
pub trait Hook<'a, S = Settings>: Send + Sync + 'static {
    /// The future of one run of the hook, which borrows the `Object`.
    type Future: Future<Output = Result<(), HookError>> + Send + 'a;

    /// Run the hook on `object`.
    fn call(&self, object: &'a mut Object, settings: &'a S) -> Self::Future;
}

impl<'a, S: 'a, F, Fut> Hook<'a, S> for F
where
    F: Fn(&'a mut Object, &'a S) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HookError>> + Send + 'a,
{
    type Future = Fut;

    fn call(&self, object: &'a mut Object, settings: &'a S) -> Fut {
        self(object, settings)
    }
}

type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HookError>> + Send + 'a>>;

/// A registered hook, whatever the type of its function.
trait AnyHook<S>: Send + Sync {
    fn run<'a>(&self, object: &'a mut Object, settings: &'a S) -> HookFuture<'a>;
}

impl<S, H: for<'a> Hook<'a, S>> AnyHook<S> for H {
    fn run<'a>(&self, object: &'a mut Object, settings: &'a S) -> HookFuture<'a> {
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
/// the others; use [`ObjectExt::reject`](super::ObjectExt::reject) or
/// [`respond`](super::ObjectExt::respond) to choose the answer.
#[derive(Debug)]
pub struct HookError(pub String);

impl From<HookError> for Status {
    fn from(err: HookError) -> Self {
        Status::internal(err.0)
    }
}

/// A registered hook, with the counter of its dispatches.
struct Route<S> {
    hook: Box<dyn AnyHook<S>>,
    dispatches: Counter,
}

/// The hooks, by hook type and name, and the event handlers, by name. Each hook receives the
/// `Object` and the settings `S`.
pub struct Hooks<S = Settings> {
    routes: HashMap<HookType, HashMap<String, Route<S>>>,
    events: HashMap<String, EventHandler>,
}

impl<S> Default for Hooks<S> {
    fn default() -> Self {
        Self {
            routes: HashMap::new(),
            events: HashMap::new(),
        }
    }
}

impl<S> fmt::Debug for Hooks<S> {
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

impl<S: 'static> Hooks<S> {
    fn add(
        &mut self,
        hook_type: HookType,
        name: &str,
        hook: impl for<'a> Hook<'a, S>,
    ) -> &mut Self {
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
    pub fn pre(&mut self, name: &str, hook: impl for<'a> Hook<'a, S>) -> &mut Self {
        self.add(HookType::Pre, name, hook)
    }

    /// A custom authentication hook (`auth_check`): accept or reject the request.
    pub fn custom_key_check(&mut self, name: &str, hook: impl for<'a> Hook<'a, S>) -> &mut Self {
        self.add(HookType::CustomKeyCheck, name, hook)
    }

    /// A `post_key_auth` hook: after authentication, with the session.
    pub fn post_key_auth(&mut self, name: &str, hook: impl for<'a> Hook<'a, S>) -> &mut Self {
        self.add(HookType::PostKeyAuth, name, hook)
    }

    /// A `post` hook: last before the upstream, with the session.
    pub fn post(&mut self, name: &str, hook: impl for<'a> Hook<'a, S>) -> &mut Self {
        self.add(HookType::Post, name, hook)
    }

    /// A `response` hook: on the upstream's response.
    pub fn response(&mut self, name: &str, hook: impl for<'a> Hook<'a, S>) -> &mut Self {
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

/// The plugin: the `Dispatcher` that routes the gateway's calls to the hooks, with the settings
/// that they read, and the names already warned about.
#[derive(Debug)]
pub struct Plugin<S = Settings> {
    hooks: Hooks<S>,
    settings: S,
    log_secrets: bool,
    unknown: Mutex<HashSet<(HookType, String)>>,
}

impl<S: Send + Sync + 'static> Plugin<S> {
    /// The plugin that runs `hooks`, each with `settings`.
    pub fn new(hooks: Hooks<S>, settings: S) -> Self {
        Self {
            hooks,
            settings,
            log_secrets: false,
            unknown: Mutex::default(),
        }
    }

    /// Log the debug dump of each `Object` unredacted (`--log-secrets`), for local debugging.
    #[must_use]
    pub fn log_secrets(mut self, reveal: bool) -> Self {
        self.log_secrets = reveal;
        self
    }

    /// The gRPC service, held to the message-size `limits`.
    pub fn service(self, limits: MessageLimits) -> DispatcherServer<Self> {
        DispatcherServer::new(self)
            .max_decoding_message_size(limits.receive)
            .max_encoding_message_size(limits.send)
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
impl<S: Send + Sync + 'static> Dispatcher for Plugin<S> {
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

        // The API and the latency are looked up only for a line that is written.
        let name = &object.hook_name;
        let api = || object.spec.get("APIID").map_or("", String::as_str);
        let latency_us = || u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match &result {
            Ok(()) => tracing::debug!(
                hook = hook_type.as_str_name(),
                name,
                api = api(),
                latency_us = latency_us(),
                "dispatch"
            ),
            Err(err) => {
                tracing::warn!(hook = hook_type.as_str_name(), name, api = api(), latency_us = latency_us(), error = %err.0, "dispatch failed");
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use clap::Parser as _;
    use tokio::net::TcpListener;
    use tonic::Code;
    use tonic::transport::Channel;

    use super::*;
    use crate::server::{self, ServerArgs, Services};
    use crate::tyk::ObjectExt as _;
    use crate::tyk::PluginArgs;
    use crate::tyk::proto::coprocess::dispatcher_client::DispatcherClient;

    fn plugin(register: impl FnOnce(&mut Hooks)) -> Plugin {
        let mut hooks = Hooks::default();
        register(&mut hooks);
        let keys = format!("k={}", "s".repeat(32));
        let args = PluginArgs::parse_from(["test", "--hmac-keys", &keys]);
        Plugin::new(hooks, args.settings().unwrap())
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
        let args: ServerArgs = ServerArgs::parse_from(["test"]);
        let mut services = Services::default();
        services.add(plugin.service(args.message_limits()));
        tokio::spawn(async move {
            let forever = std::future::pending();
            server::serve(listener.into(), &args, services, forever).await
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

    #[tokio::test]
    async fn a_hook_is_found_by_its_type_and_its_name_or_passes_the_object_through() {
        let plugin = plugin(|hooks| {
            hooks.post("LookUp", look_up);
        });
        let mut sent = pre("LookUp").into_inner();
        sent.request = Some(Default::default());
        sent.spec.insert("APIID".into(), "api-1".into());
        for unknown in [sent.clone(), pre("Nobody").into_inner()] {
            let reply = plugin.dispatch(Request::new(unknown.clone())).await;
            assert_eq!(reply.unwrap().into_inner(), unknown);
        }
        sent.hook_type = HookType::Post.into();
        let reply = plugin.dispatch(Request::new(sent)).await.unwrap();
        assert_eq!(
            reply.into_inner().request.unwrap().set_headers["X-Looked-Up"],
            "yes"
        );
    }

    #[tokio::test]
    async fn events_reach_their_handler_and_the_rest_are_answered_too() {
        let seen = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&seen);
        let plugin = plugin(move |hooks| {
            hooks.event("MyEventHandler", move |event: GatewayEvent| {
                assert_eq!(
                    (event.kind.as_str(), event.api_id.as_str()),
                    ("AuthFailure", "api-1")
                );
                counted.fetch_add(1, Ordering::Relaxed);
                async {}
            });
        });
        let event = r#"{"handler_name": "MyEventHandler", "spec": {"APIID": "api-1"},
            "message": {"Type": "AuthFailure", "Meta": {"Key": "a credential"}}}"#;
        for payload in [event, r#"{"handler_name": "Nobody"}"#, "{not json", event] {
            let event = Event {
                payload: payload.into(),
            };
            plugin.dispatch_event(Request::new(event)).await.unwrap();
        }
        assert_eq!(seen.load(Ordering::Relaxed), 2);
    }

    /// A project's hooks may read settings of its own type.
    #[tokio::test]
    async fn hooks_read_the_settings_they_are_made_for() {
        struct Region(&'static str);

        async fn tag_region(object: &mut Object, region: &Region) -> Result<(), HookError> {
            object.set_header("X-Region", region.0);
            Ok(())
        }

        let mut hooks = Hooks::default();
        hooks.pre("Region", tag_region);
        let plugin = Plugin::new(hooks, Region("eu-west-1"));
        let object = plugin.dispatch(pre("Region")).await.unwrap().into_inner();
        assert_eq!(object.request.unwrap().set_headers["X-Region"], "eu-west-1");
    }
}
