//! `weir server`: the engine on the SQLite store in the data directory, behind the AWS-compatible
//! API on one port, until SIGTERM or Ctrl-C (then requests in flight finish and the store flushes
//! its last commits).

use anyhow::{Context, Result};
use engine::{Options, SystemClock};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How to run the server.
pub struct ServerOptions {
    /// The data directory (`weir.db` inside).
    pub data: PathBuf,
    /// The address to listen on.
    pub bind: String,
    /// The port (0: any free port; the chosen one is printed).
    pub port: u16,
    /// The region in ARNs.
    pub region: String,
    /// The account in ARNs.
    pub account: String,
    /// Run the engine's clock this many times faster than the wall (tests only; 1 is real time).
    pub time_scale: u32,
    /// The function registry Lambda tasks run (see crates/cli/src/functions.rs); none: every
    /// Lambda task fails with Lambda.ResourceNotFoundException.
    pub functions: Option<PathBuf>,
    /// Access keys (`ID:SECRET`) whose SigV4 signatures are required; empty accepts any.
    pub access_keys: Vec<String>,
}

/// Runs the server until it is told to stop.
pub fn run(options: ServerOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(options))
}

async fn serve(options: ServerOptions) -> Result<()> {
    let registry = match &options.functions {
        Some(file) => crate::functions::Registry::load(file)?,
        None => crate::functions::Registry::default(),
    };
    let engine = crate::durable::open_engine(
        &options.data,
        clock(options.time_scale),
        Arc::new(crate::durable::Functions(Arc::new(registry))),
        Options {
            region: options.region.clone(),
            account: options.account.clone(),
            ..Options::default()
        },
    )
    .await?;
    let address = format!("{}:{}", options.bind, options.port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let local: SocketAddr = listener.local_addr().context("no local address")?;
    tracing::info!(address = %local, data = %options.data.display(), "weir server listening.");
    eprintln!("weir: listening on http://{local}");
    let keys = if options.access_keys.is_empty() {
        None
    } else {
        let mut keys = api::sigv4::Keys::new();
        for pair in &options.access_keys {
            let (id, secret) = pair
                .split_once(':')
                .filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
                .with_context(|| {
                    format!("--access-key must be ACCESS_KEY_ID:SECRET, not {pair:?}")
                })?;
            keys.insert(id, secret);
        }
        Some(keys)
    };
    let api = api::Api {
        engine,
        region: options.region,
        account: options.account,
        keys,
    };
    api::serve(listener, api, shutdown_signal())
        .await
        .context("the server failed")?;
    eprintln!("weir: stopped");
    Ok(())
}

/// The wall clock, or a faster one for test servers.
fn clock(scale: u32) -> Arc<dyn engine::Clock> {
    if scale > 1 {
        Arc::new(engine::ScaledClock::new(scale))
    } else {
        Arc::new(SystemClock)
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
