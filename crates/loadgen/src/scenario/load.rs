//! `[load]` and `[users]`: how load rises, step by step, and how many users it needs. The two
//! are checked together because each active flow logs in as its own seeded user.

use std::num::NonZeroU32;

use super::checker::Checker;
use authbench_contract::LoadModel;

use super::file::{LoadFile, UsersFile};
use super::model::{Load, Users};

pub fn load(
    checker: &mut Checker<'_>,
    load: Option<LoadFile>,
    accounts: Option<i64>,
) -> Option<Load> {
    let load = checker.required(
        load,
        "load",
        "add a [load] table with model = \"closed\" and vus = [...], or model = \"open\" and \
         flows_per_second = [...]",
    )?;
    let model = checker.required(load.model, "load.model", "allowed: \"closed\" or \"open\"")?;
    let (unused_key, unused, other_model) = match model {
        LoadModel::Closed => ("flows_per_second", load.flows_per_second.is_some(), "open"),
        LoadModel::Open => ("vus", load.vus.is_some(), "closed"),
    };
    if unused {
        checker.problem(
            format!("load.{unused_key}"),
            format!("applies only to model = \"{other_model}\"; remove it or change load.model"),
        );
    }
    match model {
        LoadModel::Closed => {
            let vus = checker.required(
                load.vus,
                "load.vus",
                "the closed model needs its VU steps, e.g. vus = [1, 2, 4, 8]",
            )?;
            closed_steps(checker, &vus, accounts).map(|vus| Load::Closed { vus })
        }
        LoadModel::Open => {
            let rates = checker.required(
                load.flows_per_second,
                "load.flows_per_second",
                "the open model needs its arrival rates, e.g. flows_per_second = [10, 20, 40]",
            )?;
            open_steps(checker, &rates).map(|flows_per_second| Load::Open { flows_per_second })
        }
    }
}

fn closed_steps(
    checker: &mut Checker<'_>,
    vus: &[i64],
    accounts: Option<i64>,
) -> Option<Vec<NonZeroU32>> {
    if vus.is_empty() {
        checker.problem(
            "load.vus",
            "is empty; list at least one VU step, e.g. [1, 2, 4, 8]",
        );
        return None;
    }
    let problems_before = checker.problems.len();
    let mut steps = Vec::with_capacity(vus.len());
    for (index, &count) in vus.iter().enumerate() {
        let key = format!("load.vus[{index}]");
        if let Some(&previous) = index.checked_sub(1).and_then(|before| vus.get(before))
            && count <= previous
        {
            checker.problem(
                &key,
                format!("{count} does not rise above the step before it ({previous}); steps must rise strictly"),
            );
        }
        if let Some(accounts) = accounts.filter(|&accounts| count > accounts && accounts >= 1) {
            checker.problem(
                &key,
                format!(
                    "{count} VUs is more than users.accounts ({accounts}); each VU logs in as its \
                     own user, so raise users.accounts or lower the step"
                ),
            );
        }
        steps.extend(checker.positive_count(count, &key));
    }
    (checker.problems.len() == problems_before).then_some(steps)
}

fn open_steps(checker: &mut Checker<'_>, rates: &[f64]) -> Option<Vec<f64>> {
    if rates.is_empty() {
        checker.problem(
            "load.flows_per_second",
            "is empty; list at least one arrival rate, e.g. [10, 20, 40]",
        );
        return None;
    }
    let problems_before = checker.problems.len();
    for (index, &rate) in rates.iter().enumerate() {
        let key = format!("load.flows_per_second[{index}]");
        if !rate.is_finite() || rate <= 0.0 {
            checker.problem(
                &key,
                format!("{rate} is not a rate; each step starts a finite number of flows per second above 0"),
            );
        } else if let Some(&previous) = index.checked_sub(1).and_then(|before| rates.get(before))
            && rate <= previous
        {
            checker.problem(
                &key,
                format!("{rate} does not rise above the step before it ({previous}); steps must rise strictly"),
            );
        }
    }
    (checker.problems.len() == problems_before).then(|| rates.to_vec())
}

pub fn users(
    checker: &mut Checker<'_>,
    users: Option<UsersFile>,
    load: Option<&Load>,
) -> Option<Users> {
    let users = checker.required(
        users,
        "users",
        "add a [users] table with `accounts` (how many users to seed)",
    )?;
    let accounts = checker.required(
        users.accounts,
        "users.accounts",
        "say how many users to seed",
    )?;
    let accounts = checker.positive_count(accounts, "users.accounts")?;
    let max_active = match (load?, users.max_active) {
        (Load::Open { .. }, None) => {
            checker.problem(
                "users.max_active",
                "is missing; the open model needs it: how many flows may be in flight at once \
                 (one connection and one user each)",
            );
            return None;
        }
        (Load::Open { .. }, Some(max_active)) => {
            checker.positive_count(max_active, "users.max_active")?
        }
        (Load::Closed { vus }, max_active) => {
            let largest = vus.iter().copied().max()?;
            let Some(max_active) = max_active else {
                return Some(Users {
                    accounts,
                    max_active: largest,
                });
            };
            let max_active = checker.positive_count(max_active, "users.max_active")?;
            if max_active < largest {
                checker.problem(
                    "users.max_active",
                    format!(
                        "{max_active} is below the largest VU step ({largest}); every VU is an \
                         active user, so it must be at least {largest} (or leave it out)"
                    ),
                );
                return None;
            }
            max_active
        }
    };
    if max_active > accounts {
        checker.problem(
            "users.max_active",
            format!(
                "{max_active} is more than users.accounts ({accounts}); each active flow logs in \
                 as its own user"
            ),
        );
        return None;
    }
    Some(Users {
        accounts,
        max_active,
    })
}
