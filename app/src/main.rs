//! The `tessera` binary: no subcommand opens the GUI; subcommands are the CLI contracts.

fn main() -> std::process::ExitCode {
    tessera::cli::main()
}
