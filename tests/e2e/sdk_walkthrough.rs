//! The plugin SDK's walk-through (plugins/sdk/README.md, from "Walk-through"
//! to "Reference") runs as written: create the crate outside the checkout,
//! write the plugin, test it against recorded responses, build the
//! component, write the manifest and install it with `fairdraw`.
//!
//! Its shell blocks run in order in one `bash` script. A code block is
//! written to the file that the prose just before it names (`src/lib.rs`,
//! `tests/recorded.rs`, `plugin.toml`). `$FAIRDRAW` is this checkout,
//! fairdraw's data directory is temporary, and the toolchain is the one
//! `rust-toolchain.toml` pins (the walk-through asks for Rust 1.95 or later).
//! It needs the crates.io registry, as a plugin author would.

use std::ffi::OsString;
use std::fs;
use std::time::Duration;

use crate::bin::workspace;
use crate::script::{Block, fenced_blocks, run_bash};

/// Building the crate natively and as a component, from cold.
const TIMEOUT: Duration = Duration::from_secs(900);

/// The walk-through as one script.
fn walkthrough_script(readme: &str) -> Result<String, String> {
    let start = readme
        .find("## Walk-through")
        .ok_or("no `## Walk-through` section")?;
    let end = readme[start..]
        .find("\n## Reference")
        .map_or(readme.len(), |n| start + n);
    let mut script = String::new();
    for block in fenced_blocks(&readme[start..end]) {
        if !block.closed {
            return Err(format!(
                "a block of the walk-through is never closed: {block:?}"
            ));
        }
        match block.info {
            "sh" => script.push_str(&block.body),
            _ => {
                let file = target_file(&block).ok_or_else(|| {
                    format!(
                        "the prose before the `{}` block does not name the file it goes in: {:?}",
                        block.info, block.before
                    )
                })?;
                script.push_str(&format!(
                    "mkdir -p \"$(dirname '{file}')\"\ncat > '{file}' <<'WALKTHROUGH_EOF'\n{}WALKTHROUGH_EOF\n",
                    block.body
                ));
            }
        }
    }
    Ok(script)
}

/// The first file named in backticks (`src/lib.rs`, `plugin.toml`) in the
/// prose's last paragraph before a code block.
fn target_file(block: &Block<'_>) -> Option<String> {
    let paragraph = block.before.trim_end().rsplit("\n\n").next()?;
    paragraph
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|name| !name.contains(' ') && [".rs", ".toml"].iter().any(|ext| name.ends_with(ext)))
        .map(str::to_owned)
}

/// The toolchain `rust-toolchain.toml` pins.
fn pinned_toolchain() -> String {
    let text =
        fs::read_to_string(workspace().join("rust-toolchain.toml")).expect("rust-toolchain.toml");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("channel"))
        .and_then(|rest| rest.split('"').nth(1))
        .expect("a channel in rust-toolchain.toml")
        .to_owned()
}

#[test]
fn the_sdk_walkthrough_runs_as_written() {
    let readme_path = workspace().join("plugins/sdk/README.md");
    let readme = fs::read_to_string(&readme_path).expect("read the SDK README");
    let script =
        walkthrough_script(&readme).unwrap_or_else(|e| panic!("{}: {e}", readme_path.display()));
    let script = script + "fairdraw plugin list | grep -q bluesky-likes\n";

    let dir = tempfile::tempdir().expect("temporary directory");
    let env: Vec<(&str, OsString)> = vec![
        ("FAIRDRAW", workspace().into_os_string()),
        ("XDG_DATA_HOME", dir.path().join("data").into_os_string()),
        ("RUSTUP_TOOLCHAIN", pinned_toolchain().into()),
        // The author's crate has its own target directory.
        (
            "CARGO_TARGET_DIR",
            dir.path().join("bluesky-likes/target").into_os_string(),
        ),
    ];
    let outcome = run_bash(dir.path(), &script, &env, TIMEOUT);
    let Some(status) = outcome.status else {
        panic!(
            "the walk-through ran longer than {TIMEOUT:?}\n{}",
            outcome.report
        )
    };
    assert!(
        status.success(),
        "the SDK walk-through failed ({status})\n{}",
        outcome.report
    );
}

#[test]
fn code_blocks_go_to_the_file_the_prose_names() {
    let md = "## Walk-through\n\nReplace `src/lib.rs` with:\n\n```rust\nfn a() {}\n```\n\n\
              ```sh\ncargo test\n```\n\n`plugin.toml`, next to `Cargo.toml`:\n\n```toml\nid = 1\n```\n\n## Reference\n";
    let script = walkthrough_script(md).expect("script");
    assert!(
        script.contains("cat > 'src/lib.rs' <<'WALKTHROUGH_EOF'\nfn a() {}\nWALKTHROUGH_EOF\n"),
        "{script}"
    );
    assert!(script.contains("cargo test\n"), "{script}");
    assert!(script.contains("cat > 'plugin.toml'"), "{script}");
    let unnamed = "## Walk-through\n\nThen:\n\n```rust\nfn a() {}\n```\n";
    assert!(walkthrough_script(unnamed).is_err_and(|e| e.contains("does not name the file")));
}
