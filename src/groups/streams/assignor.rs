//! The sticky, balanced task assignor of streams groups (`group.streams.assignors`
//! = `sticky`, Kafka's `StickyTaskAssignor` in spirit):
//! - active tasks are spread so that no member has more than one task more
//!   than another; a member keeps the active tasks it held as far as its share
//!   allows, and a task that moves goes first to a member whose process held
//!   it as a standby (its state is warm there), then to the least loaded member;
//! - each active task gets up to `num_standby` standby replicas, on members of
//!   processes other than the active task's and each other's (a replica on the
//!   same process protects nothing); a previous holder of the task is preferred,
//!   then the least loaded member. A task that finds no such process gets fewer
//!   standbys, as in Kafka.
//!
//! Pure: members and tasks in, target assignment out; deterministic for the
//! same input (members are taken in member-id order).

use super::{TaskId, Tasks};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One member as the assignor sees it.
#[derive(Debug, Clone, Default)]
pub struct AssignorMember {
    pub member_id: String,
    pub process_id: String,
    /// Active tasks it holds now (assigned or being revoked).
    pub prev_active: BTreeSet<TaskId>,
    /// Standby and warm-up tasks it holds now.
    pub prev_standby: BTreeSet<TaskId>,
}

/// Assign `tasks` (every task of the topology) to `members`.
pub fn assign(
    members: &[AssignorMember],
    tasks: &[TaskId],
    num_standby: usize,
) -> HashMap<String, Tasks> {
    let mut out: HashMap<String, Tasks> = HashMap::new();
    if members.is_empty() {
        return out;
    }
    let mut ms: Vec<&AssignorMember> = members.iter().collect();
    ms.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let n = ms.len();
    let all: BTreeSet<&TaskId> = tasks.iter().collect();
    // Quotas: `base` each, `extra` members get one more, preferring those that
    // held more tasks (so that fewer tasks move).
    let base = tasks.len() / n;
    let extra = tasks.len() % n;
    let mut by_prev: Vec<usize> = (0..n).collect();
    by_prev.sort_by_key(|&i| {
        let held = ms[i].prev_active.iter().filter(|t| all.contains(t)).count();
        (std::cmp::Reverse(held.min(base + 1)), i)
    });
    let mut quota = vec![base; n];
    for &i in by_prev.iter().take(extra) {
        quota[i] += 1;
    }
    let mut active: Vec<BTreeSet<TaskId>> = vec![BTreeSet::new(); n];
    let mut owner: BTreeMap<&TaskId, usize> = BTreeMap::new();
    // 1. Stickiness: keep held tasks within the quota.
    for (i, m) in ms.iter().enumerate() {
        for t in &m.prev_active {
            if active[i].len() >= quota[i] {
                break;
            }
            if all.contains(t) && !owner.contains_key(t) {
                owner.insert(t, i);
                active[i].insert(t.clone());
            }
        }
    }
    // 2. The rest: a warm standby first, then the least loaded member.
    for t in tasks {
        if owner.contains_key(t) {
            continue;
        }
        let open = |i: &usize| active[*i].len() < quota[*i];
        let pick = (0..n)
            .filter(open)
            .find(|&i| ms[i].prev_standby.contains(t))
            .or_else(|| (0..n).filter(open).min_by_key(|&i| (active[i].len(), i)))
            .expect("the quotas add up to the task count");
        owner.insert(t, pick);
        active[pick].insert(t.clone());
    }
    // 3. Standbys on other processes.
    let mut standby: Vec<BTreeSet<TaskId>> = vec![BTreeSet::new(); n];
    if num_standby > 0 {
        for t in tasks {
            let mut processes: BTreeSet<&str> = BTreeSet::new();
            processes.insert(ms[owner[t]].process_id.as_str());
            for _ in 0..num_standby {
                let eligible = |i: &usize| !processes.contains(ms[*i].process_id.as_str());
                let load = |i: usize| active[i].len() + standby[i].len();
                let pick = (0..n)
                    .filter(eligible)
                    .filter(|&i| ms[i].prev_standby.contains(t) || ms[i].prev_active.contains(t))
                    .min_by_key(|&i| (load(i), i))
                    .or_else(|| (0..n).filter(eligible).min_by_key(|&i| (load(i), i)));
                let Some(i) = pick else { break };
                processes.insert(ms[i].process_id.as_str());
                standby[i].insert(t.clone());
            }
        }
    }
    for (i, m) in ms.iter().enumerate() {
        let mut tasks = Tasks::default();
        for (s, p) in &active[i] {
            tasks.active.entry(s.clone()).or_default().insert(*p);
        }
        for (s, p) in &standby[i] {
            tasks.standby.entry(s.clone()).or_default().insert(*p);
        }
        out.insert(m.member_id.clone(), tasks);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(subs: &[(&str, i32)]) -> Vec<TaskId> {
        subs.iter()
            .flat_map(|(s, n)| (0..*n).map(move |p| (s.to_string(), p)))
            .collect()
    }

    fn member(id: &str, process: &str) -> AssignorMember {
        AssignorMember {
            member_id: id.into(),
            process_id: process.into(),
            ..Default::default()
        }
    }

    fn count(t: &BTreeMap<String, BTreeSet<i32>>) -> usize {
        t.values().map(|s| s.len()).sum()
    }

    #[test]
    fn every_task_once_and_balanced_within_one() {
        let ts = tasks(&[("0", 5), ("1", 3)]);
        let ms = vec![member("a", "p1"), member("b", "p2"), member("c", "p3")];
        let out = assign(&ms, &ts, 0);
        let mut seen = BTreeSet::new();
        for t in out.values() {
            for (s, ps) in &t.active {
                for p in ps {
                    assert!(seen.insert((s.clone(), *p)), "task twice");
                }
            }
        }
        assert_eq!(seen.len(), 8);
        let counts: Vec<usize> = out.values().map(|t| count(&t.active)).collect();
        assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1);
    }

    #[test]
    fn a_member_keeps_its_tasks_when_another_joins() {
        let ts = tasks(&[("0", 4)]);
        let mut a = member("a", "p1");
        a.prev_active = ts.iter().cloned().collect();
        let out = assign(&[a.clone(), member("b", "p2")], &ts, 0);
        assert_eq!(count(&out["a"].active), 2);
        assert_eq!(count(&out["b"].active), 2);
        // What a keeps, it held.
        for (s, ps) in &out["a"].active {
            for p in ps {
                assert!(a.prev_active.contains(&(s.clone(), *p)));
            }
        }
    }

    #[test]
    fn a_moved_task_goes_to_its_warm_standby() {
        let ts = tasks(&[("0", 2)]);
        let mut b = member("b", "p2");
        b.prev_standby.insert(("0".into(), 1));
        let mut c = member("c", "p3");
        c.prev_active.insert(("0".into(), 0));
        // Task 0_1's active owner is gone; b has it warm.
        let out = assign(&[b, c], &ts, 0);
        assert_eq!(out["b"].active.get("0").cloned(), Some([1].into()));
    }

    #[test]
    fn standbys_go_to_other_processes_only() {
        let ts = tasks(&[("0", 4)]);
        let ms = vec![member("a1", "p1"), member("a2", "p1"), member("b1", "p2")];
        let out = assign(&ms, &ts, 1);
        let proc_of = |m: &str| if m.starts_with('a') { "p1" } else { "p2" };
        for t in &ts {
            let act: Vec<&String> = out
                .iter()
                .filter(|(_, a)| a.active.get(&t.0).is_some_and(|s| s.contains(&t.1)))
                .map(|(m, _)| m)
                .collect();
            let stb: Vec<&String> = out
                .iter()
                .filter(|(_, a)| a.standby.get(&t.0).is_some_and(|s| s.contains(&t.1)))
                .map(|(m, _)| m)
                .collect();
            assert_eq!(act.len(), 1);
            assert_eq!(stb.len(), 1, "two processes: one standby per task");
            assert_ne!(proc_of(act[0]), proc_of(stb[0]));
        }
        // One process: no standby at all.
        let out = assign(&[member("a1", "p1"), member("a2", "p1")], &ts, 1);
        assert!(out.values().all(|t| t.standby.is_empty()));
    }
}
