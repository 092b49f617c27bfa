//! Build script: embeds every pattern crate's source in the runner, so the report it writes
//! shows the two styles side by side from the very code that was measured, with no file to
//! find at run time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, io};

fn main() -> io::Result<()> {
    // This crate is `crates/runner`: its parent holds every pattern crate.
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let crates = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
    println!("cargo::rerun-if-changed={}", crates.display());
    let mut table = String::from(
        "/// Every pattern crate's source file: (pattern, style, file name, text), sorted.\n\
         pub(crate) const SOURCES: &[(&str, &str, &str, &str)] = &[\n",
    );
    for (pattern, style, dir) in pattern_dirs(&crates)? {
        let src = dir.join("src");
        println!("cargo::rerun-if-changed={}", src.display());
        let mut files = Vec::new();
        rust_files(&src, &mut files)?;
        files.sort();
        for file in files {
            println!("cargo::rerun-if-changed={}", file.display());
            // The path under `src/`, so `report/svg.rs` stays apart from a top-level `svg.rs`.
            let name = file.strip_prefix(&src).unwrap_or(&file).to_string_lossy();
            // `{:?}` writes each string as a Rust literal, escapes included.
            writeln!(
                table,
                "    ({pattern:?}, {style:?}, {name:?}, include_str!({:?})),",
                file.display().to_string()
            )
            .map_err(io::Error::other)?;
        }
    }
    table.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    fs::write(out.join("sources.rs"), table)?;
    fs::write(
        out.join("peer_benches.rs"),
        peer_benches(&crates.join("bench").join("benches"))?,
    )
}

/// The ecosystem benches, `crates/bench/benches/*_peers.rs`, as a table of (bench name, the
/// first line of its `//!` doc), so the report can name the command for each one not yet run.
fn peer_benches(dir: &Path) -> io::Result<String> {
    let mut benches = Vec::new();
    if dir.is_dir() {
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(name) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            if name.ends_with("_peers") && path.extension().is_some_and(|x| x == "rs") {
                let text = fs::read_to_string(&path)?;
                let about = text
                    .lines()
                    .find_map(|l| l.strip_prefix("//!"))
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                benches.push((name, about));
            }
        }
    }
    benches.sort();
    let mut table = String::from(
        "/// Every `crates/bench/benches/*_peers.rs`: (bench name, first line of its doc), sorted.\n\
         pub(crate) const PEER_BENCHES: &[(&str, &str)] = &[\n",
    );
    for (name, about) in benches {
        writeln!(table, "    ({name:?}, {about:?}),").map_err(io::Error::other)?;
    }
    table.push_str("];\n");
    Ok(table)
}

/// Every `.rs` file under `dir`, subfolders included.
fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo::rerun-if-changed={}", path.display());
            rust_files(&path, into)?;
        } else if path.extension().is_some_and(|x| x == "rs") {
            into.push(path);
        }
    }
    Ok(())
}

/// Every `crates/<pattern>-async` that has a `crates/<pattern>-threads` twin, both ways round,
/// sorted by pattern then style.
fn pattern_dirs(crates: &Path) -> io::Result<Vec<(String, &'static str, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(crates)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(pattern) = name.strip_suffix("-async")
            && crates.join(format!("{pattern}-threads")).is_dir()
        {
            found.push((pattern.to_owned(), "async", crates.join(&name)));
            found.push((
                pattern.to_owned(),
                "threads",
                crates.join(format!("{pattern}-threads")),
            ));
        }
    }
    found.sort();
    Ok(found)
}
