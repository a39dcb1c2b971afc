//! Logging: human-readable text by default, one JSON object per line for log collectors.
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

pub fn init(format: &LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second initialisation (tests start many apps in one process) is harmless.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// One line holding an error and its causes: the one format for logs and for messages that
/// end the process (never a backtrace, which can run to hundreds of kilobytes).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line.replace('\n', " ")
}

/// A short random reference shown to people on unexpected errors (a page, an import's
/// outcome) and written to the log beside the full cause, so one can be found from the other.
pub fn short_reference() -> String {
    format!("{:08x}", rand::random::<u32>())
}
