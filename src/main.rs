//! The `kubesim` binary: see [`kubesim::cli`].

fn main() -> std::process::ExitCode {
    kubesim::cli::main()
}
