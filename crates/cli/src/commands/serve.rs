//! `authbench serve session|jwt|resource`: bind, print `listening on http://ADDR`, serve until
//! SIGTERM/Ctrl-C; the JWT server rotates its signing key on SIGHUP.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use authbench_contract::{StoreUrl, Verify, redact};
use authbench_core::http::introspection::{IntrospectionSecret, SECRET_ENV};
use authbench_core::http::shutdown_signal;
use authbench_core::server::CommonOptions;
use tokio::net::TcpListener;

use crate::args::{CommonServerArgs, JwtArgs, ResourceArgs, SessionArgs};

pub async fn session(args: SessionArgs) -> anyhow::Result<()> {
    use authbench_session_server::{AppState, Config, Options};
    let config = Config::new(
        args.ttl,
        args.idle_timeout,
        args.touch,
        args.max_sessions_per_user,
        !args.insecure_cookie,
    )?;
    let common = args.common;
    let options = Options {
        common: common_options(&common, &args.store)?,
        config,
    };

    let state = AppState::open(&options)
        .await
        .context("cannot start the session server")?;
    let listener = bind(&common).await?;
    tracing::info!(
        store = %args.store,
        main_db = %redact(&common.main_db),
        ttl = ?options.config.ttl,
        idle_timeout = ?options.config.idle_timeout,
        touch = ?options.config.touch,
        "session server ready"
    );
    announce(&listener)?;
    authbench_session_server::serve(listener, state, stop_when(&common)).await;
    tracing::info!("session server stopped");
    Ok(())
}

pub async fn jwt(args: JwtArgs) -> anyhow::Result<()> {
    use authbench_jwt_server::{AppState, Config, KeySource, Options};
    let config = Config {
        access_ttl: args.access_ttl,
        refresh_ttl: args.refresh_ttl,
        issuer: args.claims.issuer,
        audience: args.claims.audience,
        leeway: args.claims.leeway,
        revocation: args.revocation,
        transport: args.transport,
        secure_cookie: !args.insecure_cookie,
        access_token: args.access_token,
    }
    .validated()?;
    let key = match (&args.key_file, &args.secret) {
        (Some(_), Some(_)) => {
            anyhow::bail!("give either --key-file or AUTHBENCH_JWT_SECRET, not both")
        }
        (Some(path), None) => KeySource::File(path.clone()),
        (None, Some(secret)) => KeySource::Secret(secret.as_bytes().to_vec()),
        (None, None) => KeySource::Generate,
    };
    let common = args.common;
    let options = Options {
        common: common_options(&common, &args.store)?,
        alg: args.alg,
        key,
        config,
    };

    let state = AppState::open(&options)
        .await
        .context("cannot start the JWT server")?;
    authbench_jwt_server::rotate_on_sighup(state.clone())
        .context("cannot listen for SIGHUP (key rotation)")?;
    let listener = bind(&common).await?;
    tracing::info!(
        alg = %args.alg,
        kid = state.codec().keys().kid(),
        store = %args.store,
        main_db = %redact(&common.main_db),
        revocation = ?options.config.revocation,
        transport = ?options.config.transport,
        access_token = %options.config.access_token,
        introspection = options.common.introspection_secret.is_some(),
        "JWT server ready"
    );
    announce(&listener)?;
    authbench_jwt_server::serve(listener, state, stop_when(&common)).await;
    tracing::info!("JWT server stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C, and with `--exit-with-stdin` the end of stdin.
fn stop_when(common: &CommonServerArgs) -> impl Future<Output = ()> + use<> {
    let watch_stdin = common.exit_with_stdin;
    async move {
        let stdin_closed = async {
            if !watch_stdin {
                return std::future::pending::<()>().await;
            }
            let mut stdin = tokio::io::stdin();
            let mut buffer = [0u8; 64];
            loop {
                match tokio::io::AsyncReadExt::read(&mut stdin, &mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            tracing::info!("stdin closed: the process that started this server is gone");
        };
        tokio::select! {
            () = shutdown_signal() => {},
            () = stdin_closed => {},
        }
    }
}

/// The options every server takes, from the flags every server has.
fn common_options(common: &CommonServerArgs, store: &StoreUrl) -> anyhow::Result<CommonOptions> {
    let introspection_secret = common
        .introspection_secret
        .as_deref()
        .map(IntrospectionSecret::new)
        .transpose()?;
    Ok(CommonOptions {
        main_db_url: common.main_db.clone(),
        store_url: store.clone(),
        store_timeout: common.store_timeout,
        request_timeout: common.request_timeout,
        password_cost: common.argon2.cost(),
        balance_source: common.balance_source,
        introspection_secret,
    })
}

pub async fn resource(args: ResourceArgs) -> anyhow::Result<()> {
    use authbench_resource_server::{AppState, Options};
    let style = resource_style(&args)?;
    let common = args.common;
    let options = Options {
        // The resource server keeps no store of its own; a session store comes with the style.
        common: common_options(&common, &StoreUrl::Memory)?,
        style,
    };
    let state = AppState::open(&options)
        .await
        .context("cannot start the resource server")?;
    let listener = bind(&common).await?;
    tracing::info!(
        verify = %options.style.verify(),
        main_db = %redact(&common.main_db),
        "resource server ready"
    );
    announce(&listener)?;
    authbench_resource_server::serve(listener, state, stop_when(&common)).await;
    tracing::info!("resource server stopped");
    Ok(())
}

/// The style `--verify` names, with the flags it needs; a flag it needs and lacks is named.
fn resource_style(args: &ResourceArgs) -> anyhow::Result<authbench_resource_server::Style> {
    use authbench_resource_server::Style;
    use authbench_resource_server::introspect::IntrospectSettings;
    use authbench_resource_server::jwks::{JwksSettings, JwksSource};
    use authbench_resource_server::verify::Expected;
    Ok(match args.verify {
        Verify::Jwks => {
            let source = match (&args.jwks_url, &args.jwks_file) {
                (Some(url), None) => JwksSource::Url(url.clone()),
                (None, Some(path)) => JwksSource::File(path.clone()),
                _ => anyhow::bail!("--verify jwks takes exactly one of --jwks-url and --jwks-file"),
            };
            if let Some(alg) = args.algs.iter().find(|alg| !alg.is_asymmetric()) {
                anyhow::bail!(
                    "--algs: {alg} is refused: a JWKS publishes public keys only, so a resource server never takes a shared secret from one"
                );
            }
            Style::Jwks {
                jwks: JwksSettings {
                    source,
                    pinned: args.algs.clone(),
                    ttl: args.jwks_ttl,
                    refetch_interval: args.jwks_refetch_interval,
                    max_stale: args.jwks_max_stale,
                    fetch_timeout: args.issuer_timeout,
                },
                expected: Expected {
                    issuer: args.claims.issuer.clone(),
                    audience: args.claims.audience.clone(),
                    leeway: args.claims.leeway,
                },
            }
        }
        Verify::Store => Style::Store {
            url: args
                .store
                .clone()
                .context("--verify store needs --store, the issuer's session store")?,
        },
        Verify::Introspect => {
            let url = args
                .introspect_url
                .clone()
                .context("--verify introspect needs --introspect-url")?;
            let secret = args
                .common
                .introspection_secret
                .as_deref()
                .with_context(|| {
                    format!("--verify introspect needs the issuer's shared secret in {SECRET_ENV}")
                })?;
            Style::Introspect(IntrospectSettings {
                url,
                secret: IntrospectionSecret::new(secret)?,
                cache_ttl: args.introspect_cache,
                timeout: args.issuer_timeout,
            })
        }
    })
}

async fn bind(common: &CommonServerArgs) -> anyhow::Result<TcpListener> {
    let address: SocketAddr = common.listen;
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (--listen)"))
}

/// The load generator starts servers on port 0 and reads this exact line.
fn announce(listener: &TcpListener) -> anyhow::Result<()> {
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{address}")?;
    stdout.flush()?;
    Ok(())
}
