//! The services this server hosts: the processor, running the example that `--example` picks.

use anyhow::Context as _;
use jsonwebtoken::DecodingKey;

use crate::callout::{Callout, Processor};
use crate::config::{Config, JwtArgs};
use crate::examples::{self, Example};
use crate::server::Services;

/// Build the services from `config`; a bad setting fails here, at startup, not on a request.
pub fn build(config: &Config) -> anyhow::Result<Services> {
    let mut services = Services::default();
    let limit = config.server.max_message_bytes();
    let services_ref = &mut services;
    match config.example {
        Example::Basic => serve(services_ref, limit, examples::basic::Basic),
        Example::AddHeader => serve(services_ref, limit, examples::add_header::AddHeader),
        Example::UpdateHeader => serve(services_ref, limit, examples::update_header::UpdateHeader),
        Example::NormalizeHeader => {
            serve(
                services_ref,
                limit,
                examples::normalize_header::NormalizeHeader,
            );
        }
        Example::AddBody => serve(services_ref, limit, examples::add_body::AddBody),
        Example::AddCustomResponse => {
            serve(
                services_ref,
                limit,
                examples::add_custom_response::AddCustomResponse,
            );
        }
        Example::Redirect => serve(services_ref, limit, examples::redirect::Redirect),
        Example::SetCookie => serve(services_ref, limit, examples::set_cookie::SetCookie),
        Example::DynamicForwarding => {
            serve(
                services_ref,
                limit,
                examples::dynamic_forwarding::DynamicForwarding,
            );
        }
        Example::JwtAuth => {
            let callout =
                examples::jwt_auth::JwtAuth::new(public_key(&config.jwt)?, &config.jwt.validation);
            serve(services_ref, limit, callout);
        }
        Example::Observability => {
            serve(
                services_ref,
                limit,
                examples::observability::Observability::default(),
            );
        }
    }
    Ok(services)
}

/// Serve `callout` as the processor, with the server's message-size limit.
pub fn serve<C: Callout>(services: &mut Services, limit: usize, callout: C) {
    services.add(
        Processor::new(callout)
            .into_service()
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
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
