//! The `authbench` command: parses flags, builds the runtime, hands off to a library, prints the
//! error chain on failure.

mod args;
mod commands;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use args::{Cli, Command, Server};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let workers = match &cli.command {
        Command::Serve(serve) => match &serve.server {
            Server::Session(session) => session.common.workers,
            Server::Jwt(jwt) => jwt.common.workers,
        },
        Command::Seed(_) | Command::Keygen(_) => None,
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(workers) = workers {
        runtime.worker_threads(workers.get() as usize);
    }
    let runtime = runtime.build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(serve) => match serve.server {
                Server::Session(args) => commands::serve::session(args).await,
                Server::Jwt(args) => commands::serve::jwt(*args).await,
            },
            Command::Seed(args) => commands::seed::run(args).await,
            Command::Keygen(args) => commands::keygen::run(&args),
        }
    })
}
