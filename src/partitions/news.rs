//! News marks: how a partition tells the fetch sessions holding it that it
//! moved (an append, a transaction marker, a log start move, its topic
//! deleted), so an incremental fetch looks only at the partitions with news
//! rather than walking its whole session.
//!
//! A session owns a [`News`]: one bit per session slot, in fixed chunks of
//! [`CHUNK_SLOTS`] that never move (a producer may be setting a bit while the
//! session grows), and one [`NewsSignal`] a waiting fetch sleeps on. A
//! partition held by a session keeps that slot's [`NewsMark`] (under the lock
//! its waiting fetches already use); telling it costs one atomic `fetch_or`
//! and one load per session (the notify only while that session's fetch
//! waits). A partition no session holds pays an empty-list check.
//!
//! Ordering: the producer makes its append visible, then sets the bit
//! (SeqCst); a fetch takes the bits (swap, SeqCst) before it reads the
//! partitions' offsets, so a move either shows in that read or leaves its
//! bit for the next fetch. A fetch about to wait counts itself in
//! [`NewsSignal`]'s waiters, then looks at the bits once more: a producer
//! either sees it waiting and notifies, or its bit is seen.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

const CHUNK_WORDS: usize = 16;
/// Slots per chunk of marks.
pub const CHUNK_SLOTS: usize = CHUNK_WORDS * 64;

/// What a fetch waiting on a session sleeps on.
#[derive(Default)]
pub struct NewsSignal {
    waiting: AtomicU32,
    notify: Notify,
}

impl NewsSignal {
    /// A wake-up future (call `enable` on it, then [`NewsSignal::start_waiting`],
    /// then look at the bits, then await it).
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }

    /// Count a fetch as waiting until the guard goes (producers notify
    /// only while some fetch waits).
    pub fn start_waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, SeqCst);
        Waiting(self)
    }
}

/// A fetch waiting on a session (see [`NewsSignal::start_waiting`]).
pub struct Waiting<'a>(&'a NewsSignal);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, SeqCst);
    }
}

struct Chunk {
    words: [AtomicU64; CHUNK_WORDS],
    signal: Arc<NewsSignal>,
}

/// One session slot's mark, kept by the partition in that slot.
#[derive(Clone)]
pub struct NewsMark {
    chunk: Arc<Chunk>,
    word: u32,
    bit: u64,
}

impl NewsMark {
    /// Tell the session: one atomic `fetch_or`, one load (and a notify only
    /// when a fetch of that session waits).
    #[inline]
    pub fn mark(&self) {
        self.chunk.words[self.word as usize].fetch_or(self.bit, SeqCst);
        if self.chunk.signal.waiting.load(SeqCst) != 0 {
            self.chunk.signal.notify.notify_waiters();
        }
    }

    /// The same session slot.
    pub fn same(&self, other: &NewsMark) -> bool {
        Arc::ptr_eq(&self.chunk, &other.chunk) && self.word == other.word && self.bit == other.bit
    }
}

/// A session's marks (one bit per slot) and its signal.
pub struct News {
    signal: Arc<NewsSignal>,
    chunks: Vec<Arc<Chunk>>,
}

impl Default for News {
    fn default() -> Self {
        News {
            signal: Arc::new(NewsSignal::default()),
            chunks: Vec::new(),
        }
    }
}

impl News {
    pub fn signal(&self) -> &Arc<NewsSignal> {
        &self.signal
    }

    /// The mark of `slot` (chunks are added as the session grows).
    pub fn mark_for(&mut self, slot: u32) -> NewsMark {
        let chunk = slot as usize / CHUNK_SLOTS;
        while self.chunks.len() <= chunk {
            self.chunks.push(Arc::new(Chunk {
                words: Default::default(),
                signal: self.signal.clone(),
            }));
        }
        let within = slot as usize % CHUNK_SLOTS;
        NewsMark {
            chunk: self.chunks[chunk].clone(),
            word: (within / 64) as u32,
            bit: 1u64 << (within % 64),
        }
    }

    /// Take every marked slot (clearing the marks) into `out`.
    pub fn take(&self, out: &mut Vec<u32>) {
        for (c, chunk) in self.chunks.iter().enumerate() {
            for (w, word) in chunk.words.iter().enumerate() {
                if word.load(SeqCst) == 0 {
                    continue;
                }
                let mut bits = word.swap(0, SeqCst);
                while bits != 0 {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    out.push((c * CHUNK_SLOTS + w * 64 + b) as u32);
                }
            }
        }
    }

    /// Whether any slot is marked.
    pub fn any(&self) -> bool {
        self.chunks
            .iter()
            .any(|c| c.words.iter().any(|w| w.load(SeqCst) != 0))
    }

    /// Clear every mark.
    pub fn clear(&self) {
        for chunk in &self.chunks {
            for word in &chunk.words {
                word.store(0, SeqCst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_taken_once_per_slot() {
        let mut n = News::default();
        let a = n.mark_for(3);
        let b = n.mark_for(CHUNK_SLOTS as u32 + 70);
        assert!(!n.any());
        a.mark();
        b.mark();
        a.mark();
        assert!(n.any());
        let mut out = Vec::new();
        n.take(&mut out);
        assert_eq!(out, [3, CHUNK_SLOTS as u32 + 70]);
        assert!(!n.any());
        out.clear();
        n.take(&mut out);
        assert!(out.is_empty());
        assert!(a.same(&n.mark_for(3)) && !a.same(&b));
    }
}
