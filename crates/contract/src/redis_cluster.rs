//! What every crate reads of a Redis Cluster's own account of itself: its masters, from the
//! text of `CLUSTER NODES`. The store counts keys on each, the probes read each one's `INFO`,
//! and the ceiling saturates each with a key of its own slots.

use std::ops::RangeInclusive;

/// The number of hash slots a cluster divides its keys into.
pub const SLOTS: u16 = 16_384;

/// One master, as `CLUSTER NODES` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Master {
    pub host: String,
    pub port: u16,
    /// The slots it serves (migrating and importing slots left out).
    pub slots: Vec<RangeInclusive<u16>>,
    /// Flagged `fail` or `fail?` by the node that answered: down, or suspected to be.
    pub failing: bool,
}

impl Master {
    /// `host:port`, as reports name the node.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|range| range.contains(&slot))
    }
}

/// The masters in a `CLUSTER NODES` answer (`id ip:port@cport[,hostname] flags master ping pong
/// epoch link slot...`), in the order given, failing ones included; replicas left out.
pub fn masters(nodes: &str) -> Vec<Master> {
    nodes.lines().filter_map(master).collect()
}

fn master(line: &str) -> Option<Master> {
    let mut fields = line.split_whitespace();
    let address = fields.nth(1)?;
    let flags: Vec<&str> = fields.next()?.split(',').collect();
    if !flags.contains(&"master") {
        return None;
    }
    let address = address.split(['@', ',']).next()?;
    let (host, port) = address.rsplit_once(':')?;
    // master-id, ping-sent, pong-recv, config-epoch, link-state, then the slots.
    let slots = fields.skip(5).filter_map(slot_range).collect();
    Some(Master {
        host: host.to_owned(),
        port: port.parse().ok()?,
        slots,
        failing: flags.iter().any(|flag| flag.starts_with("fail")),
    })
}

/// `0-5460` or `42`; `[42->-id]` (migrating) and `[42-<-id]` (importing) are not served yet.
fn slot_range(field: &str) -> Option<RangeInclusive<u16>> {
    if field.starts_with('[') {
        return None;
    }
    let (first, last) = field.split_once('-').unwrap_or((field, field));
    Some(first.parse().ok()?..=last.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masters_with_their_slots_and_failing_flags_without_replicas() {
        let nodes = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 [5461->-b2]
b2 127.0.0.1:7001@17001,host-b master - 0 0 2 connected 5461-10922 16000
c3 127.0.0.1:7002@17002 master,fail - 0 0 3 connected 10923-16383
d4 127.0.0.1:7003@17003 slave a1 0 0 1 connected
";
        let found = masters(nodes);
        assert_eq!(found.len(), 3);
        assert_eq!(
            found.iter().map(|m| m.failing).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert_eq!(found[0].address(), "127.0.0.1:7000");
        assert_eq!(found[0].slots, [0..=5460]);
        assert_eq!(found[1].slots, [5461..=10922, 16000..=16000]);
        assert!(found[1].serves(16000) && !found[1].serves(0));
    }
}
