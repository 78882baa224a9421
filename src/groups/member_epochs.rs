//! What consumer groups (KIP-848, [`super::consumer`]) and streams groups
//! (KIP-1071, [`super::streams`]) do alike with their members, over any key
//! of their assignments (topic ids, subtopology ids): the two halves of
//! reconciliation (what a member keeps and must revoke of what it has; what
//! of its target it may take now that no other member holds it), a static
//! member stepping out for a session, and session and revocation deadlines.

use std::collections::{BTreeMap, BTreeSet};

/// Partitions (or task partitions) by key.
pub type Parts<K> = BTreeMap<K, BTreeSet<i32>>;

/// Split what a member has into what it keeps (in its target) and what it
/// must revoke (not in its target); empty entries left out.
pub fn keep_and_revoke<K: Ord + Clone>(have: &Parts<K>, target: &Parts<K>) -> (Parts<K>, Parts<K>) {
    let (mut keep, mut revoke) = (Parts::new(), Parts::new());
    for (k, ps) in have {
        let want = target.get(k);
        let (kept, revoked): (BTreeSet<i32>, BTreeSet<i32>) =
            ps.iter().partition(|p| want.is_some_and(|w| w.contains(p)));
        if !kept.is_empty() {
            keep.insert(k.clone(), kept);
        }
        if !revoked.is_empty() {
            revoke.insert(k.clone(), revoked);
        }
    }
    (keep, revoke)
}

/// `keep` plus what of `target` no other member holds (`held`); `true` when
/// some of the target is still held elsewhere (the member waits for it).
pub fn take_released<K: Ord + Clone>(
    keep: Parts<K>,
    target: &Parts<K>,
    held: &Parts<K>,
) -> (Parts<K>, bool) {
    let mut unreleased = false;
    let mut assigned = keep;
    for (k, ps) in target {
        for p in ps {
            if assigned.get(k).is_some_and(|s| s.contains(p)) {
                continue;
            }
            if held.get(k).is_some_and(|s| s.contains(p)) {
                unreleased = true;
            } else {
                assigned.entry(k.clone()).or_default().insert(*p);
            }
        }
    }
    (assigned, unreleased)
}

/// The union of `sets` (what other members hold: assigned or being revoked).
pub fn union<'a, K: Ord + Clone + 'a>(sets: impl Iterator<Item = &'a Parts<K>>) -> Parts<K> {
    let mut all = Parts::new();
    for s in sets {
        for (k, ps) in s {
            all.entry(k.clone()).or_default().extend(ps.iter().copied());
        }
    }
    all
}

/// The epoch fields of a member that a static leave (epoch -2) changes.
pub struct StaticLeave<'a> {
    pub member_epoch: &'a mut i32,
    pub previous_member_epoch: &'a mut i32,
    pub left_static: &'a mut bool,
    pub session_deadline: &'a mut u64,
}

impl StaticLeave<'_> {
    /// The member steps out until `deadline`: its assignment waits for the
    /// same instance, which comes back at its last epoch.
    pub fn step_out(self, deadline: u64) {
        *self.left_static = true;
        if *self.member_epoch >= 0 {
            *self.previous_member_epoch = *self.member_epoch;
        }
        *self.member_epoch = -2;
        *self.session_deadline = deadline;
    }
}

/// Whether a member's session or its revocation time is over at `now`.
pub fn is_due(session_deadline: u64, revocation_deadline: Option<u64>, now: u64) -> bool {
    session_deadline <= now || revocation_deadline.is_some_and(|d| d <= now)
}

/// The earliest of the members' (session, revocation) deadlines.
pub fn earliest(deadlines: impl Iterator<Item = (u64, Option<u64>)>) -> Option<u64> {
    deadlines.flat_map(|(s, r)| [Some(s), r]).flatten().min()
}

/// Why a heartbeat's member epoch is refused (FENCED_MEMBER_EPOCH).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fenced {
    /// Ahead of the coordinator's epoch for the member.
    Greater,
    /// Behind it, and not the previous epoch with only owned partitions the
    /// member still has (a lost answer to its last heartbeat).
    Smaller,
}

/// Kafka's `throwIf...MemberEpochIsInvalid` (a heartbeat other than a join):
/// the member sent `epoch`, the coordinator has `current` and `previous`;
/// `owned_is_assigned` = what the member says it owns is still assigned to it.
pub fn check_epoch(
    epoch: i32,
    current: i32,
    previous: i32,
    owned_is_assigned: bool,
) -> Result<(), Fenced> {
    if epoch > current {
        Err(Fenced::Greater)
    } else if epoch < current && !(epoch == previous && owned_is_assigned) {
        Err(Fenced::Smaller)
    } else {
        Ok(())
    }
}

/// Kafka's UNKNOWN_MEMBER_ID text.
pub fn not_a_member(member_id: &str, group_id: &str) -> String {
    format!("Member {member_id} is not a member of group {group_id}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(xs: &[(u8, &[i32])]) -> Parts<u8> {
        xs.iter()
            .map(|(k, ps)| (*k, ps.iter().copied().collect()))
            .collect()
    }

    #[test]
    fn keep_revoke_and_take_what_is_released() {
        let have = parts(&[(1, &[0, 1]), (2, &[0])]);
        let target = parts(&[(1, &[1, 2]), (3, &[0])]);
        let (keep, revoke) = keep_and_revoke(&have, &target);
        assert_eq!(keep, parts(&[(1, &[1])]));
        assert_eq!(revoke, parts(&[(1, &[0]), (2, &[0])]));
        let held = parts(&[(3, &[0])]);
        let (assigned, unreleased) = take_released(keep, &target, &held);
        assert_eq!(assigned, parts(&[(1, &[1, 2])]));
        assert!(unreleased);
        let u = union([&have, &target].into_iter());
        assert_eq!(u, parts(&[(1, &[0, 1, 2]), (2, &[0]), (3, &[0])]));
    }

    #[test]
    fn member_epochs_are_checked_as_kafka() {
        assert_eq!(check_epoch(5, 5, 4, false), Ok(()));
        assert_eq!(check_epoch(6, 5, 4, true), Err(Fenced::Greater));
        assert_eq!(
            check_epoch(4, 5, 4, true),
            Ok(()),
            "the previous epoch, owned still assigned"
        );
        assert_eq!(check_epoch(4, 5, 4, false), Err(Fenced::Smaller));
        assert_eq!(check_epoch(3, 5, 4, true), Err(Fenced::Smaller));
    }

    #[test]
    fn deadlines_and_static_leave() {
        assert!(is_due(5, None, 5) && is_due(9, Some(3), 4) && !is_due(9, Some(5), 4));
        assert_eq!(earliest([(9, Some(4)), (3, None)].into_iter()), Some(3));
        assert_eq!(earliest(std::iter::empty()), None);
        let (mut e, mut p, mut l, mut s) = (7, 6, false, 0);
        StaticLeave {
            member_epoch: &mut e,
            previous_member_epoch: &mut p,
            left_static: &mut l,
            session_deadline: &mut s,
        }
        .step_out(100);
        assert_eq!((e, p, l, s), (-2, 7, true, 100));
    }
}
