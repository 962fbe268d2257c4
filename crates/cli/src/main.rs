//! The `authbench` command: parses flags, builds the runtime, hands off to a library, prints the
//! error chain on failure.

mod args;
mod commands;

/// The servers and the load generator allocate per request; mimalloc's thread-local free lists
/// make that cheaper than glibc's malloc at every size they use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use args::{Cli, Command, Server};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // compare exits 1 for a regression, so CI must be able to tell a failure to compare apart.
    let failure = if matches!(cli.command, Command::Compare(_)) {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            failure
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (workers, job) = match cli.command {
        // These build no runtime of their own here: the load generator builds its own, after
        // pinning itself to the scenario's cores; the report commands need none.
        Command::Run(args) => return commands::run::run(args).map(|()| ExitCode::SUCCESS),
        Command::Report(args) => {
            return commands::report::report(&args).map(|()| ExitCode::SUCCESS);
        }
        Command::Compare(args) => return commands::report::compare(&args),
        Command::Plan(args) => return commands::report::plan(&args).map(|()| ExitCode::SUCCESS),
        Command::Merge(args) => return commands::report::merge(&args).map(|()| ExitCode::SUCCESS),
        Command::Relay(args) => return commands::relay::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Serve(serve) => match serve.server {
            Server::Session(args) => (args.common.workers, Job::Session(args)),
            Server::Jwt(args) => (args.common.workers, Job::Jwt(args)),
            Server::Resource(args) => (args.common.workers, Job::Resource(args)),
        },
        Command::Seed(args) => (None, Job::Seed(args)),
        Command::Populate(args) => (None, Job::Populate(args)),
        Command::Keygen(args) => (None, Job::Keygen(args)),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(workers) = workers {
        runtime.worker_threads(workers.get() as usize);
    }
    let runtime = runtime.build()?;
    let outcome = runtime.block_on(async move {
        match job {
            Job::Session(args) => commands::serve::session(args).await,
            Job::Jwt(args) => commands::serve::jwt(*args).await,
            Job::Resource(args) => commands::serve::resource(*args).await,
            Job::Seed(args) => commands::seed::run(args).await,
            Job::Populate(args) => commands::populate::run(&args).await,
            Job::Keygen(args) => commands::keygen::run(&args),
        }
    });
    // A blocking read of stdin (`--exit-with-stdin`) never ends on its own; don't wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    outcome.map(|()| ExitCode::SUCCESS)
}

/// The subcommands that run on a tokio runtime built here.
enum Job {
    Session(args::SessionArgs),
    Jwt(Box<args::JwtArgs>),
    Resource(Box<args::ResourceArgs>),
    Seed(args::SeedArgs),
    Populate(args::PopulateArgs),
    Keygen(args::KeygenArgs),
}
