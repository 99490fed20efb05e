//! The `tessera` binary: no subcommand opens the GUI; subcommands are the CLI contracts.

/// Counts allocations for `tessera bench timeline`; otherwise the system allocator.
#[global_allocator]
static ALLOCATOR: tessera::alloc_count::Counting = tessera::alloc_count::Counting;

fn main() -> std::process::ExitCode {
    tessera::cli::main()
}
