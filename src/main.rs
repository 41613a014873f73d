//! The `weekbell` command. All behaviour lives in the library; `cli` presents it.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
