//! One module per subcommand.

pub mod admin;
pub mod beacon;
pub mod draw;
pub mod execute;
pub mod fetch;
pub mod keygen;
pub mod lock;
pub mod log;
pub mod plugin;
pub mod prove;
pub mod rfc3797;
pub mod serve;
pub mod verify;
pub mod witness;

use fairdraw_engine::bundle::Pick;
use fairdraw_engine::text::escape_for_display as esc;

/// Prints winners and alternates, one per line (bundle strings escaped).
pub fn print_picks(winners: &[Pick], alternates: &[Pick]) {
    let roles = winners
        .iter()
        .enumerate()
        .map(|(i, p)| ("winner", i, p))
        .chain(
            alternates
                .iter()
                .enumerate()
                .map(|(i, p)| ("alternate", i, p)),
        );
    for (role, i, p) in roles {
        outln!(
            "  {role} {:>3}: {} ({} on {}, {} ticket(s), leaf {})",
            i + 1,
            esc(&p.entry.handle),
            esc(&p.entry.user_id),
            esc(&p.entry.platform),
            p.tickets,
            p.leaf_index
        );
    }
}
