//! `fairdraw`: run and verify provably fair giveaway draws.
//!
//! The CLI is a thin shell over `fairdraw-engine`: it reads files, the clock
//! and the OS random generator, and hands the engine everything as arguments.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` that exits quietly when stdout is closed (`fairdraw verify … | head`)
/// instead of panicking on a broken pipe.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: cannot write to stdout: {e}");
            std::process::exit(i32::from($crate::exit::ERROR));
        }
    }};
}

mod commands;
mod entries;
mod files;
mod keyfile;

use fairdraw_runtime as plugin;

/// Exit codes scripts can rely on.
pub mod exit {
    /// Bad input, usage or I/O: the command could not run.
    pub const ERROR: u8 = 2;
    /// `verify`: the bundle failed a verification step.
    pub const NOT_VERIFIED: u8 = 1;
    /// `prove`: the entrant's entries were all excluded by the rules.
    pub const EXCLUDED: u8 = 3;
    /// `prove`: no entry from that entrant.
    pub const NO_ENTRY: u8 = 4;
    /// `prove`: several accounts match the entrant; name one as `platform:user_id`.
    pub const AMBIGUOUS: u8 = 5;
}

#[derive(Parser, Debug)]
#[command(
    name = "fairdraw",
    version,
    about = "Provably fair giveaway draws that anyone can verify"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a new Ed25519 signing key.
    Keygen(commands::keygen::Args),
    /// Apply the rules to the entries, commit to the eligible list and sign the lock receipt.
    Lock(commands::lock::Args),
    /// Draw the winners of a locked draw from its randomness and write the proof bundle.
    Execute(commands::execute::Args),
    /// Lock and execute in one step, with commit-reveal randomness.
    Draw(commands::draw::Args),
    /// Re-do every step of a proof bundle and report each one.
    Verify(commands::verify::Args),
    /// Show an entrant's tickets and Merkle inclusion proof, or why they were excluded.
    Prove(commands::prove::Args),
    /// Run the RFC 3797 (NomCom) selection on a pool of N positions.
    Rfc3797(commands::rfc3797::Args),
    /// List, inspect and install plugins.
    Plugin(commands::plugin::Args),
    /// Fetch the entries of one or more posts, on one or more platforms, through source plugins.
    Fetch(commands::fetch::Args),
    /// Fetch a drand beacon through a plugin, verify it and write it for `execute`.
    Beacon(commands::beacon::Args),
    /// Serve the HTTP API (organisations, draws, public proofs).
    Serve(commands::serve::Args),
    /// Manage the server's organisations and keys in its database.
    Admin(commands::admin::Args),
    /// Run a transparency-log witness that cosigns consistent checkpoints.
    Witness(commands::witness::Args),
    /// Read a transparency log: `log monitor URL` checks it and lists hidden draws.
    Log(commands::log::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(a) => commands::keygen::run(a),
        Command::Lock(a) => commands::lock::run(a),
        Command::Execute(a) => commands::execute::run(a),
        Command::Draw(a) => commands::draw::run(a),
        Command::Verify(a) => commands::verify::run(a),
        Command::Prove(a) => commands::prove::run(a),
        Command::Rfc3797(a) => commands::rfc3797::run(a),
        Command::Plugin(a) => commands::plugin::run(a),
        Command::Fetch(a) => commands::fetch::run(a),
        Command::Beacon(a) => commands::beacon::run(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Admin(a) => commands::admin::run(a),
        Command::Witness(a) => commands::witness::run(a),
        Command::Log(a) => commands::log::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(exit::ERROR)
        }
    }
}
