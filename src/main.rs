//! The `grpc-scaffold` binary: parse, run, report.

use std::process::ExitCode;

use clap::Parser as _;
use grpc_scaffold::cli::Cli;

mod report;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match grpc_scaffold::run(cli, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report::print(&err);
            ExitCode::FAILURE
        }
    }
}
