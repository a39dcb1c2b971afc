#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    coffee_trials::cli::main()
}
