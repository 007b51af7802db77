//! Every spelling rule in one place: Cargo package names, and the names that prost and tonic give
//! to the code they generate.
//!
//! The generated projects call tonic's generated code by name (`greeter_server::GreeterServer`,
//! `SayHelloStream`, ...). If these rules drift from tonic's, the generated project stops compiling,
//! so they are pinned by a table test below.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Words that Rust reserves, in every edition we generate for.
const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "gen", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// Words that cannot even be raw identifiers: prost appends an underscore instead.
const NON_RAW_KEYWORDS: &[&str] = &["_", "self", "Self", "super", "crate", "extern"];

/// The longest package name crates.io accepts.
const MAX_NAME_LEN: usize = 64;

/// Crate names that would shadow a crate every Rust program sees.
const RESERVED_CRATE_NAMES: &[&str] = &["test", "std", "core", "alloc", "proc_macro"];

/// Is `word` reserved by Rust?
pub fn is_rust_keyword(word: &str) -> bool {
    RUST_KEYWORDS.contains(&word)
}

/// The Rust crate name of a Cargo package: dashes become underscores, as Cargo does.
pub fn crate_name(package: &str) -> String {
    package.replace('-', "_")
}

/// Whether the last part of a proto package is a version as buf's lint takes one: `v1`,
/// `v2beta1`, `v1alpha`. Forms rarer than those (`v1p1beta1`, `v1test`) count as not, which
/// only lists them as exceptions that they do not need.
pub fn is_package_version(part: &str) -> bool {
    let Some(rest) = part.strip_prefix('v') else {
        return false;
    };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (major, rest) = rest.split_at(digits);
    let stability = ["alpha", "beta"]
        .iter()
        .find_map(|word| rest.strip_prefix(word));
    !major.is_empty()
        && !major.starts_with('0')
        && match stability {
            Some("") => true,
            Some(number) => number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0'),
            None => rest.is_empty(),
        }
}

/// A name in `PascalCase` as buf's lint makes it: the first letter and each letter after `_`, `-`,
/// `.` or a space are capitalised, the separators dropped, and other letters kept as they are.
pub fn buf_pascal_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.') || c.is_whitespace() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Why `name` cannot be a package name here, if it cannot.
///
/// The name becomes a Cargo package, a Rust crate, binary names and the first segment of the
/// proto packages, so it must be valid as all of them: lowercase ASCII words separated by single
/// `-` or `_`, starting with a letter.
pub fn check_package_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name cannot be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("the name is longer than {MAX_NAME_LEN} characters"));
    }
    if name.contains(['/', '\\']) || name.contains("..") {
        return Err("the name cannot contain a path".into());
    }
    let first = name.chars().next().unwrap_or_default();
    if first.is_ascii_digit() {
        return Err("the name cannot start with a digit".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(if bad.is_ascii_uppercase() {
            "the name must be lowercase".into()
        } else {
            format!("the character `{bad}` is not allowed; use letters, digits, `-` and `_`")
        });
    }
    if !first.is_ascii_lowercase() || name.ends_with(['-', '_']) || has_double_separator(name) {
        return Err(
            "words must be separated by a single `-` or `_`, and the name must start with a letter"
                .into(),
        );
    }
    let krate = crate_name(name);
    if is_rust_keyword(&krate) {
        return Err("it is a Rust keyword".into());
    }
    if RESERVED_CRATE_NAMES.contains(&krate.as_str()) {
        return Err(format!("it would shadow Rust's built-in `{krate}` crate"));
    }
    Ok(())
}

fn has_double_separator(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|pair| matches!(pair, [b'-' | b'_', b'-' | b'_']))
}

/// A valid package name close to `name`, for the `help:` line of an invalid one.
pub fn suggest_package_name(name: &str) -> String {
    let words: Vec<String> = name
        .rsplit(['/', '\\'])
        .find(|part| !part.is_empty() && *part != "." && *part != "..")
        .unwrap_or_default()
        .to_snake_case()
        .split('_')
        .filter(|word| !word.is_empty() && word.is_ascii())
        .map(str::to_owned)
        .collect();
    let mut suggestion = words.join("-");
    suggestion.truncate(MAX_NAME_LEN - "-service".len());
    let suggestion_end = suggestion.trim_end_matches('-').len();
    suggestion.truncate(suggestion_end);
    let starts_with_letter = suggestion.starts_with(|c: char| c.is_ascii_lowercase());
    if !starts_with_letter {
        suggestion = if suggestion.is_empty() {
            "my-service".to_owned()
        } else {
            format!("svc-{suggestion}")
        };
    }
    if check_package_name(&suggestion).is_err() {
        suggestion.push_str("-service");
    }
    suggestion
}

/// prost's rule for a module, field or method name: snake case, keywords escaped.
pub fn rust_snake(name: &str) -> String {
    escape(name.to_snake_case())
}

/// prost's rule for a type name: upper camel case, keywords escaped.
pub fn rust_camel(name: &str) -> String {
    escape(name.to_upper_camel_case())
}

fn escape(ident: String) -> String {
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{ident}")
    } else if NON_RAW_KEYWORDS.contains(&ident.as_str()) {
        format!("{ident}_")
    } else if is_rust_keyword(&ident) {
        format!("r#{ident}")
    } else {
        ident
    }
}

/// The Rust module path of a proto package, as `tonic::include_proto!` nests it.
pub fn package_module_path(package: &str) -> Vec<String> {
    package.split('.').map(rust_snake).collect()
}

/// tonic's server module for a proto service: `HTTPService` -> `http_service_server`.
pub fn server_module(service: &str) -> String {
    format!("{}_server", tonic_snake(&rust_camel(service)))
}

/// tonic's client module for a proto service: `HTTPService` -> `http_service_client`.
pub fn client_module(service: &str) -> String {
    format!("{}_client", tonic_snake(&rust_camel(service)))
}

/// tonic's own snake case, applied to prost's camel-case service name: every uppercase letter
/// starts a new word.
fn tonic_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c.to_ascii_lowercase());
        if chars.peek().is_some_and(char::is_ascii_uppercase) {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case_as_buf_makes_it() {
        for (name, pascal) in [
            ("SayHello", "SayHello"),
            ("say_hello", "SayHello"),
            ("ListURLs", "ListURLs"),
            ("get-v2.item", "GetV2Item"),
        ] {
            assert_eq!(buf_pascal_case(name), pascal, "{name}");
        }
    }

    #[test]
    fn package_versions_as_buf_takes_them() {
        for good in ["v1", "v2", "v10", "v1beta1", "v2alpha", "v3beta"] {
            assert!(is_package_version(good), "{good}");
        }
        for bad in [
            "", "v", "v0", "v01", "1", "version1", "v1x", "v1beta1x", "greeting", "V1",
        ] {
            assert!(!is_package_version(bad), "{bad}");
        }
    }

    #[test]
    fn tonic_names() {
        // (proto service, server module, client module)
        let table = [
            ("Greeter", "greeter_server", "greeter_client"),
            (
                "GreetingService",
                "greeting_service_server",
                "greeting_service_client",
            ),
            ("HTTPService", "http_service_server", "http_service_client"),
            ("Dispatcher", "dispatcher_server", "dispatcher_client"),
            (
                "ExternalProcessor",
                "external_processor_server",
                "external_processor_client",
            ),
            ("v2_api", "v2_api_server", "v2_api_client"),
        ];
        for (service, server, client) in table {
            assert_eq!(server_module(service), server, "{service}");
            assert_eq!(client_module(service), client, "{service}");
        }
    }

    #[test]
    fn prost_names() {
        // (proto name, snake, camel)
        let table = [
            ("SayHello", "say_hello", "SayHello"),
            ("GetURL", "get_url", "GetUrl"),
            ("Type", "r#type", "Type"),
            ("match", "r#match", "Match"),
            ("self", "self_", "Self_"),
            ("async", "r#async", "Async"),
            ("extern", "extern_", "Extern"),
            ("HTTPService", "http_service", "HttpService"),
        ];
        for (name, snake, camel) in table {
            assert_eq!(rust_snake(name), snake, "{name}");
            assert_eq!(rust_camel(name), camel, "{name}");
        }
    }

    #[test]
    fn package_paths() {
        assert_eq!(
            package_module_path("billing_plugin.greeting.v1"),
            ["billing_plugin", "greeting", "v1"]
        );
        assert_eq!(package_module_path("async.api"), ["r#async", "api"]);
    }

    #[test]
    fn package_names() {
        for good in ["demo", "billing-plugin", "my_api2", "a1-b2_c3"] {
            assert_eq!(check_package_name(good), Ok(()), "{good}");
        }
        // (bad name, a valid suggestion)
        let table = [
            ("", "my-service"),
            ("fn", "fn-service"),
            ("test", "test-service"),
            ("1password", "svc-1password"),
            ("../escape", "escape"),
            ("a/b", "b"),
            ("Billing", "billing"),
            ("billing plugin", "billing-plugin"),
            ("trailing-", "trailing"),
            ("self", "self-service"),
            (&"a".repeat(65), &"a".repeat(56)),
        ];
        for (bad, suggestion) in table {
            assert!(
                check_package_name(bad).is_err(),
                "{bad:?} should be invalid"
            );
            assert_eq!(suggest_package_name(bad), suggestion, "{bad:?}");
            assert_eq!(check_package_name(suggestion), Ok(()), "{suggestion:?}");
        }
    }
}
