//! `include_dir` does not notice new template or runtime files on its own (`include_dir` issue
//! 120).

fn main() {
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=runtime");
}
