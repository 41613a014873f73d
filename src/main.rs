//! The `weekbell` command. All behaviour lives in the library; `cli` presents it.

mod cli;

/// mimalloc: importing a 100,000-row list makes about a million small allocations, and glibc
/// malloc spent a quarter of the import time consolidating free lists.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc commits whole arenas as soon as it reserves them, which cost the idle daemon about
/// 8 MB of resident memory (25.3 MB in all; 17.1 MB with this). The option must be set before
/// the first arena exists, which is before `main` (the Rust runtime allocates first), so it is
/// set from an ELF constructor.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static LAZY_ARENA_COMMIT: extern "C" fn() = {
    extern "C" fn lazy_arena_commit() {
        /// `mi_option_arena_eager_commit` in mimalloc 2's option enum.
        const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
        // SAFETY: runs once, single-threaded, before any allocation by this program.
        unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) }
    }
    lazy_arena_commit
};

fn main() -> std::process::ExitCode {
    cli::main()
}
