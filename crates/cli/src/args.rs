//! The command line, as clap parses it. Each flag of `serve` can also come from an environment
//! variable (`AUTHBENCH_*`), so docker-compose files can configure servers without a command line.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use authbench_contract::{StoreUrl, Verify};
use authbench_core::balances::BalanceSource;
use authbench_jwt_server::keys::Alg;
use authbench_jwt_server::{AccessToken, Revocation, Transport};
use authbench_session_server::Touch;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "authbench",
    version,
    about = "Sessions versus JWT, measured: servers, seeding and load"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one of the servers under test.
    Serve(ServeArgs),
    /// Create the deterministic benchmark accounts in main_DB.
    Seed(SeedArgs),
    /// Load synthetic live records (sessions, refresh families, denylist entries or cutoffs)
    /// straight into a store: the population a run measures lookups against. Prints one JSON
    /// line: what was loaded, how long it took, and the store's own count of live records.
    Populate(PopulateArgs),
    /// Write a new JWT signing key (PKCS#8 PEM, or an HS256 secret) for `serve jwt --key-file`.
    Keygen(KeygenArgs),
    /// Run a scenario: seed main_DB, start each system, step the load up, write the results.
    Run(RunArgs),
    /// Write report.html for a run folder (done at the end of every `run` too).
    Report(ReportArgs),
    /// Compare two runs of one scenario; exits 1 when a regression passes --max-regression, 2
    /// when the runs can't be compared.
    Compare(CompareArgs),
    /// Capacity plan from a run: instances, store throughput, CPU and memory for a target rate.
    Plan(PlanArgs),
    /// One report from the shards of a split run (`run --shard I/N`): histograms added, counts
    /// summed, the shards' windows lined up.
    Merge(MergeArgs),
    /// Put a network distance in front of a TCP server: forward connections to --target, every
    /// chunk held for half of --rtt each way (what a run uses for a store's `rtt`).
    Relay(RelayArgs),
}

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// The server to forward to, HOST:PORT.
    #[arg(long)]
    pub target: SocketAddr,
    /// The round trip to add, e.g. 1ms or 500us.
    #[arg(long, value_parser = parse_duration)]
    pub rtt: Duration,
    /// Stop when stdin reaches its end (the run holds the other end).
    #[arg(long, hide = true)]
    pub exit_with_stdin: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Every shard's results folder (holding report.json).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// The folder that receives the merged report.json and report.html.
    #[arg(long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run folder (holding report.json).
    pub run_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    Text,
    Markdown,
    Html,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline run folder.
    pub base: PathBuf,
    /// The run folder to judge against it.
    pub new: PathBuf,
    /// Largest change for the worse that is not a regression (e.g. 10%, 0.1).
    #[arg(long, default_value = "10%", value_parser = parse_share)]
    pub max_regression: f64,
    /// text (stdout), markdown (for a pull request) or html.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CompareFormat,
    /// Write the comparison to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Compare runs of different scenarios or load models anyway.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A run folder (holding report.json).
    pub run_dir: PathBuf,
    /// Requests per second the deployment must serve.
    #[arg(long)]
    pub target_rps: f64,
    /// The latency (and optionally error) target one instance must meet, e.g. "p99<50ms" or
    /// "p99.9<200ms,errors<0.1%".
    #[arg(long, default_value = "p99<50ms")]
    pub slo: String,
    /// Session (or refresh-family) lifetime for the store-memory estimate; default: the
    /// scenario's, else the servers' defaults.
    #[arg(long, value_parser = parse_duration)]
    pub ttl: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (see scenarios/*.toml).
    pub scenario: PathBuf,

    /// Folder that receives `<scenario>-<UTC time>/`.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,

    /// Replace the scenario's timing.step_duration (e.g. 1s, for a quick look).
    #[arg(long, value_name = "DURATION")]
    pub step_duration: Option<String>,

    /// Replace the scenario's timing.warmup.
    #[arg(long, value_name = "DURATION")]
    pub warmup: Option<String>,

    /// Replace the scenario's timing.repeats.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub repeats: Option<i64>,

    /// Run only the first N steps of the load.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub steps: Option<i64>,

    /// The authbench binary that seeds and serves (default: this one).
    #[arg(long)]
    pub server_binary: Option<PathBuf>,

    /// Drive share I of N of the load (I from 0 to N-1) against external systems, with
    /// accounts of its own; `authbench merge` joins the shards' results. Needs --start-at.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, requires = "start_at")]
    pub shard: Option<(u32, NonZeroU32)>,

    /// When a split run's first turn starts on every shard (RFC 3339, e.g.
    /// 2026-11-27T10:00:00Z); each later turn starts at a fixed offset from it.
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "shard")]
    pub start_at: Option<SystemTime>,
}

impl RunArgs {
    /// The shard the flags ask for, if any.
    pub fn shard(&self) -> anyhow::Result<Option<authbench_loadgen::run::shard::Shard>> {
        Ok(match (self.shard, self.start_at) {
            (Some((index, count)), Some(start_at)) => Some(authbench_loadgen::run::shard::Shard {
                index,
                count,
                start_at,
            }),
            _ => None,
        })
    }
}

/// `I/N`: shard I of N.
fn parse_shard(text: &str) -> Result<(u32, NonZeroU32), String> {
    let refused = || format!("{text:?} is not a shard; write I/N, e.g. 0/3 for the first of three");
    let (index, count) = text.split_once('/').ok_or_else(refused)?;
    let index: u32 = index.trim().parse().map_err(|_| refused())?;
    let count: NonZeroU32 = count.trim().parse().map_err(|_| refused())?;
    if index >= count.get() {
        return Err(format!(
            "{text:?}: shard {index} of {count} does not exist; shards are numbered 0 to {}",
            count.get() - 1
        ));
    }
    Ok((index, count))
}

/// An RFC 3339 time.
fn parse_time(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(text)
        .map_err(|error| format!("{text:?} is not a time like 2026-11-27T10:00:00Z: {error}"))
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// HS256, RS256, ES256 or EdDSA.
    #[arg(long)]
    pub alg: Alg,
    /// File to create (readable by its owner only); refuses to overwrite one.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub server: Server,
}

#[derive(Debug, Subcommand)]
pub enum Server {
    /// The session-backed server: sessions in a store, looked up on every request.
    Session(SessionArgs),
    /// The JWT server: signed access tokens checked without a store, refresh rotation, optional
    /// revocation.
    Jwt(Box<JwtArgs>),
    /// A resource server: the balance for requests carrying another service's tokens, checked
    /// with the issuer's JWKS, read from the shared session store, or introspected at the issuer.
    Resource(Box<ResourceArgs>),
}

/// Flags every server shares.
#[derive(Debug, Args)]
pub struct CommonServerArgs {
    /// Address to listen on; port 0 picks a free port (printed as `listening on http://ADDR`).
    #[arg(long, env = "AUTHBENCH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// main_DB: sqlite://PATH, sqlite::memory: or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        env = "AUTHBENCH_MAIN_DB",
        default_value = "sqlite://authbench-main.db"
    )]
    pub main_db: String,

    /// Tokio worker threads (default: one per core). `--workers 1` measures per-core cost.
    #[arg(long, env = "AUTHBENCH_WORKERS")]
    pub workers: Option<NonZeroU32>,

    /// Longest a store operation may take before the request gets a 503.
    #[arg(long, env = "AUTHBENCH_STORE_TIMEOUT", default_value = "250ms", value_parser = parse_duration)]
    pub store_timeout: Duration,

    /// Longest a whole request may take before it gets a 503.
    #[arg(long, env = "AUTHBENCH_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Where `GET /user/balance` reads balances: main-db (a read per request, as a real app does)
    /// or in-process (a copy loaded at start, so that only the auth cost is measured).
    #[arg(long, env = "AUTHBENCH_BALANCE_SOURCE", default_value = "main-db")]
    pub balance_source: BalanceSource,

    #[command(flatten)]
    pub argon2: Argon2Args,

    /// The shared secret resource servers present to `POST /introspect` (RFC 7662), from the
    /// environment only; without it introspection is off (403).
    #[arg(skip = std::env::var(authbench_core::http::introspection::SECRET_ENV).ok())]
    pub introspection_secret: Option<String>,

    /// Also stop when stdin reaches its end: `authbench run` holds the other end of the pipe, so
    /// its servers never outlive it, even when it is killed.
    #[arg(long, env = "AUTHBENCH_EXIT_WITH_STDIN", hide = true)]
    pub exit_with_stdin: bool,
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    #[command(flatten)]
    pub common: CommonServerArgs,

    /// Session store: memory, sqlite://PATH, redis://HOST:PORT,
    /// redis+cluster://HOST:PORT[,HOST:PORT...] or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "AUTHBENCH_STORE", default_value = "sqlite://authbench-sessions.db", value_parser = parse_store_url)]
    pub store: StoreUrl,

    /// Absolute session lifetime from login (e.g. 8h, 30m).
    #[arg(long, env = "AUTHBENCH_TTL", default_value = "8h", value_parser = parse_duration)]
    pub ttl: Duration,

    /// Sliding idle timeout (e.g. 15m); off by default.
    #[arg(long, env = "AUTHBENCH_IDLE_TIMEOUT", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// When a read writes the session back: never, always or half-ttl (default: half-ttl with
    /// --idle-timeout, never without).
    #[arg(long, env = "AUTHBENCH_TOUCH")]
    pub touch: Option<Touch>,

    /// A login beyond this many live sessions for one user evicts that user's oldest session.
    #[arg(long, env = "AUTHBENCH_MAX_SESSIONS_PER_USER")]
    pub max_sessions_per_user: Option<NonZeroU32>,

    /// Drop `Secure` from the session cookie, for plain-HTTP local runs (curl, the load generator).
    #[arg(long, env = "AUTHBENCH_INSECURE_COOKIE")]
    pub insecure_cookie: bool,
}

#[derive(Debug, Args)]
pub struct JwtArgs {
    #[command(flatten)]
    pub common: CommonServerArgs,

    /// Store for refresh families, denylist entries and cutoffs: memory, sqlite://PATH,
    /// redis://HOST:PORT, redis+cluster://HOST:PORT[,HOST:PORT...] or
    /// postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "AUTHBENCH_STORE", default_value = "sqlite://authbench-jwt.db", value_parser = parse_store_url)]
    pub store: StoreUrl,

    /// Signing algorithm: HS256, RS256, ES256 or EdDSA. Pinned: a token's `alg` header never
    /// chooses it.
    #[arg(long, env = "AUTHBENCH_ALG", default_value = "HS256")]
    pub alg: Alg,

    /// PEM private key (PKCS#8), or for HS256 a file holding the secret (32 bytes or more).
    /// Without it (and without AUTHBENCH_JWT_SECRET) a key is generated at start.
    #[arg(long, env = "AUTHBENCH_KEY_FILE")]
    pub key_file: Option<PathBuf>,

    /// The HS256 secret itself, from the environment only (never a flag, which `ps` would show).
    #[arg(skip = std::env::var("AUTHBENCH_JWT_SECRET").ok())]
    pub secret: Option<String>,

    /// Access-token lifetime.
    #[arg(long, env = "AUTHBENCH_ACCESS_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_ttl: Duration,

    /// Refresh-family lifetime from login (rotation does not extend it).
    #[arg(long, env = "AUTHBENCH_REFRESH_TTL", default_value = "24h", value_parser = parse_duration)]
    pub refresh_ttl: Duration,

    #[command(flatten)]
    pub claims: ClaimArgs,

    /// none (stateless: logout can't end an access token before it expires), denylist (logout
    /// stores the jti; every request checks it) or cutoff (per-user not-before time; every
    /// request checks it).
    #[arg(long, env = "AUTHBENCH_REVOCATION", default_value = "none")]
    pub revocation: Revocation,

    /// header (Authorization: Bearer) or cookie (also an HttpOnly access_token cookie).
    #[arg(long, env = "AUTHBENCH_TRANSPORT", default_value = "header")]
    pub transport: Transport,

    /// jwt (signed, checked without a store) or opaque (a random token kept in the store by
    /// hash, checked by a lookup here and by introspection elsewhere; revoked by deletion).
    #[arg(long, env = "AUTHBENCH_ACCESS_TOKEN", default_value = "jwt")]
    pub access_token: AccessToken,

    /// Drop `Secure` from the access-token cookie, for plain-HTTP local runs.
    #[arg(long, env = "AUTHBENCH_INSECURE_COOKIE")]
    pub insecure_cookie: bool,
}

#[derive(Debug, Args)]
pub struct ResourceArgs {
    #[command(flatten)]
    pub common: CommonServerArgs,

    /// How requests are authenticated: jwks (JWTs, with the issuer's key set; the issuer is
    /// never asked per request), store (session ids read from the shared session store) or
    /// introspect (any token, by asking the issuer's /introspect on every request).
    #[arg(long, env = "AUTHBENCH_VERIFY")]
    pub verify: Verify,

    /// jwks: the issuer's key set URL (e.g. http://issuer:8080/.well-known/jwks.json).
    #[arg(long, env = "AUTHBENCH_JWKS_URL")]
    pub jwks_url: Option<String>,

    /// jwks: a file holding the key set, instead of a URL.
    #[arg(long, env = "AUTHBENCH_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,

    /// jwks: the algorithms accepted, comma-separated (RS256, ES256, EdDSA); keys of others are
    /// never taken from the set, and a token's `alg` must be one of these.
    #[arg(
        long,
        env = "AUTHBENCH_ALGS",
        value_delimiter = ',',
        default_value = "ES256"
    )]
    pub algs: Vec<Alg>,

    /// jwks: the key set is fetched again once older than this (in the background).
    #[arg(long, env = "AUTHBENCH_JWKS_TTL", default_value = "5m", value_parser = parse_duration)]
    pub jwks_ttl: Duration,

    /// jwks: at most one fetch for an unknown kid per this interval.
    #[arg(long, env = "AUTHBENCH_JWKS_REFETCH_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub jwks_refetch_interval: Duration,

    /// jwks: keys not refreshed for this long stop verifying (while the issuer is unreachable).
    #[arg(long, env = "AUTHBENCH_JWKS_MAX_STALE", default_value = "1h", value_parser = parse_duration)]
    pub jwks_max_stale: Duration,

    /// jwks: what a token must say of its issuer and audience, and the clock skew allowed.
    #[command(flatten)]
    pub claims: ClaimArgs,

    /// store: the issuer's session store (redis://, postgres://, ...).
    #[arg(long, env = "AUTHBENCH_STORE", value_parser = parse_store_url)]
    pub store: Option<StoreUrl>,

    /// introspect: the issuer's introspection endpoint (e.g. http://issuer:8080/introspect).
    #[arg(long, env = "AUTHBENCH_INTROSPECT_URL")]
    pub introspect_url: Option<String>,

    /// introspect: how long an active answer is reused (0s: ask on every request). A token
    /// revoked at the issuer may be accepted for up to this long.
    #[arg(long, env = "AUTHBENCH_INTROSPECT_CACHE", default_value = "0s", value_parser = parse_duration)]
    pub introspect_cache: Duration,

    /// Longest a call to the issuer (a JWKS fetch, an introspection) may take.
    #[arg(long, env = "AUTHBENCH_ISSUER_TIMEOUT", default_value = "250ms", value_parser = parse_duration)]
    pub issuer_timeout: Duration,
}

/// What a JWT must say of itself: the JWT server writes these in the tokens it issues and
/// requires them on the ones it is shown; a resource server requires them.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// `iss`: who issued the token.
    #[arg(long, env = "AUTHBENCH_ISSUER", default_value = "authbench")]
    pub issuer: String,

    /// `aud`: whom the token is for.
    #[arg(long, env = "AUTHBENCH_AUDIENCE", default_value = "authbench-api")]
    pub audience: String,

    /// Clock skew allowed on `exp` and `nbf`.
    #[arg(long, env = "AUTHBENCH_LEEWAY", default_value = "5s", value_parser = parse_duration)]
    pub leeway: Duration,
}

/// argon2id cost; OWASP's 19 MiB, t=2, p=1 by default.
#[derive(Debug, Args)]
pub struct Argon2Args {
    /// argon2id memory in KiB.
    #[arg(long, env = "AUTHBENCH_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    #[arg(long, env = "AUTHBENCH_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,
    /// argon2id lanes.
    #[arg(long, env = "AUTHBENCH_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// main_DB to seed: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        env = "AUTHBENCH_MAIN_DB",
        default_value = "sqlite://authbench-main.db"
    )]
    pub main_db: String,

    /// How many accounts: user1 .. userN.
    #[arg(long, default_value = "1000")]
    pub users: NonZeroU32,

    #[command(flatten)]
    pub argon2: Argon2Args,

    /// Also write the credential list (username,password per line) to this file.
    #[arg(long)]
    pub credentials_csv: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PopulateArgs {
    /// The store: redis://..., postgres://..., or sqlite://PATH.
    #[arg(long, value_parser = parse_store_url)]
    pub store: StoreUrl,

    /// Which records: sessions, refresh_families, denylist or cutoffs.
    #[arg(long, default_value = "sessions", value_parser = parse_namespace)]
    pub namespace: authbench_store::Namespace,

    /// Number of the first record to load; records already loaded up to here are kept, so a
    /// population can be topped up step by step.
    #[arg(long, default_value_t = 0)]
    pub from: u64,

    /// Load records `from` up to (not including) this number.
    #[arg(long)]
    pub to: u64,

    /// How long the records stay live. Past it the store forgets them (Redis) or its servers
    /// purge them (SQL), so a population does not outlive the run that loaded it for long.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub ttl: Duration,
}

fn parse_namespace(raw: &str) -> Result<authbench_store::Namespace, String> {
    authbench_store::Namespace::from_name(raw).ok_or_else(|| {
        let names: Vec<&str> = authbench_store::Namespace::ALL
            .iter()
            .map(|namespace| namespace.name())
            .collect();
        format!("allowed: {}", names.join(", "))
    })
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw)
        .map_err(|e| format!("{e} (write durations like 250ms, 30s, 15m, 8h)"))
}

/// `10%` or `0.1`.
fn parse_share(raw: &str) -> Result<f64, String> {
    let value = match raw.trim().strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => raw.trim().parse::<f64>(),
    }
    .map_err(|_| format!("`{raw}` is not a share (write 10% or 0.1)"))?;
    if !(0.0..=10.0).contains(&value) {
        return Err(format!("`{raw}` is out of range (0% to 1000%)"));
    }
    Ok(value)
}

fn parse_store_url(raw: &str) -> Result<StoreUrl, String> {
    raw.parse()
        .map_err(|e: authbench_contract::StoreUrlError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_flag_values_name_the_flag() {
        let error =
            Cli::try_parse_from(["authbench", "serve", "session", "--ttl", "soon"]).unwrap_err();
        assert!(error.to_string().contains("--ttl"), "{error}");
        let error = Cli::try_parse_from(["authbench", "serve", "session", "--store", "mysql://x"])
            .unwrap_err();
        assert!(
            error.to_string().contains("--store") && error.to_string().contains("mysql"),
            "{error}"
        );
        let error = Cli::try_parse_from(["authbench", "serve", "jwt", "--alg", "HS1"]).unwrap_err();
        assert!(error.to_string().contains("--alg"), "{error}");
        let error =
            Cli::try_parse_from(["authbench", "serve", "session", "--touch", "often"]).unwrap_err();
        assert!(error.to_string().contains("half-ttl"), "{error}");
    }
}
