//! `include_dir` does not notice new template files on its own (`include_dir` issue 120).

fn main() {
    println!("cargo:rerun-if-changed=templates");
}
