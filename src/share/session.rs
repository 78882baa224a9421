//! Share sessions (KIP-932's version of KIP-227 fetch sessions): per (group,
//! member), the share-partitions a consumer fetches from, and the epoch its
//! next ShareFetch or ShareAcknowledge must carry.
//!
//! Epoch 0 opens a session (replacing any old one) with the request's
//! partitions; each later request carries the expected epoch (1, 2, ...) and
//! adds partitions or forgets them; epoch -1 closes the session. A request for
//! a session that does not exist is SHARE_SESSION_NOT_FOUND, one with another
//! epoch INVALID_SHARE_SESSION_EPOCH.

use std::collections::{BTreeSet, HashMap};

/// Epoch of a request that opens a session.
pub const INITIAL_EPOCH: i32 = 0;
/// Epoch of a request that closes its session.
pub const FINAL_EPOCH: i32 = -1;

/// Why a request does not fit its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("SHARE_SESSION_NOT_FOUND")]
    NotFound,
    #[error("INVALID_SHARE_SESSION_EPOCH")]
    InvalidEpoch,
}

/// One share session.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The epoch the next request must carry.
    pub next_epoch: i32,
    /// (topic id, partition) fetched from.
    pub partitions: BTreeSet<(u128, i32)>,
}

/// Every open share session.
#[derive(Debug, Default)]
pub struct Sessions {
    map: HashMap<(String, String), Session>,
}

impl Sessions {
    /// Check `epoch` against the session of (group, member) and advance it:
    /// returns the session (new for epoch 0, removed for epoch -1).
    pub fn enter(
        &mut self,
        group: &str,
        member: &str,
        epoch: i32,
    ) -> Result<Session, SessionError> {
        let key = (group.to_string(), member.to_string());
        match epoch {
            INITIAL_EPOCH => {
                let s = Session {
                    next_epoch: 1,
                    partitions: BTreeSet::new(),
                };
                self.map.insert(key, s.clone());
                Ok(s)
            }
            FINAL_EPOCH => self.map.remove(&key).ok_or(SessionError::NotFound),
            e => {
                let s = self.map.get_mut(&key).ok_or(SessionError::NotFound)?;
                if s.next_epoch != e {
                    return Err(SessionError::InvalidEpoch);
                }
                s.next_epoch = if e == i32::MAX { 1 } else { e + 1 };
                Ok(s.clone())
            }
        }
    }

    /// Add and forget partitions of an open session; its partitions after.
    pub fn update(
        &mut self,
        group: &str,
        member: &str,
        add: &[(u128, i32)],
        forget: &[(u128, i32)],
    ) -> BTreeSet<(u128, i32)> {
        let key = (group.to_string(), member.to_string());
        match self.map.get_mut(&key) {
            Some(s) => {
                s.partitions.extend(add.iter().copied());
                for f in forget {
                    s.partitions.remove(f);
                }
                s.partitions.clone()
            }
            None => add.iter().copied().collect(),
        }
    }

    /// Drop every session of a member (it left the group).
    pub fn remove_member(&mut self, group: &str, member: &str) -> bool {
        self.map
            .remove(&(group.to_string(), member.to_string()))
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_open_advance_and_close() {
        let mut s = Sessions::default();
        assert_eq!(s.enter("g", "m", 1).unwrap_err(), SessionError::NotFound);
        assert_eq!(s.enter("g", "m", -1).unwrap_err(), SessionError::NotFound);
        s.enter("g", "m", 0).unwrap();
        assert_eq!(s.update("g", "m", &[(1, 0)], &[]).len(), 1);
        assert_eq!(
            s.enter("g", "m", 2).unwrap_err(),
            SessionError::InvalidEpoch
        );
        assert_eq!(s.enter("g", "m", 1).unwrap().partitions.len(), 1);
        assert_eq!(
            s.enter("g", "m", 1).unwrap_err(),
            SessionError::InvalidEpoch
        );
        s.enter("g", "m", 2).unwrap();
        assert!(s.update("g", "m", &[], &[(1, 0)]).is_empty());
        s.enter("g", "m", -1).unwrap();
        assert_eq!(s.enter("g", "m", 3).unwrap_err(), SessionError::NotFound);
    }

    #[test]
    fn epoch_zero_replaces_a_session() {
        let mut s = Sessions::default();
        s.enter("g", "m", 0).unwrap();
        s.update("g", "m", &[(1, 0)], &[]);
        s.enter("g", "m", 1).unwrap();
        s.enter("g", "m", 0).unwrap();
        assert!(s.update("g", "m", &[], &[]).is_empty());
        assert_eq!(s.enter("g", "m", 1).unwrap().next_epoch, 2);
    }
}
