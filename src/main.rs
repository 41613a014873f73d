//! The `weekbell` command. All behaviour lives in the library; `cli` presents it.

mod cli;

/// mimalloc: importing a 100,000-row list makes about a million small allocations, and glibc
/// malloc spent a quarter of the import time consolidating free lists.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
