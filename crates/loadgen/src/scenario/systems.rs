//! `[[systems]]` tables to [`System`]s. The kinds share one flat table in the file, so this is
//! where a key that belongs to another kind (an `alg` on a session system) is caught and named.

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use super::checker::Checker;
use authbench_contract::{Balancer, SystemKind};

use super::file::{SystemFile, Urls};
use super::mapping::{Mapping, ServerCounts};
use super::model::{
    AccessToken, Alg, External, MAX_REPLICAS, OwnedStore, Revocation, Routing, Server, StoreSpec,
    System, Target, Transport,
};
use super::{mapping_check, values};

/// The scenario's `[[stores]]`: those that validated, and the names of all of them, so that a
/// system naming a refused store is not refused a second time for it.
#[derive(Clone, Copy, Debug)]
pub struct Declared<'a> {
    pub owned: &'a [OwnedStore],
    pub names: &'a [String],
}

/// Every system, in file order; relative `credentials_csv` paths are resolved against
/// `scenario_dir`, and a `store` that names one of `stores` is that run-owned store.
pub fn systems(
    checker: &mut Checker<'_>,
    files: Vec<SystemFile>,
    scenario_dir: &Path,
    stores: Declared<'_>,
) -> Option<Vec<System>> {
    if files.is_empty() {
        checker.problem(
            "systems",
            "no systems to run; add at least one [[systems]] table with `name`, `kind` \
             (\"session\", \"jwt\", \"opaque\" or \"external\") and, for the spawned kinds, `store`",
        );
        return None;
    }
    let problems_before = checker.problems.len();
    let mut names: Vec<Option<String>> = Vec::with_capacity(files.len());
    let mut systems = Vec::with_capacity(files.len());
    for (index, file) in files.into_iter().enumerate() {
        let prefix = format!("systems[{index}]");
        let name = system_name(checker, file.name.as_deref(), &prefix, &names);
        names.push(name.clone());
        // Messages about the system's other keys say which system, even if its name is bad.
        let label = file.name.clone().unwrap_or_else(|| prefix.clone());
        let scale = scale(checker, &file, &prefix);
        let resource_keys = (file.resource, file.introspect_cache.clone());
        let target = target(checker, file, &prefix, &label, (scenario_dir, stores));
        let resource = target
            .as_ref()
            .and_then(|target| super::resource::resource(checker, resource_keys, &prefix, target));
        if let (Some(name), Some(target), Some((replicas, routing, balancer)), Some(resource)) =
            (name, target, scale, resource)
        {
            systems.push(System {
                name,
                target,
                replicas,
                routing,
                balancer,
                resource,
            });
        }
    }
    (checker.problems.len() == problems_before).then_some(systems)
}

/// `replicas`, `routing` and `balancer`: only for spawned systems, and routing only with more
/// than one.
fn scale(
    checker: &mut Checker<'_>,
    file: &SystemFile,
    prefix: &str,
) -> Option<(NonZeroU32, Routing, Balancer)> {
    let external = file.kind == Some(SystemKind::External);
    // An external system's replicas are its base URLs.
    let listed = file.base_url.as_ref().map_or(1, |Urls(urls)| urls.len());
    let mut replicas = if external {
        NonZeroU32::new(u32::try_from(listed).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
    } else {
        NonZeroU32::MIN
    };
    if let Some(value) = file.replicas {
        let key = format!("{prefix}.replicas");
        if external {
            checker.problem(
                &key,
                "`replicas` applies to spawned systems (kind = \"session\" or \"jwt\"); an \
                 external system's replicas are its base URLs (base_url = [\"http://...\", ...])",
            );
            return None;
        }
        if !(1..=i64::from(MAX_REPLICAS)).contains(&value) {
            checker.problem(
                &key,
                format!("{value} is out of range; it must be 1 to {MAX_REPLICAS} server processes"),
            );
            return None;
        }
        replicas = NonZeroU32::new(value as u32)?;
    }
    let routing = match file.routing {
        None => Routing::RoundRobin,
        Some(_) if replicas.get() == 1 => {
            checker.problem(
                format!("{prefix}.routing"),
                "`routing` spreads requests over replicas; set `replicas` to 2 or more (an \
                 external system: give base_url a list of URLs), or remove it",
            );
            return None;
        }
        Some(Routing::RoundRobin) => Routing::RoundRobin,
        Some(Routing::Sticky) => Routing::Sticky,
    };
    let balancer = match file.balancer {
        Some(Balancer::Nginx) if external => {
            checker.problem(
                format!("{prefix}.balancer"),
                "the run starts nginx only in front of replicas it starts itself; for an \
                 external system behind a balancer, give the balancer's URL as base_url",
            );
            return None;
        }
        balancer => balancer.unwrap_or(Balancer::Loadgen),
    };
    Some((replicas, routing, balancer))
}

fn system_name(
    checker: &mut Checker<'_>,
    name: Option<&str>,
    prefix: &str,
    earlier: &[Option<String>],
) -> Option<String> {
    let key = format!("{prefix}.name");
    let name = checker.required(
        name,
        &key,
        "each system needs a unique name (used in file names and the report)",
    )?;
    if !values::is_name(name) {
        checker.problem(
            &key,
            format!("{name:?} is not a valid name; {}", values::NAME_RULE),
        );
        return None;
    }
    let clash = earlier
        .iter()
        .position(|other| other.as_deref() == Some(name));
    if let Some(other) = clash {
        checker.problem(
            &key,
            format!("{name:?} is already the name of systems[{other}]; names must be unique"),
        );
        return None;
    }
    Some(name.to_owned())
}

const SESSION: &[SystemKind] = &[SystemKind::Session];
const JWT: &[SystemKind] = &[SystemKind::Jwt];
const TOKENS: &[SystemKind] = &[SystemKind::Jwt, SystemKind::Opaque];
const EXTERNAL: &[SystemKind] = &[SystemKind::External];

/// The keys that only some kinds take, whether this system sets each, and which kinds own it.
fn kind_specific_keys(file: &SystemFile) -> [(&'static str, bool, &'static [SystemKind]); 11] {
    [
        ("touch", file.touch.is_some(), SESSION),
        ("ttl", file.ttl.is_some(), SESSION),
        ("idle_timeout", file.idle_timeout.is_some(), SESSION),
        ("alg", file.alg.is_some(), JWT),
        ("revocation", file.revocation.is_some(), JWT),
        ("transport", file.transport.is_some(), JWT),
        ("access_ttl", file.access_ttl.is_some(), TOKENS),
        ("base_url", file.base_url.is_some(), EXTERNAL),
        ("metrics_url", file.metrics_url.is_some(), EXTERNAL),
        ("credentials_csv", file.credentials_csv.is_some(), EXTERNAL),
        ("mapping", file.mapping.is_some(), EXTERNAL),
    ]
}

fn target(
    checker: &mut Checker<'_>,
    file: SystemFile,
    prefix: &str,
    name: &str,
    (scenario_dir, stores): (&Path, Declared<'_>),
) -> Option<Target> {
    let kind = checker.required(
        file.kind,
        &format!("{prefix}.kind"),
        "allowed: \"session\", \"jwt\", \"opaque\" or \"external\"",
    )?;
    let mut misplaced = false;
    for (key, present, owners) in kind_specific_keys(&file) {
        if present && !owners.contains(&kind) {
            misplaced = true;
            let owners: Vec<String> = owners
                .iter()
                .map(|owner| format!("kind = \"{owner}\""))
                .collect();
            checker.problem(
                format!("{prefix}.{key}"),
                format!(
                    "`{key}` does not apply to a {} system; it is a key of {} systems",
                    kind.as_str(),
                    owners.join(" and ")
                ),
            );
        }
    }
    let target = match kind {
        SystemKind::Session => session(checker, file, prefix, name, stores).map(Target::Spawned),
        SystemKind::Jwt | SystemKind::Opaque => {
            jwt(checker, file, kind, (prefix, name), stores).map(Target::Spawned)
        }
        SystemKind::External => external(checker, file, prefix, name, (scenario_dir, stores))
            .map(|external| Target::External(Box::new(external))),
    };
    if misplaced { None } else { target }
}

fn session(
    checker: &mut Checker<'_>,
    file: SystemFile,
    prefix: &str,
    name: &str,
    stores: Declared<'_>,
) -> Option<Server> {
    let store = spawned_store(
        checker,
        file.store,
        SystemKind::Session,
        (prefix, name),
        stores,
    );
    let expiry = "every session would expire at once";
    let ttl = optional_lifetime(checker, file.ttl, &format!("{prefix}.ttl"), expiry);
    let idle_key = format!("{prefix}.idle_timeout");
    let idle_timeout = optional_lifetime(checker, file.idle_timeout, &idle_key, expiry);
    Some(Server::Session {
        store: store?,
        touch: file.touch,
        ttl: ttl?,
        idle_timeout: idle_timeout?,
    })
}

/// A JWT system, or (`kind = "opaque"`) the same server issuing opaque access tokens.
fn jwt(
    checker: &mut Checker<'_>,
    file: SystemFile,
    kind: SystemKind,
    (prefix, name): (&str, &str),
    stores: Declared<'_>,
) -> Option<Server> {
    let store = spawned_store(checker, file.store, kind, (prefix, name), stores);
    let access_key = format!("{prefix}.access_ttl");
    let expiry = "every token would expire at once";
    let access_ttl = optional_lifetime(checker, file.access_ttl, &access_key, expiry);
    Some(Server::Jwt {
        store: store?,
        alg: file.alg.unwrap_or(Alg::Hs256),
        revocation: file.revocation.unwrap_or(Revocation::None),
        transport: file.transport.unwrap_or(Transport::Header),
        access_ttl: access_ttl?,
        access_token: if kind == SystemKind::Opaque {
            AccessToken::Opaque
        } else {
            AccessToken::Jwt
        },
    })
}

/// The store a spawned server keeps its state in: required for both spawned kinds; the name of
/// a run-owned store, or a store as `--store` takes it.
fn spawned_store(
    checker: &mut Checker<'_>,
    text: Option<String>,
    kind: SystemKind,
    (prefix, name): (&str, &str),
    stores: Declared<'_>,
) -> Option<StoreSpec> {
    let key = format!("{prefix}.store");
    let purpose = format!(
        "a {} system needs a store; allowed: {}",
        kind.as_str(),
        values::STORE_FORMS
    );
    let text = checker.required(text, &key, &purpose)?;
    if let Some(owned) = stores.owned.iter().find(|store| store.name == text) {
        return Some(StoreSpec::Owned {
            name: owned.name.clone(),
            kind: owned.server.kind(),
        });
    }
    if stores.names.contains(&text) {
        // A store entry that was refused: its own problem says why.
        return None;
    }
    store(checker, &text, &key, name)
}

/// An optional lifetime: absent gives `Some(None)` (the server's default).
fn optional_lifetime(
    checker: &mut Checker<'_>,
    text: Option<String>,
    key: &str,
    purpose: &str,
) -> Option<Option<Duration>> {
    checker.optional(text, |checker, text| {
        checker.positive_duration(&text, key, purpose)
    })
}

fn store(checker: &mut Checker<'_>, text: &str, key: &str, system: &str) -> Option<StoreSpec> {
    let purpose = format!("the store URL of system {system:?}");
    let url = checker.expand_url(text, key, &purpose)?;
    checker.value(values::store(&url), key)
}

/// Each of `texts` with `${VAR}`s expanded and checked by `check`; every bad one is a problem,
/// and any makes the whole list `None`.
fn checked_urls(
    checker: &mut Checker<'_>,
    texts: &[String],
    key: &str,
    purpose: &str,
    check: fn(&str) -> Result<String, String>,
) -> Option<Vec<String>> {
    let checked: Vec<Option<String>> = texts
        .iter()
        .map(|text| {
            checker
                .expand_url(text, key, purpose)
                .and_then(|url| checker.value(check(&url), key))
        })
        .collect();
    checked.into_iter().collect()
}

fn external(
    checker: &mut Checker<'_>,
    file: SystemFile,
    prefix: &str,
    name: &str,
    (scenario_dir, stores): (&Path, Declared<'_>),
) -> Option<External> {
    let base_key = format!("{prefix}.base_url");
    let given = checker.required(
        file.base_url,
        &base_key,
        "an external system is reached at http://HOST:PORT, e.g. \"http://10.0.0.5:8080\" (or a \
         list of them, one per replica)",
    );
    let base_urls = given.and_then(|Urls(urls)| {
        if urls.is_empty() {
            checker.problem(&base_key, "the list is empty; give at least one URL");
            return None;
        }
        let purpose = format!("the base URL of system {name:?}");
        checked_urls(checker, &urls, &base_key, &purpose, values::http_base_url)
    });
    let mapping = match file.mapping {
        None => Some(Mapping::reference()),
        Some(mapping) => mapping_check::mapping(checker, mapping, &format!("{prefix}.mapping")),
    };
    let metrics_key = format!("{prefix}.metrics_url");
    let no_counts = mapping
        .as_ref()
        .is_some_and(|m| m.server_counts == ServerCounts::None);
    let metrics_urls = match (file.metrics_url, &base_urls) {
        (None, _) if no_counts => Some(Vec::new()),
        (Some(_), _) if no_counts => {
            checker.problem(
                &metrics_key,
                "the mapping says the service exposes no request counts (metrics = \"none\"); \
                 remove one of the two",
            );
            None
        }
        (None, base) => base
            .as_ref()
            .map(|urls| urls.iter().map(|base| format!("{base}/metrics")).collect()),
        (Some(Urls(texts)), base) => {
            let replicas = base.as_ref().map_or(texts.len(), Vec::len);
            if texts.len() != replicas {
                checker.problem(
                    &metrics_key,
                    format!(
                        "{} URL(s) for {replicas} base URL(s); give one /metrics URL per base URL, \
                         in the same order (or leave it out for <base_url>/metrics)",
                        texts.len()
                    ),
                );
                return None;
            }
            let purpose = format!("the metrics URL of system {name:?}");
            checked_urls(checker, &texts, &metrics_key, &purpose, values::http_url)
        }
    };
    let credentials_csv = checker
        .required(
            file.credentials_csv,
            &format!("{prefix}.credentials_csv"),
            "an external system's users are not seeded by the run, so name a CSV of \
             `username,password` lines (as `authbench seed --credentials-csv` writes), relative \
             to this file",
        )
        .map(|csv| scenario_dir.join(csv));
    let store_key = format!("{prefix}.store");
    let store = match file.store {
        None => Some(None),
        Some(text) if stores.names.contains(&text) => {
            checker.problem(
                &store_key,
                format!(
                    "{text:?} is a store the run starts, and an external server cannot be made to \
                     use it; give the URL of the store the external server uses, or leave \
                     `store` out"
                ),
            );
            None
        }
        Some(text) => match store(checker, &text, &store_key, name)? {
            spec if spec.server_url().is_some() => Some(Some(spec)),
            _ => {
                checker.problem(
                    &store_key,
                    format!(
                        "{text:?} lives inside the external server, where the run cannot probe \
                         it; give a redis:// or postgres:// URL, or leave `store` out"
                    ),
                );
                None
            }
        },
    };
    Some(External {
        base_urls: base_urls?,
        metrics_urls: metrics_urls?,
        credentials_csv: credentials_csv?,
        store: store?,
        mapping: mapping?,
    })
}
