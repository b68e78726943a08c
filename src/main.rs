//! `plink`: see the library documentation for the architecture.

fn main() -> std::process::ExitCode {
    plink::cli::main()
}
