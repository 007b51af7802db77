//! Example callouts, one per module, each a starting point to copy. `--example` (or `EXAMPLE`)
//! picks the one the server runs.

pub mod basic;
pub mod rewrite;

/// The example callouts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Example {
    /// Log what goes each way, and pass it through unchanged
    #[default]
    Basic,
    /// Upper-case what the client sends, lower-case what the upstream answers, and close the
    /// connection when the client sends `quit`
    Rewrite,
}
