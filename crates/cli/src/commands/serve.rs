//! `authbench serve session`: bind, print `listening on http://ADDR`, serve until SIGTERM/Ctrl-C.

use std::io::Write as _;

use anyhow::Context as _;
use authbench_core::http::shutdown_signal;
use authbench_core::store_url::redact;
use authbench_session_server::{AppState, Config, Options};
use tokio::net::TcpListener;

use crate::args::SessionArgs;

pub async fn session(args: SessionArgs) -> anyhow::Result<()> {
    let config = Config::new(
        args.ttl,
        args.idle_timeout,
        args.touch,
        args.max_sessions_per_user,
        !args.insecure_cookie,
    )?;
    let common = args.common;
    let mut options = Options::new(common.main_db.clone(), args.store.clone());
    options.store_timeout = common.store_timeout;
    options.request_timeout = common.request_timeout;
    options.password_cost = common.argon2.cost();
    options.balance_source = common.balance_source;
    options.config = config;

    let state = AppState::open(&options).await.with_context(|| {
        format!(
            "cannot start the session server (main_DB {}, store {})",
            redact(&common.main_db),
            args.store
        )
    })?;
    let listener = TcpListener::bind(common.listen)
        .await
        .with_context(|| format!("cannot listen on {} (--listen)", common.listen))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    tracing::info!(
        store = %args.store,
        main_db = %redact(&common.main_db),
        ttl = ?options.config.ttl,
        idle_timeout = ?options.config.idle_timeout,
        touch = ?options.config.touch,
        "session server ready"
    );
    // The load generator starts servers on port 0 and reads this exact line.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{address}")?;
    stdout.flush()?;
    drop(stdout);

    authbench_session_server::serve(listener, state, shutdown_signal()).await;
    tracing::info!("session server stopped");
    Ok(())
}
