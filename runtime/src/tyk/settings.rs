//! The plugin's flags ([`PluginArgs`]), and what the hooks read of them ([`Settings`]).

use std::fmt;
use std::path::PathBuf;

use anyhow::Context as _;

use super::signature::Keys;

/// The flags of a plugin, each with an environment variable: the signing keys and session
/// limits that the example hooks read, and whether the debug dump shows secrets. A project
/// flattens them into its settings, beside the server's.
#[derive(Debug, Clone, clap::Parser)]
pub struct PluginArgs {
    /// Keys of the request signatures that the custom-auth hook checks: comma-separated
    /// KEY_ID=SECRET pairs, each secret at least 32 bytes
    #[arg(long, env = "HMAC_KEYS", hide_env_values = true, value_name = "KEY_ID=SECRET,...",
          value_parser = |text: &str| Ok::<_, std::convert::Infallible>(Hidden(text.to_owned())))]
    hmac_keys: Option<Hidden>,

    /// A file of KEY_ID=SECRET lines, in place of HMAC_KEYS (for a mounted Kubernetes Secret)
    #[arg(long, env = "HMAC_KEYS_FILE", conflicts_with = "hmac_keys")]
    hmac_keys_file: Option<PathBuf>,

    /// Seconds that a signed request's `Date` may be off from the plugin's clock
    #[arg(long, env = "HMAC_CLOCK_SKEW_SECS", default_value_t = 300)]
    hmac_clock_skew_secs: u64,

    /// Requests that each key may make per SESSION_PER_SECS (the gateway's rate limit)
    #[arg(long, env = "SESSION_RATE", default_value_t = 100.0)]
    session_rate: f64,

    /// The window of SESSION_RATE, in seconds
    #[arg(long, env = "SESSION_PER_SECS", default_value_t = 1.0)]
    session_per_secs: f64,

    /// Requests that each key may make per SESSION_QUOTA_RENEWAL_SECS; -1 for no quota
    #[arg(long, env = "SESSION_QUOTA_MAX", default_value_t = -1, allow_negative_numbers = true)]
    session_quota_max: i64,

    /// The window of SESSION_QUOTA_MAX, in seconds
    #[arg(long, env = "SESSION_QUOTA_RENEWAL_SECS", default_value_t = 3600)]
    session_quota_renewal_secs: i64,

    /// Log secrets (headers, bodies, session secrets) unredacted; for local debugging only
    #[arg(long, env = "LOG_SECRETS")]
    pub log_secrets: bool,
}

/// What the hooks read, checked once at startup.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The secret of each signing key.
    pub hmac_keys: Keys,
    /// Seconds that a signed request's `Date` may be off.
    pub hmac_clock_skew_secs: u64,
    /// The rate limit of each key: `session_rate` requests per `session_per_secs` seconds.
    pub session_rate: f64,
    /// The window of `session_rate`, in seconds.
    pub session_per_secs: f64,
    /// The quota of each key: `session_quota_max` requests per `session_quota_renewal_secs`,
    /// or -1 for none.
    pub session_quota_max: i64,
    /// The window of `session_quota_max`, in seconds.
    pub session_quota_renewal_secs: i64,
}

impl PluginArgs {
    /// Check the flags, and read the keys; the error names the setting to fix.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let (setting, text) = match (&self.hmac_keys, &self.hmac_keys_file) {
            (Some(Hidden(pairs)), _) => ("HMAC_KEYS", pairs.clone()),
            (None, Some(path)) => (
                "HMAC_KEYS_FILE",
                std::fs::read_to_string(path)
                    .with_context(|| format!("HMAC_KEYS_FILE: cannot read `{}`", path.display()))?,
            ),
            (None, None) => anyhow::bail!(
                "no signing keys: set HMAC_KEYS to KEY_ID=SECRET pairs, or HMAC_KEYS_FILE to a \
                 file of KEY_ID=SECRET lines (`make dev-keys` writes one for development)"
            ),
        };
        let entries = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty() && !entry.starts_with('#'));
        let hmac_keys =
            Keys::from_entries(entries).map_err(|err| anyhow::anyhow!("{setting}: {err}"))?;
        Ok(Settings {
            hmac_keys,
            hmac_clock_skew_secs: self.hmac_clock_skew_secs,
            session_rate: self.session_rate,
            session_per_secs: self.session_per_secs,
            session_quota_max: self.session_quota_max,
            session_quota_renewal_secs: self.session_quota_renewal_secs,
        })
    }
}

/// A flag's value that `Debug` does not show.
#[derive(Clone)]
struct Hidden(String);

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn settings(args: &[&str]) -> anyhow::Result<Settings> {
        let mut argv = vec!["test"];
        argv.extend_from_slice(args);
        PluginArgs::try_parse_from(argv).unwrap().settings()
    }

    #[test]
    fn keys_come_from_pairs_or_a_file() {
        let secret = "s".repeat(32);
        let pairs = format!("client-1={secret}, client-2={secret}");
        assert!(settings(&["--hmac-keys", &pairs]).is_ok());

        let file = std::env::temp_dir().join(format!("hmac-keys-{}", std::process::id()));
        std::fs::write(&file, format!("# development keys\nclient-1={secret}\n")).unwrap();
        let loaded = settings(&["--hmac-keys-file", file.to_str().unwrap()]);
        std::fs::remove_file(&file).unwrap();
        assert!(format!("{:?}", loaded.unwrap()).contains("client-1"));
    }

    #[test]
    fn missing_or_short_keys_stop_the_plugin_and_name_the_setting() {
        let missing = settings(&[]).unwrap_err().to_string();
        assert!(missing.contains("HMAC_KEYS"), "{missing}");
        let short = settings(&["--hmac-keys", "client-1=13-byte-secret"]).unwrap_err();
        let short = short.to_string();
        assert!(
            short.starts_with("HMAC_KEYS: the secret of key `client-1`"),
            "{short}"
        );
        assert!(!short.contains("13-byte-secret"), "{short}");
        let debug = format!(
            "{:?}",
            PluginArgs::parse_from(["test", "--hmac-keys", "a=hidden-value"])
        );
        assert!(!debug.contains("hidden-value"), "{debug}");
    }

    #[test]
    fn a_quota_may_be_negative_and_windows_have_defaults() {
        let secret = format!("k={}", "s".repeat(32));
        let settings = settings(&["--hmac-keys", &secret, "--session-quota-max", "-1"]).unwrap();
        assert_eq!(settings.session_quota_max, -1);
        assert_eq!(settings.session_quota_renewal_secs, 3600);
        assert_eq!(settings.hmac_clock_skew_secs, 300);
    }
}
