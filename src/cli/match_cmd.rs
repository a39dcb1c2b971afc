//! `coffee-trials match --input FILE [--seed N]`: pair one instance file (the
//! yardstick's format, with each participant's `modes` and `site`) and print
//! the output JSON on stdout. Bad input exits
//! with status 2 and a message saying what is wrong and where.
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::matching::{self, format};

pub fn run(input: &Path, seed: Option<u64>) -> ExitCode {
    let started = Instant::now();
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", input.display());
            return ExitCode::from(2);
        }
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "error: {}: not UTF-8 (invalid byte at offset {})",
                input.display(),
                e.valid_up_to()
            );
            return ExitCode::from(2);
        }
    };
    let instance = match format::parse_instance(text) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}: {e}", input.display());
            return ExitCode::from(2);
        }
    };
    // Without --seed, the file decides the seed, so rerunning it reproduces the round.
    let seed = seed.unwrap_or_else(|| format::seed_from_bytes(&bytes));
    let loaded = Instant::now();
    let outcome = matching::pair(&instance, seed);
    let solved = Instant::now();

    let doc = format::write_outcome(&outcome);
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_all(doc.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
    {
        eprintln!("error: writing the output: {e}");
        return ExitCode::from(1);
    }
    for u in &outcome.unplaced {
        eprintln!("note: {} not placed: {}", u.id, u.why);
    }
    let s = &outcome.stats;
    let info = serde_json::json!({
        "algo": "coffee-trials",
        "n": instance.participants.len(),
        "seed": seed,
        "method": s.method,
        "cant_meet_pairs": s.cant_meet_pairs,
        "repeats": s.repeats,
        "lower_bound": s.lower_bound,
        "proven_optimal": s.proven_optimal,
        "unplaced": outcome.unplaced.len(),
        "load_seconds": secs(loaded - started),
        "algo_seconds": secs(solved - loaded),
        "write_seconds": secs(solved.elapsed()),
    });
    // The yardstick records a final JSON line on stderr as diagnostics.
    eprintln!("{info}");
    ExitCode::SUCCESS
}

fn secs(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 1e4
}
