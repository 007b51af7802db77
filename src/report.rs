//! How errors reach the terminal: cargo's `error:` and `help:` lines, plus miette's snippets for
//! errors that point into a proto file. Colour only when stderr is a terminal and `NO_COLOR` is unset.

use anstream::eprintln;
use anstyle::{AnsiColor, Style};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

const ERROR: Style = AnsiColor::Red.on_default().bold();
const HELP: Style = AnsiColor::Cyan.on_default().bold();

pub fn print(err: &grpc_scaffold::Error) {
    eprintln!("{ERROR}error{ERROR:#}: {err}");
    if let Some(related) = err.related() {
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
        for diagnostic in related {
            let mut snippet = String::new();
            if handler.render_report(&mut snippet, diagnostic).is_ok() {
                eprintln!("\n{}", snippet.trim_end());
            }
        }
    }
    if let Some(help) = err.help() {
        eprintln!("{HELP}help{HELP:#}: {help}");
    }
}
