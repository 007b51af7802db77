//! The `grpc-scaffold` binary: parse, run, report, exit.

use std::process::ExitCode;

use clap::Parser as _;
use grpc_scaffold::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match grpc_scaffold::run(cli, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            anstream::eprint!("{}", grpc_scaffold::report::render(&err));
            ExitCode::FAILURE
        }
    }
}
