//! One module per subcommand.

pub mod admin;
pub mod beacon;
pub mod draw;
pub mod execute;
pub mod fetch;
pub mod keygen;
pub mod lock;
pub mod plugin;
pub mod prove;
pub mod rfc3797;
pub mod serve;
pub mod verify;

use fairdraw_engine::bundle::Pick;

/// Prints winners and alternates, one per line.
pub fn print_picks(winners: &[Pick], alternates: &[Pick]) {
    for (i, p) in winners.iter().enumerate() {
        outln!(
            "  winner {:>3}: {} ({} on {}, {} ticket(s), leaf {})",
            i + 1,
            p.entry.handle,
            p.entry.user_id,
            p.entry.platform,
            p.tickets,
            p.leaf_index
        );
    }
    for (i, p) in alternates.iter().enumerate() {
        outln!(
            "  alternate {:>3}: {} ({} on {}, {} ticket(s), leaf {})",
            i + 1,
            p.entry.handle,
            p.entry.user_id,
            p.entry.platform,
            p.tickets,
            p.leaf_index
        );
    }
}
