//! The smaller tables: `[argon2]`, `[flow]`, `[timing]`, `[slo]` and `[pinning]`, each with its
//! defaults and ranges.

use std::num::NonZeroU32;
use std::time::Duration;

use super::checker::Checker;
use super::file::{Argon2File, FlowFile, PinningFile, SloFile, TimingFile};
use super::model::{Argon2, Flow, Operation, Pinning, Slo, Timing};
use super::values;

pub fn argon2(checker: &mut Checker<'_>, argon2: Option<Argon2File>) -> Option<Argon2> {
    let Some(argon2) = argon2 else {
        return Some(Argon2::OWASP);
    };
    let mut field = |value: Option<i64>, key: &str, default: u32, minimum: u32| match value {
        None => Some(default),
        Some(value) => checker.count(value, key, minimum),
    };
    let defaults = Argon2::OWASP;
    let parallelism = field(
        argon2.parallelism,
        "argon2.parallelism",
        defaults.parallelism,
        1,
    );
    let iterations = field(
        argon2.iterations,
        "argon2.iterations",
        defaults.iterations,
        1,
    );
    let memory_kib = field(
        argon2.memory_kib,
        "argon2.memory_kib",
        defaults.memory_kib,
        8,
    );
    let (memory_kib, iterations, parallelism) = (memory_kib?, iterations?, parallelism?);
    if u64::from(memory_kib) < 8 * u64::from(parallelism) {
        checker.problem(
            "argon2.memory_kib",
            format!(
                "{memory_kib} KiB is below what argon2 allows for {parallelism} lanes (8 KiB per \
                 lane: {} KiB)",
                8 * u64::from(parallelism)
            ),
        );
        return None;
    }
    Some(Argon2 {
        memory_kib,
        iterations,
        parallelism,
    })
}

pub fn flow(checker: &mut Checker<'_>, flow: Option<FlowFile>) -> Option<Flow> {
    let flow = checker.required(
        flow,
        "flow",
        "add a [flow] table with `balances_per_login` (balance requests per login)",
    )?;
    let balances = checker.required(
        flow.balances_per_login,
        "flow.balances_per_login",
        "say how many balance requests each login is followed by",
    );
    let balances_per_login =
        balances.and_then(|count| checker.positive_count(count, "flow.balances_per_login"));
    let refresh_every = checker.optional(flow.refresh_every, |checker, count| {
        checker.positive_count(count, "flow.refresh_every")
    });
    let think_time = match flow.think_time {
        None => Some(Duration::ZERO),
        Some(text) => checker.duration(&text, "flow.think_time"),
    };
    Some(Flow {
        balances_per_login: balances_per_login?,
        refresh_every: refresh_every?,
        logout: flow.logout.unwrap_or(false),
        think_time: think_time?,
        stagger: flow.stagger.unwrap_or(false),
    })
}

pub fn timing(checker: &mut Checker<'_>, timing: Option<TimingFile>) -> Option<Timing> {
    let timing = checker.required(
        timing,
        "timing",
        "add a [timing] table with `step_duration` (measured time of each turn)",
    )?;
    let step_duration = checker
        .required(
            timing.step_duration,
            "timing.step_duration",
            "say how long each system's turn at each step is measured, e.g. \"5s\"",
        )
        .and_then(|text| {
            checker.positive_duration(&text, "timing.step_duration", "nothing would be measured")
        });
    let warmup = match timing.warmup {
        None => Some(Duration::ZERO),
        Some(text) => checker.duration(&text, "timing.warmup"),
    };
    let repeats = match timing.repeats {
        None => NonZeroU32::new(1),
        Some(count) => checker.positive_count(count, "timing.repeats"),
    };
    Some(Timing {
        step_duration: step_duration?,
        warmup: warmup?,
        repeats: repeats?,
    })
}

pub fn slo(checker: &mut Checker<'_>, slo: Option<SloFile>, flow: Option<&Flow>) -> Option<Slo> {
    let Some(slo) = slo else {
        return Some(Slo {
            percentile: 99.0,
            latency_us: 50_000,
            max_error_rate: 0.001,
            operations: vec![Operation::Balance],
        });
    };
    let percentile = slo.percentile.unwrap_or(99.0);
    let percentile_ok = percentile > 0.0 && percentile < 100.0;
    if !percentile_ok {
        checker.problem(
            "slo.percentile",
            format!(
                "{percentile} is out of range; it must be above 0 and below 100, e.g. 99 or 99.9"
            ),
        );
    }
    let latency = match slo.latency {
        None => Some(Duration::from_millis(50)),
        Some(text) => checker.value(values::latency(&text), "slo.latency"),
    };
    let max_error_rate = match slo.max_error_rate {
        None => Some(0.001),
        Some(rate) => checker.value(values::error_rate(&rate), "slo.max_error_rate"),
    };
    let operations = slo_operations(checker, slo.operations, flow);
    Some(Slo {
        percentile: percentile_ok.then_some(percentile)?,
        latency_us: latency?.as_micros() as u64,
        max_error_rate: max_error_rate?,
        operations: operations?,
    })
}

fn slo_operations(
    checker: &mut Checker<'_>,
    names: Option<Vec<Operation>>,
    flow: Option<&Flow>,
) -> Option<Vec<Operation>> {
    let Some(names) = names else {
        return Some(vec![Operation::Balance]);
    };
    if names.is_empty() {
        checker.problem(
            "slo.operations",
            "is empty; list the operations the latency target applies to, e.g. [\"balance\"]",
        );
        return None;
    }
    let problems_before = checker.problems.len();
    let mut operations: Vec<Operation> = Vec::with_capacity(names.len());
    for (index, name) in names.into_iter().enumerate() {
        let key = format!("slo.operations[{index}]");
        let operation = name;
        let never_requested = match operation {
            Operation::Refresh => flow.is_some_and(|flow| flow.refresh_every.is_none()),
            Operation::Logout => flow.is_some_and(|flow| !flow.logout),
            Operation::Login | Operation::Balance => false,
        };
        if operations.contains(&operation) {
            checker.problem(key, format!("\"{}\" is listed twice", operation.as_str()));
        } else if never_requested {
            let reason = match operation {
                Operation::Refresh => "flow.refresh_every is not set",
                _ => "flow.logout is false",
            };
            checker.problem(
                key,
                format!("\"{}\" is never requested: {reason}", operation.as_str()),
            );
        }
        operations.push(operation);
    }
    (checker.problems.len() == problems_before).then_some(operations)
}

pub fn pinning(checker: &mut Checker<'_>, pinning: PinningFile) -> Option<Pinning> {
    let mut cores = |list: Option<Vec<i64>>, key: &str, side: &str| {
        let list = checker.required(list, key, &format!("list the cores {side} may run on"))?;
        if list.is_empty() {
            checker.problem(
                key,
                format!("is empty; list the cores {side} may run on, e.g. [0]"),
            );
            return None;
        }
        let mut cores: Vec<u32> = Vec::with_capacity(list.len());
        for (index, &core) in list.iter().enumerate() {
            let core = checker.count(core, &format!("{key}[{index}]"), 0)?;
            if cores.contains(&core) {
                checker.problem(
                    format!("{key}[{index}]"),
                    format!("core {core} is listed twice"),
                );
                return None;
            }
            cores.push(core);
        }
        Some(cores)
    };
    let servers = cores(pinning.servers, "pinning.servers", "the spawned servers");
    let loadgen = cores(pinning.loadgen, "pinning.loadgen", "the load generator");
    let (servers, loadgen) = (servers?, loadgen?);
    let shared: Vec<String> = loadgen
        .iter()
        .filter(|core| servers.contains(core))
        .map(u32::to_string)
        .collect();
    if !shared.is_empty() {
        checker.problem(
            "pinning.loadgen",
            format!(
                "{} also in pinning.servers; the two sides must not share cores, or each one's \
                 CPU use would include the other's",
                match shared.as_slice() {
                    [one] => format!("core {one} is"),
                    many => format!("cores {} are", many.join(", ")),
                }
            ),
        );
        return None;
    }
    Some(Pinning { servers, loadgen })
}
