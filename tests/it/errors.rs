//! How errors read: the report of each error that `main` prints, in full.

use std::collections::BTreeMap;
use std::path::PathBuf;

use grpc_scaffold::report;

fn plain(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

#[test]
fn a_broken_proto_shows_file_line_column_and_snippet() {
    let source =
        "syntax = \"proto3\";\n\npackage demo.v1;\n\nmessage Reply {\n  string text = 1\n}\n";
    let files = BTreeMap::from([(PathBuf::from("proto/demo/v1/api.proto"), source.to_owned())]);
    let err = grpc_scaffold::proto::compile("basic", &files).unwrap_err();
    insta::assert_snapshot!(plain(&report::render(&err)));
}

#[test]
fn an_undefined_type_points_at_its_use() {
    let source = "syntax = \"proto3\";\npackage demo.v1;\nservice Api {\n  rpc Get(Missing) returns (Missing);\n}\n";
    let files = BTreeMap::from([(PathBuf::from("proto/demo/v1/api.proto"), source.to_owned())]);
    let err = grpc_scaffold::proto::compile("basic", &files).unwrap_err();
    insta::assert_snapshot!(plain(&report::render(&err)));
}
