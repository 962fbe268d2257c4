//! `authbench keygen`: a new signing key in a file only its owner can read.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use anyhow::Context as _;
use authbench_jwt_server::keys::generate_private_pem;

use crate::args::KeygenArgs;

pub fn run(args: &KeygenArgs) -> anyhow::Result<()> {
    let pem = generate_private_pem(args.alg)
        .with_context(|| format!("cannot generate an {} key", args.alg))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&args.out)
        .with_context(|| {
            format!(
                "cannot create {} (--out; an existing file is never overwritten)",
                args.out.display()
            )
        })?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote a new {} key to {}; use it with: authbench serve jwt --alg {} --key-file {}",
        args.alg,
        args.out.display(),
        args.alg,
        args.out.display()
    );
    Ok(())
}
