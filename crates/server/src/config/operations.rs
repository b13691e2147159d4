//! Running the service: housekeeping and log format.

use std::time::Duration;

use anyhow::bail;

use super::source::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct OperationsConfig {
    /// `AUTH_HOUSEKEEPING_INTERVAL_MS`: how often each instance sweeps
    /// expired data.
    pub housekeeping_interval: Duration,
    /// `AUTH_LOG_FORMAT` (or the older `LOG_FORMAT`), `text` or `json`.
    /// Read by the logger before the configuration (it must report
    /// configuration errors); validated here.
    pub log_format: LogFormat,
}

impl OperationsConfig {
    pub(super) fn read<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<Self> {
        Ok(Self {
            housekeeping_interval: s.millis("AUTH_HOUSEKEEPING_INTERVAL_MS", 60_000)?,
            log_format: log_format(s)?,
        })
    }
}

fn log_format<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<LogFormat> {
    // LOG_FORMAT is the older name, still honoured by the logger.
    let legacy = s.raw("LOG_FORMAT");
    let value = s.string("AUTH_LOG_FORMAT", legacy.as_deref().unwrap_or("text"));
    match value.to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => bail!("AUTH_LOG_FORMAT must be text or json, got {value:?}"),
    }
}
