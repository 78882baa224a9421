//! Record keys and partition choice: Kafka's murmur2 partitioner for keyed records, sticky
//! partitioning for null keys, and a small xorshift generator (no `rand` dependency needed).

use crate::args::Keys;

pub use weir_client::partitioner::{murmur2, partition_for_key};

/// xorshift64*: fast, good enough for picking keys.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Produces each record's key and partition for one producer.
#[derive(Debug)]
pub struct KeyChooser {
    keys: Keys,
    partitions: usize,
    rng: Rng,
    seq: u64,
    /// Precomputed key bytes and partitions for keyed modes (bounded: up to 1M keys).
    table: Vec<(Vec<u8>, usize)>,
}

/// Beyond this many distinct keys, keys are formatted on the fly instead of tabulated.
const TABLE_LIMIT: u64 = 1 << 20;

impl KeyChooser {
    pub fn new(keys: Keys, partitions: usize, seed: u64) -> Self {
        let n = match keys {
            Keys::None => 0,
            Keys::Uniform(n) | Keys::Sequential(n) => n,
        };
        let table = if n <= TABLE_LIMIT {
            (0..n)
                .map(|i| {
                    let k = key_bytes(i);
                    let p = partition_for_key(&k, partitions);
                    (k, p)
                })
                .collect()
        } else {
            Vec::new()
        };
        KeyChooser {
            keys,
            partitions,
            rng: Rng::new(seed),
            seq: 0,
            table,
        }
    }

    /// True for null keys (sticky partitioning is the caller's job).
    pub fn is_null(&self) -> bool {
        self.keys == Keys::None
    }

    /// The next key index, for keyed modes.
    fn next_index(&mut self) -> u64 {
        match self.keys {
            Keys::None => 0,
            Keys::Uniform(n) => self.rng.below(n),
            Keys::Sequential(n) => {
                let i = self.seq % n;
                self.seq += 1;
                i
            }
        }
    }

    /// Calls `f(key, partition)` with the next record's key (keyed modes only).
    pub fn with_next<R>(&mut self, f: impl FnOnce(&[u8], usize) -> R) -> R {
        let i = self.next_index();
        if let Some((k, p)) = self.table.get(i as usize) {
            f(k, *p)
        } else {
            let k = key_bytes(i);
            let p = partition_for_key(&k, self.partitions);
            f(&k, p)
        }
    }
}

/// The bytes of key number `i`.
pub fn key_bytes(i: u64) -> Vec<u8> {
    format!("key-{i}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka_reference_values() {
        // Values from Kafka's UtilsTest.testMurmur2.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (k, want) in cases {
            assert_eq!(murmur2(k), *want, "{}", String::from_utf8_lossy(k));
        }
    }

    #[test]
    fn keyed_partitions_are_stable_and_in_range() {
        let mut a = KeyChooser::new(Keys::Sequential(50), 7, 1);
        let mut b = KeyChooser::new(Keys::Sequential(50), 7, 99);
        for _ in 0..200 {
            let pa = a.with_next(|k, p| (k.to_vec(), p));
            let pb = b.with_next(|k, p| (k.to_vec(), p));
            assert_eq!(pa, pb);
            assert!(pa.1 < 7);
            assert_eq!(pa.1, partition_for_key(&pa.0, 7));
        }
    }

    #[test]
    fn uniform_keys_cover_the_range() {
        let mut c = KeyChooser::new(Keys::Uniform(10), 3, 42);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            c.with_next(|k, _| {
                let i: usize = std::str::from_utf8(&k[4..]).unwrap().parse().unwrap();
                seen[i] += 1;
            });
        }
        assert!(seen.iter().all(|&n| n > 800 && n < 1200), "{seen:?}");
    }
}
