//! `weir server`: the engine on the SQLite store in the data directory, behind the AWS-compatible
//! API on one port, until SIGTERM or Ctrl-C (then requests in flight finish and the store flushes
//! its last commits).
//!
//! Functions: the server loads those stored in its data directory, then registers the
//! `--functions` file's. Their stderr lines are `tracing` DEBUG events (`--log-level
//! functions=debug,info` shows them); every attempt's output is kept as a task log (`weir logs`).

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
    /// A function registry file (see the `functions` crate) whose functions are registered, and
    /// stored, on start, besides those the store keeps from earlier runs and the API.
    pub functions: Option<PathBuf>,
    /// Queues and topics to create or update on start (see `resources`).
    pub resources: Option<PathBuf>,
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
    let (store, registry) = crate::durable::open_functions(
        &options.data,
        options.functions.as_deref(),
        functions::Echo::Debug,
    )
    .await?;
    let engine = crate::durable::start_engine(
        store,
        registry.clone(),
        clock(options.time_scale),
        Options {
            region: options.region.clone(),
            account: options.account.clone(),
            ..Options::default()
        },
    )
    .await?;
    if let Some(resources) = &options.resources {
        crate::resources::apply(&engine, resources).await?;
    }
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
    let polls = engine.clone();
    let api = api::Api {
        engine,
        functions: registry,
        region: options.region,
        account: options.account,
        keys,
    };
    // Stopping waits for requests in flight; long polls (GetActivityTask, ReceiveMessage) end
    // at once, empty.
    let stop = async move {
        shutdown_signal().await;
        polls.close_activity_polls();
        polls.close_queue_polls();
    };
    api::serve(listener, api, stop)
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
