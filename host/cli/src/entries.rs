//! Reading entry files from disk; the parsing itself is the engine's
//! ([`fairdraw_engine::entry_file`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use fairdraw_engine::entry::OwnedEntry;
use fairdraw_engine::entry_file::{self, Format};

use crate::files;

/// Reads entry files and groups their entries by collection.
pub fn load(paths: &[impl AsRef<Path>]) -> Result<BTreeMap<String, Vec<OwnedEntry>>> {
    let mut all = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let bytes = files::read(path)?;
        let format = Format::detect(path.file_name().and_then(|n| n.to_str()), &bytes);
        all.extend(
            entry_file::parse(format, &bytes).with_context(|| format!("{}", path.display()))?,
        );
    }
    Ok(entry_file::group(all))
}
