//! `resource = "jwks" | "store" | "introspect"` on a spawned system: a resource server the run
//! starts beside it, and whether the system can be checked that way. A resource server knows only
//! what its style gives it: the issuer's published keys (so only JWTs signed with a public key,
//! and no revocation it could not see), the issuer's session store (so a store another process
//! can read), or the issuer's answer to an introspection call.

use std::time::Duration;

use super::checker::Checker;
use super::model::{Alg, Resource, Revocation, Server, StoreSpec, Target, Verify};
use authbench_contract::AccessToken;

/// `Some(None)` without `resource`; `None` when the keys are refused.
pub fn resource(
    checker: &mut Checker<'_>,
    (verify, cache): (Option<Verify>, Option<String>),
    prefix: &str,
    target: &Target,
) -> Option<Option<Resource>> {
    let cache_key = format!("{prefix}.introspect_cache");
    let Some(verify) = verify else {
        if cache.is_some() {
            checker.problem(
                &cache_key,
                "caches the answers of a resource server that introspects; add resource = \
                 \"introspect\", or remove it",
            );
            return None;
        }
        return Some(None);
    };
    let key = format!("{prefix}.resource");
    let Target::Spawned(server) = target else {
        checker.problem(
            &key,
            "the run starts a resource server beside a system it starts itself; an external \
             system's resource server is another external system",
        );
        return None;
    };
    if let Some(why) = unfit(verify, server) {
        checker.problem(
            &key,
            format!("\"{verify}\" cannot check this system: {why}"),
        );
        return None;
    }
    let introspect_cache = match cache {
        None => Duration::ZERO,
        Some(_) if verify != Verify::Introspect => {
            checker.problem(
                &cache_key,
                "caches introspection answers, and this resource server does not introspect; \
                 remove it",
            );
            return None;
        }
        Some(text) => checker.duration(&text, &cache_key)?,
    };
    Some(Some(Resource {
        verify,
        introspect_cache,
    }))
}

/// Why `verify` cannot check what `server` issues; `None` when it can.
fn unfit(verify: Verify, server: &Server) -> Option<&'static str> {
    match (verify, server) {
        (Verify::Jwks, Server::Session { .. }) => {
            Some("a session id is not a signed token; use \"store\" or \"introspect\"")
        }
        (
            Verify::Jwks,
            Server::Jwt {
                access_token: AccessToken::Opaque,
                ..
            },
        ) => Some("an opaque token carries no signature; use \"introspect\""),
        (
            Verify::Jwks,
            Server::Jwt {
                alg: Alg::Hs256, ..
            },
        ) => Some(
            "an HS256 key is a shared secret that no JWKS publishes; use RS256, ES256 or EdDSA",
        ),
        (Verify::Jwks, Server::Jwt { revocation, .. })
            if !matches!(revocation, Revocation::None) =>
        {
            Some(
                "the issuer's revocations live in its store, which a resource server with only \
                 the JWKS never sees; use revocation = \"none\", or \"introspect\"",
            )
        }
        (Verify::Store, Server::Jwt { .. }) => Some(
            "only a session server keeps what a request presents in its store; use \"jwks\" or \
             \"introspect\"",
        ),
        (Verify::Store, server) if *server.store() == StoreSpec::Memory => Some(
            "a memory store lives inside the issuer's process, where no other server can read it; \
             use Redis, PostgreSQL or SQLite",
        ),
        _ => None,
    }
}
