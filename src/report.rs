//! How an error reads on the terminal: cargo's `error:` and `help:` lines, with miette's snippet
//! (file, line, column and the offending line) for errors that point into a proto file.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use crate::Error;

const ERROR: Style = AnsiColor::Red.on_default().bold();
const HELP: Style = AnsiColor::Cyan.on_default().bold();

/// The report of `err`, styled with ANSI escapes; print it through `anstream`, which drops them
/// when stderr is not a terminal or `NO_COLOR` is set.
pub fn render(err: &Error) -> String {
    let mut out = format!("{ERROR}error{ERROR:#}: {err}\n");
    if let Some(related) = err.related() {
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
        for diagnostic in related {
            let mut snippet = String::new();
            if handler.render_report(&mut snippet, diagnostic).is_ok() {
                let _ = writeln!(out, "\n{}\n", snippet.trim_end());
            }
        }
    }
    if let Some(help) = err.help() {
        let _ = writeln!(out, "{HELP}help{HELP:#}: {help}");
    }
    out
}
