//! What "one instance" was in the run the plan comes from: the measured server, or one of the
//! replicas of a system that scaled out. Capacity per instance holds for that size only.

use std::collections::BTreeSet;

use crate::claims::cpu_list;
use crate::format::routing;
use crate::model::{Report, SystemInfo};

/// What "one instance" was in this run: capacity holds for that size only. For a system that
/// scaled out, one of its replicas, which shared the machine with the others.
pub(super) fn instance_size(report: &Report, system: &SystemInfo) -> String {
    if system.replicas.len() > 1 {
        return replica_size(report, system);
    }
    let workers = system
        .settings
        .get("workers")
        .map_or(String::new(), |w| format!(", {w} tokio worker thread(s)"));
    match &system.cores {
        Some(cores) => format!(
            "one instance = the measured server: pinned to CPU {cores} ({} core(s)){workers}; \
             an instance of another size needs its own run",
            count_cpus(cores)
        ),
        None => format!(
            "one instance = the measured server, unpinned on a {}-core {}{workers}",
            report.machine.cores, report.machine.cpu_model
        ),
    }
}

fn replica_size(report: &Report, system: &SystemInfo) -> String {
    let n = system.replicas.len();
    let workers = system.settings.get("workers").map_or(String::new(), |w| {
        format!(", {w} tokio worker thread(s) each")
    });
    let routed = system
        .routing
        .map_or(String::new(), |mode| format!(", {} routing", routing(mode)));
    let size = format!(
        "one instance = one of the {n} measured server processes ({n} replicas{routed}{workers}): \
         capacity per instance is their requests/s divided by {n}, as if each carried an equal \
         share"
    );
    let lists: Option<Vec<&str>> = system
        .replicas
        .iter()
        .map(|replica| replica.cores.as_deref())
        .collect();
    let Some(lists) = lists else {
        return format!(
            "{size}; unpinned on a {}-core {}, sharing it with each other, so one process alone \
             may carry more",
            report.machine.cores, report.machine.cpu_model
        );
    };
    let pinned = lists
        .iter()
        .map(|list| format!("CPU {list}"))
        .collect::<Vec<_>>()
        .join(", ");
    let each: usize = lists.iter().map(|list| count_cpus(list)).sum();
    let distinct = lists
        .iter()
        .filter_map(|list| cpu_list(list))
        .fold(BTreeSet::new(), |mut all, cores| {
            all.extend(cores);
            all
        })
        .len();
    if distinct < each {
        format!(
            "{size}; pinned to {pinned}: {n} processes on {distinct} core(s), so one process \
             alone on those cores may carry more than its share; an instance of another size \
             needs its own run"
        )
    } else {
        format!(
            "{size}; pinned to {pinned}, no core shared between them; an instance of another size \
             needs its own run"
        )
    }
}

/// Counts a Cpus_allowed_list such as `0`, `0-3` or `0,2-3`.
fn count_cpus(list: &str) -> usize {
    list.split(',')
        .map(|range| match range.split_once('-') {
            Some((first, last)) => {
                match (first.trim().parse::<usize>(), last.trim().parse::<usize>()) {
                    (Ok(first), Ok(last)) if last >= first => last - first + 1,
                    _ => 0,
                }
            }
            None => usize::from(range.trim().parse::<usize>().is_ok()),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_are_counted_as_the_kernel_writes_them() {
        assert_eq!(count_cpus("0"), 1);
        assert_eq!(count_cpus("0-3"), 4);
        assert_eq!(count_cpus("0,2-3"), 3);
        assert_eq!(count_cpus("junk"), 0);
    }
}
