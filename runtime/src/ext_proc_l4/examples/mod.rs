//! Example callouts, one per module, each a starting point to copy. `--example` (or `EXAMPLE`)
//! picks one to run instead of your own callout in `src/callout.rs`.

pub mod basic;
pub mod rewrite;
pub mod slow_lookup;

/// The example callouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Example {
    /// The seed's basic callout, which `src/callout.rs` starts as: log what goes each way, and
    /// pass it through unchanged
    Basic,
    /// Upper-case what the client sends, lower-case what the upstream answers, and close the
    /// connection when the client sends `quit`; the bytes rewritten go to dynamic metadata
    Rewrite,
    /// Wait 500 ms (a stand-in for an asynchronous lookup) before passing what the client sends,
    /// and pass what the upstream answers at once
    SlowLookup,
}
