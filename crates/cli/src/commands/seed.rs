//! `authbench seed`: create users 1..N with the documented credentials.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use authbench_contract::redact;
use authbench_core::maindb::MainDb;
use authbench_core::password::Passwords;
use authbench_core::seed;

use crate::args::SeedArgs;

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let target = redact(&args.main_db);
    let db = MainDb::connect(&args.main_db, Duration::from_secs(5))
        .await
        .with_context(|| format!("cannot open main_DB {target} (--main-db)"))?;
    let passwords = Passwords::new(args.argon2.cost()).context("bad --argon2-* settings")?;
    let seeded = seed::seed(&db, &passwords, args.users)
        .await
        .with_context(|| format!("seeding {target} failed"))?;
    if let Some(path) = &args.credentials_csv {
        let mut csv = String::from("username,password\n");
        for n in 1..=seeded.users {
            let _ = writeln!(csv, "{},{}", seed::username(n), seed::password(n));
        }
        std::fs::write(path, csv)
            .with_context(|| format!("cannot write {} (--credentials-csv)", path.display()))?;
    }
    println!(
        "seeded {} users into {target} in {:.2} s ({} argon2id hashes, {} KiB, t={}, p={}); \
         user N logs in as userN with password pass-(N mod {})",
        seeded.users,
        started.elapsed().as_secs_f64(),
        seeded.distinct_hashes,
        args.argon2.argon2_memory_kib,
        args.argon2.argon2_iterations,
        args.argon2.argon2_parallelism,
        seed::DISTINCT_PASSWORDS,
    );
    Ok(())
}
