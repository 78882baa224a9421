//! The transaction coordinator (exactly-once producers, KIP-98), as Apache
//! Kafka 4.x runs it for clients that do not use transaction version 2.
//!
//! The broker is coordinator for every transactional id (one node). Per
//! transactional id it keeps the producer id and epoch, the state (Empty,
//! Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort), the
//! partitions and the groups (with their pending offsets) of the current
//! transaction, its timeout and timestamps. Every change is persisted to the
//! compacted internal topic `__transaction_state` before it takes effect, and
//! the log is replayed at start-up: a transaction found in Prepare* is
//! completed again (markers are idempotent), an ongoing one is aborted when its
//! timeout expires.
//!
//! Ending a transaction writes a COMMIT or ABORT control batch to each of its
//! partitions (built and parsed by [`weir_storage::control`], which the log
//! cleaner shares); the partitions track ongoing transactions (last stable
//! offset) and aborted ones (read_committed fetches) in
//! [`crate::producer_state`]. Committed offsets (TxnOffsetCommit) are applied
//! to the group coordinator when the transaction commits and dropped when it
//! aborts.
//!
//! # Layout
//! - [`state`]: one transactional id's metadata and its legal transitions
//!   (pure; every illegal one is Kafka's error code).
//! - [`records`]: keys and values of `__transaction_state`.
//! - [`coordinator`]: [`TxnCoordinator`], serialising operations per
//!   transactional id, persisting, writing markers, timers.
//! - [`wiring`]: the coordinator inside the broker (internal topic, the
//!   partitions and groups it writes to).

pub mod coordinator;
pub mod records;
pub mod state;
pub mod wiring;

#[cfg(test)]
mod tests;

pub use coordinator::{MarkerError, TxnCoordinator, TxnEnv};
pub use state::{PendingOffset, TxnError, TxnMetadata, TxnState};
