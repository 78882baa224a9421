//! Broker-side partition assignors for KIP-848 consumer groups: `uniform`
//! (balanced and sticky: members keep what they had as far as balance allows)
//! and `range` (per topic, consecutive ranges over members sorted by id).
//! Topics are named by topic id (a u128); an assignment maps topic id to
//! partition indexes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Partitions per topic id.
pub type Assignment = BTreeMap<u128, BTreeSet<i32>>;

/// The assignors this broker offers, the default first.
pub const ASSIGNORS: [&str; 2] = ["uniform", "range"];

/// What an assignor sees of one member.
#[derive(Debug, Clone)]
pub struct AssignorMember {
    pub member_id: String,
    /// Topic ids the member subscribes to (existing topics only).
    pub topics: BTreeSet<u128>,
}

/// Compute a target assignment with the named assignor; `None` for an unknown name.
pub fn assign(
    name: &str,
    members: &[AssignorMember],
    partitions: &HashMap<u128, i32>,
    previous: &HashMap<String, Assignment>,
) -> Option<HashMap<String, Assignment>> {
    match name {
        "uniform" => Some(uniform(members, partitions, previous)),
        "range" => Some(range(members, partitions)),
        _ => None,
    }
}

/// Per topic, members subscribed to it sorted by id get consecutive ranges;
/// the first `n % m` get one extra.
pub fn range(
    members: &[AssignorMember],
    partitions: &HashMap<u128, i32>,
) -> HashMap<String, Assignment> {
    let mut out: HashMap<String, Assignment> = members
        .iter()
        .map(|m| (m.member_id.clone(), Assignment::new()))
        .collect();
    let topics: BTreeSet<u128> = members
        .iter()
        .flat_map(|m| m.topics.iter().copied())
        .collect();
    for topic in topics {
        let Some(&count) = partitions.get(&topic) else {
            continue;
        };
        let mut subs: Vec<&str> = members
            .iter()
            .filter(|m| m.topics.contains(&topic))
            .map(|m| m.member_id.as_str())
            .collect();
        subs.sort_unstable();
        let (n, m) = (count.max(0) as usize, subs.len());
        let mut next = 0usize;
        for (i, member) in subs.iter().enumerate() {
            let take = n / m + usize::from(i < n % m);
            if take > 0 {
                let set: BTreeSet<i32> = (next..next + take).map(|p| p as i32).collect();
                out.get_mut(*member).unwrap().insert(topic, set);
            }
            next += take;
        }
    }
    out
}

/// Balanced and sticky: keep previous partitions that are still valid, give
/// the rest to the least loaded eligible member, then move partitions from
/// members with two or more above an eligible peer until balanced.
pub fn uniform(
    members: &[AssignorMember],
    partitions: &HashMap<u128, i32>,
    previous: &HashMap<String, Assignment>,
) -> HashMap<String, Assignment> {
    let mut ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    ids.sort_unstable();
    let subs: HashMap<&str, &BTreeSet<u128>> = members
        .iter()
        .map(|m| (m.member_id.as_str(), &m.topics))
        .collect();
    let mut owned: HashMap<&str, BTreeSet<(u128, i32)>> =
        ids.iter().map(|id| (*id, BTreeSet::new())).collect();
    let mut taken: HashSet<(u128, i32)> = HashSet::new();
    // 1. stickiness
    for id in &ids {
        if let Some(prev) = previous.get(*id) {
            for (topic, parts) in prev {
                let Some(&count) = partitions.get(topic) else {
                    continue;
                };
                if !subs[id].contains(topic) {
                    continue;
                }
                for &p in parts {
                    if p < count && taken.insert((*topic, p)) {
                        owned.get_mut(id).unwrap().insert((*topic, p));
                    }
                }
            }
        }
    }
    // 2. unassigned partitions to the least loaded eligible member (fewest candidates first)
    let all_topics: BTreeSet<u128> = members
        .iter()
        .flat_map(|m| m.topics.iter().copied())
        .collect();
    let mut free: Vec<(usize, u128, i32)> = Vec::new();
    for topic in all_topics {
        let Some(&count) = partitions.get(&topic) else {
            continue;
        };
        let eligible = ids.iter().filter(|id| subs[*id].contains(&topic)).count();
        for p in 0..count {
            if !taken.contains(&(topic, p)) {
                free.push((eligible, topic, p));
            }
        }
    }
    free.sort_unstable();
    for (_, topic, p) in free {
        if let Some(best) = ids
            .iter()
            .filter(|id| subs[*id].contains(&topic))
            .min_by_key(|id| (owned[*id].len(), **id))
            .copied()
        {
            owned.get_mut(best).unwrap().insert((topic, p));
        }
    }
    // 3. balance: move from a member to an eligible one with at least two fewer
    let limit = owned.values().map(|s| s.len()).sum::<usize>() * ids.len().max(1);
    for _ in 0..limit {
        let mut moved = false;
        let mut by_load: Vec<&str> = ids.clone();
        by_load.sort_by_key(|id| std::cmp::Reverse(owned[*id].len()));
        'outer: for from in by_load {
            let from_len = owned[from].len();
            for &(topic, p) in owned[from].iter().rev() {
                let to = ids
                    .iter()
                    .filter(|id| {
                        **id != from
                            && subs[*id].contains(&topic)
                            && owned[*id].len() + 1 < from_len
                    })
                    .min_by_key(|id| (owned[*id].len(), **id))
                    .copied();
                if let Some(to) = to {
                    owned.get_mut(from).unwrap().remove(&(topic, p));
                    owned.get_mut(to).unwrap().insert((topic, p));
                    moved = true;
                    break 'outer;
                }
            }
        }
        if !moved {
            break;
        }
    }
    owned
        .into_iter()
        .map(|(id, set)| {
            let mut a = Assignment::new();
            for (t, p) in set {
                a.entry(t).or_default().insert(p);
            }
            (id.to_string(), a)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[u128]) -> AssignorMember {
        AssignorMember {
            member_id: id.into(),
            topics: topics.iter().copied().collect(),
        }
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(|s| s.len()).sum()
    }

    fn assert_disjoint_cover(out: &HashMap<String, Assignment>, partitions: &HashMap<u128, i32>) {
        let mut seen = HashSet::new();
        for a in out.values() {
            for (t, ps) in a {
                for p in ps {
                    assert!(seen.insert((*t, *p)), "partition {t}/{p} assigned twice");
                }
            }
        }
        let total: i32 = partitions.values().sum();
        assert_eq!(seen.len(), total as usize);
    }

    #[test]
    fn uniform_three_members_six_partitions_two_each() {
        let parts = HashMap::from([(1u128, 6)]);
        let ms = [member("a", &[1]), member("b", &[1]), member("c", &[1])];
        let out = uniform(&ms, &parts, &HashMap::new());
        assert_disjoint_cover(&out, &parts);
        for a in out.values() {
            assert_eq!(count(a), 2);
        }
    }

    #[test]
    fn uniform_is_sticky_when_a_member_joins() {
        let parts = HashMap::from([(1u128, 6)]);
        let two = [member("a", &[1]), member("b", &[1])];
        let first = uniform(&two, &parts, &HashMap::new());
        let three = [member("a", &[1]), member("b", &[1]), member("c", &[1])];
        let second = uniform(&three, &parts, &first);
        assert_disjoint_cover(&second, &parts);
        // a and b only lose partitions, never gain others' partitions.
        for id in ["a", "b"] {
            for (t, ps) in &second[id] {
                assert!(
                    ps.is_subset(&first[id][t]),
                    "{id} got a partition it did not have"
                );
            }
            assert_eq!(count(&second[id]), 2);
        }
        assert_eq!(count(&second["c"]), 2);
    }

    #[test]
    fn uniform_respects_heterogeneous_subscriptions() {
        let parts = HashMap::from([(1u128, 4), (2u128, 2)]);
        let ms = [member("a", &[1, 2]), member("b", &[1]), member("c", &[2])];
        let out = uniform(&ms, &parts, &HashMap::new());
        assert_disjoint_cover(&out, &parts);
        assert!(!out["b"].contains_key(&2));
        assert!(!out["c"].contains_key(&1));
        for a in out.values() {
            assert_eq!(count(a), 2);
        }
    }

    #[test]
    fn range_gives_consecutive_ranges_extra_to_first() {
        let parts = HashMap::from([(7u128, 5)]);
        let ms = [member("b", &[7]), member("a", &[7])];
        let out = range(&ms, &parts);
        assert_eq!(out["a"][&7], BTreeSet::from([0, 1, 2]));
        assert_eq!(out["b"][&7], BTreeSet::from([3, 4]));
    }

    #[test]
    fn unknown_assignor_is_refused() {
        assert!(assign("cooperative-magic", &[], &HashMap::new(), &HashMap::new()).is_none());
    }
}
