//! Fuzz targets for the CLI's inputs, each run for a bounded time (`FUZZ_SECS`, 60 s by
//! default) after replaying its corpus in `tests/fuzz/corpus/`, printing how many inputs it
//! tried (the test command runs them first, with `--show-output`). The toolchain here is stable, where libFuzzer cannot run, so the inputs come from
//! proptest strategies: arbitrary bytes, structure-aware protos, and names, rather than coverage
//! feedback. A failing input is printed in full; add it to the corpus, and it is replayed on
//! every run from then on.
//!
//! - `proto_bytes` and `proto_structured`: a `custom` project's protos either compile into a
//!   model whose Rust names are valid and distinct, or give an error that names the file; never
//!   a panic, and `new` writes nothing when it fails.
//! - `project_names`: every name that `new` accepts gives a project whose `Cargo.toml` Cargo
//!   reads, with the package and binaries named as asked.
//! - `accepted_protos_build`: a sample of the structured protos that compile is generated,
//!   built, linted and served.

mod names;
mod protos;

use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree as _};
use proptest::test_runner::{Config, TestRunner};

/// How long each target runs, after its corpus.
fn budget() -> Duration {
    let secs = std::env::var("FUZZ_SECS").map_or(60, |value| {
        value.parse().expect("FUZZ_SECS is a number of seconds")
    });
    Duration::from_secs(secs)
}

/// Feed `check` inputs from `strategy` until the budget is spent; print how many it took. A
/// failure panics, and leaves the input in `target/tmp/fuzz-failures/`, ready for the corpus.
fn fuzz<T: AsRef<[u8]>>(
    target: &str,
    strategy: impl Strategy<Value = T>,
    mut check: impl FnMut(&T) -> Result<(), String>,
) -> u64 {
    let mut runner = TestRunner::new(Config::default());
    let deadline = Instant::now() + budget();
    let mut executions = 0;
    while Instant::now() < deadline {
        let input = strategy
            .new_tree(&mut runner)
            .expect("the strategy makes inputs")
            .current();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&input)));
        let reason = match outcome {
            Ok(Ok(())) => {
                executions += 1;
                continue;
            }
            Ok(Err(reason)) => reason,
            Err(_) => "it panicked".to_owned(),
        };
        let kept = crate::support::work_dir()
            .join("fuzz-failures")
            .join(format!("{target}-{executions}"));
        std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
        std::fs::write(&kept, input.as_ref()).unwrap();
        panic!(
            "{target}: {reason}\ninput, kept in {}:\n{}",
            kept.display(),
            String::from_utf8_lossy(input.as_ref())
        );
    }
    println!(
        "fuzz {target}: {executions} executions in {} s",
        budget().as_secs()
    );
    executions
}
