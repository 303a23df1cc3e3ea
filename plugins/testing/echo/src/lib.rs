//! Test plugin: a filter that excludes every entry and gives, as the
//! reason, the entry exactly as the SDK decoded it from the host's
//! `entry-batch`. The host's tests compare that with what they sent, so the
//! batch layout is checked end to end: the host's encoder, the canonical ABI
//! and the SDK's decoder.

use fairdraw_plugin_sdk::{EntryRef, Filter, Verdict};

/// The echo filter.
#[derive(Debug)]
pub struct Echo;

impl Filter for Echo {
    type Config = ();

    fn verdict(e: &EntryRef<'_>, _: &()) -> Verdict {
        Verdict::Exclude(format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            e.platform,
            e.user_id,
            e.handle,
            e.display_name,
            e.text,
            e.created_at,
            e.followers,
            e.account_created_at
        ))
    }
}

fairdraw_plugin_sdk::export_filter!(Echo);
