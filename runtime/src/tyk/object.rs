//! Typed helpers for the changes a hook makes to an [`Object`], so that no hook assembles
//! protobuf by hand. Each writes the fields the gateway actually applies: `set_headers` rather
//! than `headers`, `raw_body` rather than `body`, and for responses `multivalue_headers` in step
//! with `headers`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::dispatcher::HookError;
use super::proto::coprocess::{
    Header, MiniRequestObject, Object, ResponseObject, ReturnOverrides, SessionState,
};

/// How a custom-auth hook refuses a request: a status, and the headers of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: i32,
    headers: HashMap<String, String>,
}

impl Rejection {
    /// 400: the credentials are malformed.
    pub fn bad_request() -> Self {
        Self::with_status(400)
    }

    /// 401: the credentials are missing or wrong.
    pub fn unauthorized() -> Self {
        Self::with_status(401)
    }

    /// 403: the credentials are fine, but not allowed here.
    pub fn forbidden() -> Self {
        Self::with_status(403)
    }

    fn with_status(status: i32) -> Self {
        Self {
            status,
            headers: HashMap::new(),
        }
    }

    /// Tell the client how to authenticate, in a `WWW-Authenticate` header.
    #[must_use]
    pub fn challenge(self, challenge: &str) -> Self {
        self.header("WWW-Authenticate", challenge)
    }

    /// Add a header to the answer.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The status that the gateway answers with.
    pub fn status(&self) -> i32 {
        self.status
    }
}

/// Changes to the request, session and response of an [`Object`].
pub trait ObjectExt {
    /// A request header, by case-insensitive name.
    fn header(&self, name: &str) -> Option<&str>;
    /// Set a header on the request that goes upstream.
    fn set_header(&mut self, name: &str, value: &str);
    /// Remove a header from the request that goes upstream.
    fn delete_header(&mut self, name: &str);
    /// Add a query parameter to the request that goes upstream.
    fn add_param(&mut self, name: &str, value: &str);
    /// Remove a query parameter from the request that goes upstream.
    fn delete_param(&mut self, name: &str);
    /// Rewrite the URL (path and query) that goes upstream.
    fn set_url(&mut self, url: &str);
    /// Rewrite the method that goes upstream.
    fn set_method(&mut self, method: &str);
    /// Replace the body that goes upstream.
    fn set_body(&mut self, body: impl Into<Vec<u8>>);
    /// Answer the client directly, without calling the upstream.
    fn respond(&mut self, status: i32, body: &str, headers: &[(&str, &str)]);
    /// Accept a custom-auth request: the gateway stores `session` for the key `key_id`, and
    /// applies its rate limit and quota.
    fn accept(&mut self, key_id: &str, session: SessionState);
    /// Refuse a custom-auth request with 400, 401 or 403, a message and the rejection's headers.
    fn reject(&mut self, rejection: Rejection, message: &str);
    /// The API's `config_data`, or `T::default()` when the API definition has none.
    fn config_data<T: DeserializeOwned + Default>(&self) -> Result<T, HookError>;
    /// The request body, parsed as JSON.
    fn json_body<T: DeserializeOwned>(&self) -> serde_json::Result<T>;
    /// Replace the body that goes upstream with `value` as JSON.
    fn set_json_body(&mut self, value: &impl Serialize) -> serde_json::Result<()>;
    /// The upstream's response body, parsed as JSON (Response hooks).
    fn response_json<T: DeserializeOwned>(&self) -> serde_json::Result<T>;
    /// Replace the response body with `value` as JSON (Response hooks).
    fn set_response_json(&mut self, value: &impl Serialize) -> serde_json::Result<()>;
    /// Set the response status (Response hooks).
    fn set_response_status(&mut self, status: i32);
    /// Set a response header, replacing every value it had (Response hooks).
    fn set_response_header(&mut self, name: &str, value: &str);
    /// Remove a response header (Response hooks).
    fn delete_response_header(&mut self, name: &str);
    /// Replace the response body (Response hooks).
    fn set_response_body(&mut self, body: impl Into<Vec<u8>>);
}

impl ObjectExt for Object {
    fn header(&self, name: &str) -> Option<&str> {
        let headers = &self.request.as_ref()?.headers;
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn set_header(&mut self, name: &str, value: &str) {
        let request = request(self);
        request
            .delete_headers
            .retain(|h| !h.eq_ignore_ascii_case(name));
        request
            .set_headers
            .insert(name.to_owned(), value.to_owned());
    }

    fn delete_header(&mut self, name: &str) {
        let request = request(self);
        request
            .set_headers
            .retain(|h, _| !h.eq_ignore_ascii_case(name));
        request.delete_headers.push(name.to_owned());
    }

    fn add_param(&mut self, name: &str, value: &str) {
        let request = request(self);
        request.delete_params.retain(|p| p != name);
        request.add_params.insert(name.to_owned(), value.to_owned());
    }

    fn delete_param(&mut self, name: &str) {
        let request = request(self);
        request.add_params.remove(name);
        request.delete_params.push(name.to_owned());
    }

    fn set_url(&mut self, url: &str) {
        url.clone_into(&mut request(self).url);
    }

    fn set_method(&mut self, method: &str) {
        method.clone_into(&mut request(self).method);
    }

    fn set_body(&mut self, body: impl Into<Vec<u8>>) {
        let request = request(self);
        request.raw_body = body.into();
        request.body = String::from_utf8_lossy(&request.raw_body).into_owned();
    }

    fn respond(&mut self, status: i32, body: &str, headers: &[(&str, &str)]) {
        request(self).return_overrides = Some(ReturnOverrides {
            response_code: status,
            response_error: body.to_owned(),
            response_body: body.to_owned(),
            headers: to_map(headers),
            override_error: status >= 400,
        });
    }

    fn accept(&mut self, key_id: &str, mut session: SessionState) {
        session.last_updated = unix_now().to_string();
        session
            .metadata
            .insert("token".to_owned(), key_id.to_owned());
        self.metadata.insert("token".to_owned(), key_id.to_owned());
        self.session = Some(session);
    }

    fn reject(&mut self, rejection: Rejection, message: &str) {
        request(self).return_overrides = Some(ReturnOverrides {
            response_code: rejection.status,
            response_error: message.to_owned(),
            headers: rejection.headers,
            ..ReturnOverrides::default()
        });
    }

    fn config_data<T: DeserializeOwned + Default>(&self) -> Result<T, HookError> {
        match self.spec.get("config_data") {
            None => Ok(T::default()),
            Some(json) => serde_json::from_str(json)
                .map_err(|err| HookError(format!("the API's config_data is not valid: {err}"))),
        }
    }

    fn json_body<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        let body = self
            .request
            .as_ref()
            .map_or(&[][..], |r| r.raw_body.as_slice());
        serde_json::from_slice(body)
    }

    fn set_json_body(&mut self, value: &impl Serialize) -> serde_json::Result<()> {
        self.set_body(serde_json::to_vec(value)?);
        Ok(())
    }

    fn response_json<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        let body = self
            .response
            .as_ref()
            .map_or(&[][..], |r| r.raw_body.as_slice());
        serde_json::from_slice(body)
    }

    fn set_response_json(&mut self, value: &impl Serialize) -> serde_json::Result<()> {
        self.set_response_body(serde_json::to_vec(value)?);
        self.set_response_header("Content-Type", "application/json");
        Ok(())
    }

    fn set_response_status(&mut self, status: i32) {
        response(self).status_code = status;
    }

    fn set_response_header(&mut self, name: &str, value: &str) {
        let response = response(self);
        response
            .headers
            .retain(|key, _| !key.eq_ignore_ascii_case(name));
        response.headers.insert(name.to_owned(), value.to_owned());
        response
            .multivalue_headers
            .retain(|header| !header.key.eq_ignore_ascii_case(name));
        response.multivalue_headers.push(Header {
            key: name.to_owned(),
            values: vec![value.to_owned()],
        });
    }

    fn delete_response_header(&mut self, name: &str) {
        let response = response(self);
        response
            .headers
            .retain(|key, _| !key.eq_ignore_ascii_case(name));
        response
            .multivalue_headers
            .retain(|header| !header.key.eq_ignore_ascii_case(name));
    }

    fn set_response_body(&mut self, body: impl Into<Vec<u8>>) {
        let response = response(self);
        response.raw_body = body.into();
        response.body = String::from_utf8_lossy(&response.raw_body).into_owned();
    }
}

fn request(object: &mut Object) -> &mut MiniRequestObject {
    object.request.get_or_insert_with(Default::default)
}

fn response(object: &mut Object) -> &mut ResponseObject {
    object.response.get_or_insert_with(Default::default)
}

fn to_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_with_response() -> Object {
        Object {
            response: Some(ResponseObject {
                status_code: 200,
                headers: HashMap::from([("Content-Type".into(), "application/json".into())]),
                multivalue_headers: vec![Header {
                    key: "Content-Type".into(),
                    values: vec!["application/json".into()],
                }],
                ..ResponseObject::default()
            }),
            ..Object::default()
        }
    }

    #[test]
    fn response_headers_change_in_both_header_fields() {
        let mut object = object_with_response();
        object.set_response_header("X-Plugin", "rust");
        object.set_response_header("x-plugin", "again");
        object.set_response_header("content-type", "text/plain");
        let response = object.response.as_ref().unwrap();
        assert_eq!(response.status_code, 200);
        assert_eq!(response.headers.len(), 2);
        assert_eq!(response.headers["x-plugin"], "again");
        assert_eq!(response.headers["content-type"], "text/plain");
        let values = |name: &str| {
            let header = response.multivalue_headers.iter().find(|h| h.key == name);
            header.map(|header| header.values.clone())
        };
        assert_eq!(response.multivalue_headers.len(), 2);
        assert_eq!(values("x-plugin").unwrap(), ["again"]);
        assert_eq!(values("content-type").unwrap(), ["text/plain"]);

        object.delete_response_header("X-PLUGIN");
        let response = object.response.as_ref().unwrap();
        assert_eq!(response.headers.len(), response.multivalue_headers.len());
        assert!(!response.headers.contains_key("x-plugin"));
    }

    #[test]
    fn a_request_header_is_either_set_or_deleted() {
        let mut object = Object::default();
        object.delete_header("X-Tag");
        object.set_header("x-tag", "a");
        let request = object.request.as_ref().unwrap();
        assert_eq!(request.set_headers["x-tag"], "a");
        assert!(request.delete_headers.is_empty());

        object.delete_header("X-TAG");
        object.add_param("plugin", "rust");
        object.delete_param("plugin");
        let request = object.request.as_ref().unwrap();
        assert!(request.set_headers.is_empty());
        assert_eq!(request.delete_headers, ["X-TAG"]);
        assert!(request.add_params.is_empty());
        assert_eq!(request.delete_params, ["plugin"]);
    }

    #[test]
    fn bodies_are_written_raw_and_as_text() {
        let mut object = object_with_response();
        object
            .set_json_body(&serde_json::json!({"name": "rex"}))
            .unwrap();
        object.set_response_json(&[1, 2]).unwrap();
        let request = object.request.as_ref().unwrap();
        assert_eq!(request.raw_body, br#"{"name":"rex"}"#);
        assert_eq!(request.body, r#"{"name":"rex"}"#);
        let name: serde_json::Value = object.json_body().unwrap();
        assert_eq!(name["name"], "rex");
        assert_eq!(object.response_json::<Vec<u8>>().unwrap(), [1, 2]);
        assert_eq!(object.response.as_ref().unwrap().headers.len(), 1);
    }

    #[test]
    fn accepting_stores_the_session_and_rejecting_sets_the_answer() {
        let mut accepted = Object::default();
        accepted.accept("client-1", SessionState::default());
        let session = accepted.session.as_ref().unwrap();
        assert_eq!(session.metadata["token"], "client-1");
        assert_eq!(accepted.metadata["token"], "client-1");
        assert!(session.last_updated.parse::<i64>().unwrap() > 0);

        let mut rejected = Object::default();
        let rejection = Rejection::unauthorized().challenge("Signature realm=\"api\"");
        assert_eq!(rejection.status(), 401);
        rejected.reject(rejection, "the signature does not match");
        let overrides = rejected.request.unwrap().return_overrides.unwrap();
        assert_eq!(overrides.response_code, 401);
        assert_eq!(overrides.response_error, "the signature does not match");
        assert_eq!(
            overrides.headers["WWW-Authenticate"],
            "Signature realm=\"api\""
        );
        assert!(rejected.session.is_none());
    }

    #[test]
    fn config_data_is_the_apis_or_the_default() {
        #[derive(Debug, Default, PartialEq, serde::Deserialize)]
        struct Tag {
            tag: String,
        }
        let mut object = Object::default();
        assert_eq!(object.config_data::<Tag>().unwrap(), Tag::default());
        object
            .spec
            .insert("config_data".into(), r#"{"tag": "billing"}"#.into());
        assert_eq!(object.config_data::<Tag>().unwrap().tag, "billing");
        object
            .spec
            .insert("config_data".into(), r#"{"tag": 42}"#.into());
        let err = object.config_data::<Tag>().unwrap_err();
        assert!(
            err.0.starts_with("the API's config_data is not valid"),
            "{err:?}"
        );
    }
}
