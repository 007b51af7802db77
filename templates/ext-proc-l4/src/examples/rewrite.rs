//! Rewrite bytes both ways: what the client sends reaches the upstream in upper case, and what
//! the upstream answers reaches the client in lower case. A client line `quit` closes the
//! connection.

use envoy_types::pb::envoy::service::network_ext_proc::v3::Data;

use crate::callout::{NetworkCallout, Outcome};

#[derive(Debug, Default)]
pub struct Rewrite;

impl NetworkCallout for Rewrite {
    type State = ();

    async fn on_read_data(&self, data: &Data, _state: &mut ()) -> Outcome {
        if data
            .data
            .split(|&byte| byte == b'\n')
            .any(|line| line.trim_ascii() == b"quit")
        {
            return Outcome::pass().close();
        }
        Outcome::replace(data.data.to_ascii_uppercase())
    }

    async fn on_write_data(&self, data: &Data, _state: &mut ()) -> Outcome {
        Outcome::replace(data.data.to_ascii_lowercase())
    }
}
