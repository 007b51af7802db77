//! The `coprocess.Dispatcher` service that the gateway calls: each `Dispatch` goes to the hook
//! registered for its hook type and name (see `hooks.rs`), and each `DispatchEvent` to the event
//! handler. One log line per dispatch names the hook, the API and the latency.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;
use tonic::{Request, Response, Status};

use crate::config::{Config, Settings};
use crate::hooks;
use crate::proto::coprocess::dispatcher_server::Dispatcher;
use crate::proto::coprocess::{Event, EventReply, HookType, Object};
use crate::redact;

/// A hook: it changes the `Object` in place, or fails the call.
pub type Hook = fn(&mut Object, &Settings) -> Result<(), HookError>;

/// An event handler: it receives the event's JSON.
pub type EventHandler = fn(Value);

/// A hook failure. The gateway answers the client with 403 for a custom-auth hook and 500 for
/// the others; use [`crate::object::ObjectExt::reject`] or `respond` to choose the answer.
#[derive(Debug)]
pub struct HookError(pub String);

impl From<HookError> for Status {
    fn from(err: HookError) -> Self {
        Status::internal(err.0)
    }
}

/// The hooks, by hook type and name.
#[derive(Default)]
pub struct Hooks {
    routes: HashMap<HookType, HashMap<String, Hook>>,
    on_event: Option<EventHandler>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.routes.iter().map(|(kind, hooks)| (kind, hooks.keys())))
            .finish()
    }
}

impl Hooks {
    fn add(&mut self, hook_type: HookType, name: &str, hook: Hook) -> &mut Self {
        self.routes
            .entry(hook_type)
            .or_default()
            .insert(name.to_owned(), hook);
        self
    }

    /// A `pre` hook: before authentication.
    pub fn pre(&mut self, name: &str, hook: Hook) -> &mut Self {
        self.add(HookType::Pre, name, hook)
    }

    /// A custom authentication hook (`auth_check`): accept or reject the request.
    pub fn custom_key_check(&mut self, name: &str, hook: Hook) -> &mut Self {
        self.add(HookType::CustomKeyCheck, name, hook)
    }

    /// A `post_key_auth` hook: after authentication, with the session.
    pub fn post_key_auth(&mut self, name: &str, hook: Hook) -> &mut Self {
        self.add(HookType::PostKeyAuth, name, hook)
    }

    /// A `post` hook: last before the upstream, with the session.
    pub fn post(&mut self, name: &str, hook: Hook) -> &mut Self {
        self.add(HookType::Post, name, hook)
    }

    /// A `response` hook: on the upstream's response.
    pub fn response(&mut self, name: &str, hook: Hook) -> &mut Self {
        self.add(HookType::Response, name, hook)
    }

    /// The handler of gateway events.
    pub fn events(&mut self, handler: EventHandler) -> &mut Self {
        self.on_event = Some(handler);
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
    pub fn new(config: &Config) -> Self {
        let mut hooks = Hooks::default();
        hooks::register(&mut hooks);
        Self {
            hooks,
            settings: config.hooks.clone(),
            log_secrets: config.log_secrets,
            unknown: Mutex::default(),
        }
    }

    /// Warn about a hook that nothing handles, once per type and name.
    fn warn_unknown(&self, hook_type: HookType, name: &str) {
        let mut unknown = self.unknown.lock().unwrap_or_else(|e| e.into_inner());
        if unknown.insert((hook_type, name.to_owned())) {
            tracing::warn!(
                hook = hook_type.as_str_name(),
                name,
                "no hook is registered under this name; passing the object through unchanged"
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

        let hook = self
            .hooks
            .routes
            .get(&hook_type)
            .and_then(|hooks| hooks.get(&object.hook_name))
            .copied();
        let result = match hook {
            Some(hook) => hook(&mut object, &self.settings),
            None => {
                self.warn_unknown(hook_type, &object.hook_name);
                Ok(())
            }
        };

        let name = &object.hook_name;
        let api = object.spec.get("APIID").map_or("", String::as_str);
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match &result {
            Ok(()) => tracing::info!(
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
        match serde_json::from_str::<Value>(&payload) {
            Ok(event) => {
                if let Some(handler) = self.hooks.on_event {
                    handler(event);
                }
            }
            // The gateway does not retry events: log the bad one and carry on.
            Err(err) => tracing::warn!(%err, bytes = payload.len(), "event payload is not JSON"),
        }
        Ok(Response::new(EventReply {}))
    }
}
