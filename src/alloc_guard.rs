//! The process allocator, guarded against allocation sizes chosen by a client.
//!
//! kafka-protocol decodes an array by first reserving `count` elements, with
//! `count` taken from the wire (up to 2^32). A 16-byte request claiming two
//! billion topics asks for ~150 GB; the system allocator refuses and Rust aborts
//! the whole broker. Here every allocation of 1 GiB or more is served by an
//! anonymous `MAP_NORESERVE` mapping instead: the kernel grants the address
//! range without committing memory (pages are only backed when touched), so the
//! bogus reservation succeeds, the decoder fails at the first missing element,
//! the mapping is released, and only that connection is closed. Legitimate
//! huge allocations behave as before (memory is committed as it is written).
//! Smaller allocations go to the system allocator untouched.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large are served by `mmap(MAP_NORESERVE)`.
pub const HUGE: usize = 1 << 30;
const PAGE: usize = 4096;

/// The guarded allocator (installed as the global allocator of every artifact
/// linking this crate).
pub struct GuardedAlloc;

fn is_huge(layout: &Layout) -> bool {
    layout.size() >= HUGE && layout.align() <= PAGE
}

// SAFETY: small layouts are forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract. Huge layouts get a fresh private anonymous mapping of
// exactly `layout.size()` bytes: page-aligned (so any `align <= PAGE` is met),
// zero-filled, never aliased, and returned to the kernel with `munmap` of the
// same size in `dealloc` (Rust passes the same layout back). `is_huge` depends
// only on the layout, so every pointer is freed by the allocator that made it.
// Nothing here unwinds.
unsafe impl GlobalAlloc for GuardedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            // SAFETY: a new anonymous mapping; arguments are valid for mmap.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    layout.size(),
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            return if p == libc::MAP_FAILED {
                std::ptr::null_mut()
            } else {
                p.cast()
            };
        }
        // SAFETY: forwarded contract (non-zero size is the caller's duty).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            // SAFETY: anonymous mappings are zero-filled.
            return unsafe { self.alloc(layout) };
        }
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(&layout) {
            // SAFETY: `ptr` came from our mmap of exactly `layout.size()` bytes.
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
            return;
        }
        // SAFETY: forwarded contract: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_huge(&layout) && !is_huge(&new_layout) {
            // SAFETY: forwarded contract.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: allocate, copy the overlapping prefix, free the old block:
        // both blocks are valid for their sizes and do not overlap.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[global_allocator]
static GLOBAL: GuardedAlloc = GuardedAlloc;

#[cfg(test)]
mod tests {
    #[test]
    fn absurd_reservation_succeeds_and_is_released() {
        // 200 GB: more than this machine has; the system allocator would abort.
        let mut v: Vec<u64> = Vec::with_capacity(25_000_000_000);
        v.push(7);
        assert_eq!(v[0], 7);
        drop(v);
        let mut grown: Vec<u8> = Vec::with_capacity(16);
        grown.resize(super::HUGE + 1, 1);
        assert_eq!(grown[super::HUGE], 1);
    }
}
