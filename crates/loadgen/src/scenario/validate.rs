//! [`ScenarioFile`] to [`Scenario`]: defaults filled in, every value range-checked, and the
//! rules that tie keys together (steps within the seeded accounts, keys that belong to the load
//! model in use) enforced, with every problem reported rather than the first.

use std::path::Path;
use std::time::Duration;

use super::checker::{Checker, Lookup};
use super::faults;
use super::file::ScenarioFile;
use super::load::{load, users};
use super::model::{Flow, Load, MainDb, Scenario};
use super::overload::overload;
use super::population::{check_systems, population};
use super::sections::{argon2, flow, pinning, slo, timing};
use super::stores::stores;
use super::systems::{Declared, systems};
use super::values;

const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_STORE_CEILING: Duration = Duration::from_secs(2);

/// The validated scenario, or every `(key, message)` problem found.
pub fn validate(
    file: ScenarioFile,
    path: &Path,
    source: &str,
    lookup: Lookup<'_>,
) -> Result<Scenario, Vec<(String, String)>> {
    let mut checker = Checker::new(lookup);
    let checker = &mut checker;

    let name = scenario_name(checker, file.name, path);
    let description = match file.description {
        Some(text) if !text.trim().is_empty() => Some(text),
        blank_or_missing => {
            let state = if blank_or_missing.is_some() {
                "is empty"
            } else {
                "is missing"
            };
            checker.problem(
                "description",
                format!("{state}; say what question the scenario answers"),
            );
            None
        }
    };
    let main_db = main_db(checker, file.main_db.as_deref());
    let balance_source = file.balance_source.unwrap_or_default();
    let request_timeout = match file.request_timeout {
        None => Some(DEFAULT_REQUEST_TIMEOUT),
        Some(text) => checker.positive_duration(
            &text,
            "request_timeout",
            "every request would time out at once",
        ),
    };
    let store_ceiling = match file.store_ceiling {
        None => Some(Some(DEFAULT_STORE_CEILING)),
        Some(text) => checker
            .duration(&text, "store_ceiling")
            .map(|duration| (!duration.is_zero()).then_some(duration)),
    };
    let server_workers = checker.optional(file.server_workers, |checker, workers| {
        checker.positive_count(workers, "server_workers")
    });
    let server_timeout = checker.optional(file.server_timeout, |checker, text| {
        checker.positive_duration(&text, "server_timeout", "every request would time out")
    });
    let loadgen_workers = checker.optional(file.loadgen_workers, |checker, workers| {
        checker.positive_count(workers, "loadgen_workers")
    });

    let accounts = file.users.as_ref().and_then(|users| users.accounts);
    let mut load = load(checker, file.load, accounts);
    let population = population(checker, file.population, &mut load);
    let users = users(checker, file.users, load.as_ref());
    let argon2 = argon2(checker, file.argon2);
    let flow = flow(checker, file.flow);
    check_stagger(checker, flow.as_ref(), load.as_ref());
    let timing = timing(checker, file.timing);
    let overload = overload(checker, file.overload, load.as_ref(), timing.as_ref());
    let faults = faults::faults(checker, file.faults, timing.as_ref());
    let slo = slo(checker, file.slo, flow.as_ref());
    let pinning = checker.optional(file.pinning, pinning);
    let scenario_dir = path.parent().unwrap_or(Path::new(""));
    let declared: Vec<String> = file.stores.iter().filter_map(|s| s.name.clone()).collect();
    let stores = stores(checker, file.stores);
    let owned = Declared {
        owned: stores.as_deref().unwrap_or_default(),
        names: &declared,
    };
    let systems = systems(checker, file.systems, scenario_dir, owned);
    if let (Some(Some(_)), Some(systems)) = (&population, &systems) {
        check_systems(checker, systems);
    }
    if let (Some(faults), Some(systems), Some(stores)) = (&faults, &systems, &stores) {
        faults::check_targets(checker, faults, systems, stores);
    }

    let (
        Some(name),
        Some(description),
        Some(main_db),
        Some(request_timeout),
        Some(load),
        Some(users),
        Some(argon2),
        Some(flow),
        Some(timing),
        Some(slo),
        Some(store_ceiling),
        Some(stores),
        Some(systems),
        Some(pinning),
        Some(server_workers),
        Some(loadgen_workers),
        Some(population),
        Some(overload),
        Some(faults),
        Some(server_timeout),
    ) = (
        name,
        description,
        main_db,
        request_timeout,
        load,
        users,
        argon2,
        flow,
        timing,
        slo,
        store_ceiling,
        stores,
        systems,
        pinning,
        server_workers,
        loadgen_workers,
        population,
        overload,
        faults,
        server_timeout,
    )
    else {
        return Err(std::mem::take(&mut checker.problems));
    };
    if !checker.problems.is_empty() {
        return Err(std::mem::take(&mut checker.problems));
    }
    Ok(Scenario {
        name,
        description,
        source: source.to_owned(),
        path: path.to_owned(),
        main_db,
        users,
        argon2,
        flow,
        balance_source,
        load,
        timing,
        slo,
        store_ceiling,
        population,
        overload,
        faults,
        stores,
        systems,
        pinning,
        server_workers,
        server_timeout,
        loadgen_workers,
        request_timeout,
    })
}

/// The `name` key, or the file stem, which must then be usable as a name too.
fn scenario_name(checker: &mut Checker<'_>, name: Option<String>, path: &Path) -> Option<String> {
    match name {
        Some(name) if values::is_name(&name) => Some(name),
        Some(name) => {
            checker.problem(
                "name",
                format!("{name:?} is not a valid name; {}", values::NAME_RULE),
            );
            None
        }
        None => {
            let stem = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned());
            let stem = stem.unwrap_or_default();
            if values::is_name(&stem) {
                Some(stem)
            } else {
                checker.problem(
                    "name",
                    format!(
                        "is missing, and the file name {stem:?} cannot stand in for it; add a \
                         `name` key ({})",
                        values::NAME_RULE
                    ),
                );
                None
            }
        }
    }
}

fn main_db(checker: &mut Checker<'_>, text: Option<&str>) -> Option<MainDb> {
    let Some(text) = text else {
        return Some(MainDb::Sqlite);
    };
    let url = checker.expand_url(text, "main_db", "the main_DB Postgres URL")?;
    if url == "sqlite" {
        Some(MainDb::Sqlite)
    } else if values::is_postgres_url(&url) {
        Some(MainDb::Postgres { url })
    } else {
        checker.problem(
            "main_db",
            format!(
                "{url:?} is not a main_DB; allowed: \"sqlite\" (a fresh file in the run folder) \
                 or a postgres:// or postgresql:// URL"
            ),
        );
        None
    }
}

/// `flow.stagger` spreads the logins of VUs that keep going; the open model's flows each start
/// with a fresh login at their own arrival time already.
fn check_stagger(checker: &mut Checker<'_>, flow: Option<&Flow>, load: Option<&Load>) {
    if let (Some(Flow { stagger: true, .. }), Some(Load::Open { .. })) = (flow, load) {
        checker.problem(
            "flow.stagger",
            "needs `load.model = \"closed\"`: in the open model every flow starts with its own \
             login at its own arrival time, so the logins are spread already",
        );
    }
}
