//! `weekbell run`: the daemon.

use super::{Cli, CliError, init_logging};
use std::sync::Arc;
use weekbell::clock::SystemClock;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    init_logging();
    // One thread is plenty for a process that mostly sleeps until the next slot and waits on
    // the network, and it keeps the idle daemon small (no per-thread heaps and stacks).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        weekbell::daemon::run(&cli.config, Arc::new(SystemClock), shutdown_signal()).await
    })?;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); Ctrl-C still stops weekbell");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
