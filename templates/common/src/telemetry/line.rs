//! The text format of the logs, written for a fraction of what the general-purpose formatter
//! spends on each line, since a busy server logs on every call.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// One line per event, exactly as `tracing_subscriber`'s default format writes it without
/// colours and with the options that [`super::init`] leaves at their defaults:
/// `2026-11-21T10:00:00.123456Z  INFO span{id=1}: my_crate::module: message key="value"`.
///
/// Two things make it cheaper. The date and time are worked out once a second, and strings of
/// plain ASCII are copied whole, where the default checks every character through a formatter.
#[derive(Debug, Clone, Copy)]
pub struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Records from the `log` crate carry their real target and level in fields.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        write_timestamp(&mut writer, now)?;
        writer.write_str(match *metadata.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        if let Some(scope) = ctx.event_scope() {
            let mut seen = false;
            for span in scope.from_root() {
                seen = true;
                writer.write_str(span.name())?;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    write!(writer, "{fields}")?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            if seen {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(metadata.target())?;
        writer.write_str(": ")?;

        let mut fields = Fields {
            writer: writer.by_ref(),
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes an event's fields: the message bare, then `name=value` pairs, strings quoted.
struct Fields<'a> {
    writer: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_> {
    /// Records a field, unless one failed to write or it comes from the `log` crate.
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>, bool) -> fmt::Result) {
        let name = field.name();
        if self.result.is_ok() && !name.starts_with("log.") {
            self.result = self.write(name, value);
        }
    }

    /// Writes the separator and, unless this is the message, `name=`; then the value.
    fn write(
        &mut self,
        name: &str,
        value: impl FnOnce(&mut Writer<'_>, bool) -> fmt::Result,
    ) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        let message = name == "message";
        if !message {
            self.writer
                .write_str(name.strip_prefix("r#").unwrap_or(name))?;
            self.writer.write_char('=')?;
        }
        value(&mut self.writer, message)
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |writer, message| {
            if message {
                return Sanitized(writer).write_str(value);
            }
            let plain = value
                .bytes()
                .all(|b| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\');
            if plain {
                writer.write_char('"')?;
                writer.write_str(value)?;
                writer.write_char('"')
            } else {
                write!(writer, "{value:?}")
            }
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |writer, _| write!(writer, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |writer, _| write!(writer, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |writer, _| write!(writer, "{value}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.field(field, |writer, _| {
            write!(Sanitized(writer), "{value}")?;
            if value.source().is_some() {
                write!(writer, " {}.sources=[", field.name())?;
                let mut source = value.source();
                while let Some(error) = source {
                    write!(Sanitized(writer), "{error}")?;
                    source = error.source();
                    if source.is_some() {
                        writer.write_str(", ")?;
                    }
                }
                writer.write_char(']')?;
            }
            Ok(())
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |writer, message| {
            if message {
                write!(Sanitized(writer), "{value:?}")
            } else {
                write!(writer, "{value:?}")
            }
        });
    }
}

/// Escapes the characters that could drive a terminal, as the default format does, so that a
/// logged value cannot rewrite what an operator sees.
struct Sanitized<'a, 'b>(&'a mut Writer<'b>);

impl fmt::Write for Sanitized<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.find(drives_a_terminal) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            if c < '\u{80}' {
                write!(self.0, "\\x{:02x}", u32::from(c))?;
            } else {
                write!(self.0, "{}", c.escape_unicode())?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// Escape, the bell, backspace, form feed, delete and the C1 controls.
fn drives_a_terminal(c: char) -> bool {
    matches!(
        c,
        '\x07' | '\x08' | '\x0c' | '\x1b' | '\x7f' | '\u{80}'..='\u{9f}'
    )
}

/// Writes `now`, the time since the Unix epoch, as `2026-11-21T10:00:00.123456Z`.
fn write_timestamp(writer: &mut impl fmt::Write, now: Duration) -> fmt::Result {
    thread_local! {
        /// The last second written, and its text up to the fraction.
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let (seconds, micros) = (now.as_secs(), now.subsec_micros());
    SECOND
        .try_with(|cached| {
            let (second, text) = &mut *cached.borrow_mut();
            if *second != seconds {
                *second = seconds;
                text.clear();
                write_second(text, seconds)?;
            }
            write!(writer, "{text}{micros:06}Z")
        })
        // A line logged while this thread exits, after its cache is gone.
        .unwrap_or_else(|_| {
            write_second(writer, seconds)?;
            write!(writer, "{micros:06}Z")
        })
}

/// Writes a second since the Unix epoch as `2026-11-21T10:00:00.`, ready for the fraction.
fn write_second(writer: &mut impl fmt::Write, seconds: u64) -> fmt::Result {
    let (year, month, day) = civil_date(seconds / 86_400);
    let time = seconds % 86_400;
    let (hour, minute, second) = (time / 3600, time / 60 % 60, time % 60);
    write!(writer, "{year:04}-{month:02}-{day:02}")?;
    write!(writer, "T{hour:02}:{minute:02}:{second:02}.")
}

/// The Gregorian date of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    (era * 400 + year_of_era + u64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex, PoisonError};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut captured = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            captured.extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl MakeWriter<'_> for Captured {
        type Writer = Self;

        fn make_writer(&self) -> Self {
            self.clone()
        }
    }

    #[derive(Debug)]
    struct Failure(&'static str, Option<Box<Failure>>);

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Failure {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    fn log_every_kind_of_field() {
        let outer = tracing::info_span!("request", id = 7, path = "/pets");
        let _outer = outer.enter();
        let _inner = tracing::info_span!("hook").entered();
        let error = Failure("denied", Some(Box::new(Failure("key store down", None))));
        tracing::info!(hook = "Pre", latency_us = 12_u64, ok = true, "dispatch");
        tracing::warn!(r#type = -3_i64, ratio = 0.5, list = ?[1, 2], shown = %"a b", "mixed");
        tracing::error!(error = &error as &dyn std::error::Error, "failed");
        tracing::info!(
            value = "quote \" backslash \\ tab \t é \u{1b}[31m",
            "message with \u{1b}[2J and \u{9b}"
        );
        tracing::info!(only = 1, dir = "C:\\temp", said = "\"hi\"");
    }

    #[test]
    fn lines_match_the_default_format_after_the_timestamp() {
        let ours = Captured::default();
        let default = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(ours.clone())
            .with_ansi(false)
            .event_format(Line)
            .finish();
        tracing::subscriber::with_default(subscriber, log_every_kind_of_field);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(default.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, log_every_kind_of_field);

        let (ours, default) = (ours.lines(), default.lines());
        assert_eq!(ours.len(), 5, "{ours:#?}");
        for (ours, default) in ours.iter().zip(&default) {
            assert_eq!(ours[27..], default[27..]);
            assert_eq!(ours.as_bytes()[26], b'Z', "{ours}");
        }
        assert_eq!(ours.len(), default.len());
        assert!(
            ours[0][27..].starts_with(r#"  INFO request{id=7 path="/pets"}:hook: "#),
            "{}",
            ours[0]
        );
        assert!(
            ours[0].ends_with(r#": dispatch hook="Pre" latency_us=12 ok=true"#),
            "{}",
            ours[0]
        );
    }

    #[test]
    fn timestamps_are_utc_and_microseconds() {
        let mut text = String::new();
        write_timestamp(&mut text, Duration::new(1_700_000_000, 123_456_789)).unwrap();
        write_timestamp(&mut text, Duration::new(1_700_000_000, 999_999)).unwrap();
        write_timestamp(&mut text, Duration::new(951_782_400, 0)).unwrap();
        assert_eq!(
            text,
            "2023-11-14T22:13:20.123456Z2023-11-14T22:13:20.000999Z2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn dates_follow_the_gregorian_calendar() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(11_017), (2000, 3, 1));
        assert_eq!(civil_date(19_782), (2024, 2, 29));
        assert_eq!(civil_date(20_818), (2026, 12, 31));
        assert_eq!(civil_date(20_819), (2027, 1, 1));
    }
}
