//! The services this server hosts: the processor, running your callout, or the example that
//! `--example` picks.

use anyhow::Context as _;
use jsonwebtoken::DecodingKey;

use crate::callout::MyCallout;
use crate::config::{Config, JwtArgs};
use crate::examples::Example;
use crate::examples::add_body::AddBody;
use crate::examples::add_custom_response::AddCustomResponse;
use crate::examples::add_header::AddHeader;
use crate::examples::basic::Basic;
use crate::examples::dynamic_forwarding::DynamicForwarding;
use crate::examples::jwt_auth::JwtAuth;
use crate::examples::normalize_header::NormalizeHeader;
use crate::examples::observability::Observability;
use crate::examples::redirect::Redirect;
use crate::examples::set_cookie::SetCookie;
use crate::examples::skip_response_body::SkipResponseBody;
use crate::examples::slow_lookup::SlowLookup;
use crate::examples::update_header::UpdateHeader;
use crate::processor::{Callout, Processor};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::server::{MessageLimits, Services};

/// Build the services from `config`; a bad setting fails here, at startup, not on a request.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let mut services = Services::default();
    let limits = config.server.message_limits();
    let Some(example) = config.example else {
        serve(&mut services, limits, MyCallout);
        return Ok(services);
    };
    match example {
        Example::Basic => serve(&mut services, limits, Basic),
        Example::AddHeader => serve(&mut services, limits, AddHeader),
        Example::UpdateHeader => serve(&mut services, limits, UpdateHeader),
        Example::NormalizeHeader => serve(&mut services, limits, NormalizeHeader),
        Example::AddBody => serve(&mut services, limits, AddBody),
        Example::AddCustomResponse => serve(&mut services, limits, AddCustomResponse),
        Example::Redirect => serve(&mut services, limits, Redirect),
        Example::SetCookie => serve(&mut services, limits, SetCookie),
        Example::DynamicForwarding => serve(&mut services, limits, DynamicForwarding),
        Example::JwtAuth => {
            let key = public_key(&config.jwt)?;
            serve(
                &mut services,
                limits,
                JwtAuth::new(key, &config.jwt.validation),
            );
        }
        Example::Observability => serve(&mut services, limits, Observability::default()),
        Example::SkipResponseBody => serve(&mut services, limits, SkipResponseBody),
        Example::SlowLookup => serve(&mut services, limits, SlowLookup),
    }
    Ok(services)
}

/// Serve `callout` as the processor, with the server's message-size limits, and describe it in
/// reflection.
pub fn serve<C: Callout>(services: &mut Services, limits: MessageLimits, callout: C) {
    services.add(
        Processor::new(callout)
            .into_service()
            .max_decoding_message_size(limits.receive)
            .max_encoding_message_size(limits.send),
    );
    services.describe(FILE_DESCRIPTOR_SET);
}

fn public_key(args: &JwtArgs) -> anyhow::Result<DecodingKey> {
    let pem = match (&args.public_key, &args.public_key_file) {
        (Some(pem), _) => pem.clone().into_bytes(),
        (None, Some(path)) => std::fs::read(path)
            .with_context(|| format!("failed to read PUBLIC_KEY_FILE `{}`", path.display()))?,
        (None, None) => anyhow::bail!("the jwt_auth example needs PUBLIC_KEY or PUBLIC_KEY_FILE"),
    };
    DecodingKey::from_rsa_pem(&pem).context("PUBLIC_KEY is not an RSA public key in PEM format")
}
