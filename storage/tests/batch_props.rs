//! Property tests of the batch codec: built batches round-trip through every
//! codec, and arbitrary damage is a typed error, never a panic or a pass.

use bytes::Bytes;
use proptest::prelude::*;
use weir_storage::batch::{iter_batches, validate_record_set, BatchHeader};
use weir_storage::{BatchBuilder, Compression, Record, RecordHeader};

fn codec() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::None),
        Just(Compression::Gzip),
        Just(Compression::Snappy),
        Just(Compression::Lz4),
        Just(Compression::Zstd),
    ]
}

fn record(i: usize) -> impl Strategy<Value = Record> {
    (
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        proptest::collection::vec(
            (
                "[a-z]{0,8}",
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
            ),
            0..3,
        ),
        -1000i64..1000,
    )
        .prop_map(move |(k, v, h, dt)| Record {
            offset: i as i64,
            timestamp: 1_700_000_000_000 + dt,
            key: k.map(Bytes::from),
            value: v.map(Bytes::from),
            headers: h
                .into_iter()
                .map(|(key, value)| RecordHeader {
                    key,
                    value: value.map(Bytes::from),
                })
                .collect(),
        })
}

fn records() -> impl Strategy<Value = Vec<Record>> {
    (1usize..12).prop_flat_map(|n| (0..n).map(record).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn built_batches_round_trip(recs in records(), c in codec(), base in 0i64..1_000_000) {
        let mut b = BatchBuilder::new();
        b.compression = c;
        b.base_offset = base;
        for r in &recs {
            let mut r = r.clone();
            r.offset += base;
            b.push(r);
        }
        let bytes = b.build().unwrap();
        validate_record_set(&bytes).unwrap();
        let h = BatchHeader::parse(&bytes).unwrap();
        prop_assert_eq!(h.compression().unwrap(), c);
        prop_assert_eq!(h.record_count() as usize, recs.len());
        prop_assert_eq!(h.max_timestamp(), recs.iter().map(|r| r.timestamp).max().unwrap());
        let got = h.records().unwrap();
        for (g, r) in got.iter().zip(&recs) {
            prop_assert_eq!(g.offset, r.offset + base);
            prop_assert_eq!(g.timestamp, r.timestamp);
            prop_assert_eq!(&g.key, &r.key);
            prop_assert_eq!(&g.value, &r.value);
            prop_assert_eq!(&g.headers, &r.headers);
        }
    }

    #[test]
    fn damaged_batches_are_rejected_without_panicking(
        recs in records(),
        c in codec(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let mut b = BatchBuilder::new();
        b.compression = c;
        for r in recs {
            b.push(r);
        }
        let mut bytes = b.build().unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        // Base offset (0..8) and leader epoch (12..16) are not covered by the CRC.
        let uncovered = i < 8 || (12..16).contains(&i);
        let res = validate_record_set(&bytes);
        if !uncovered {
            prop_assert!(res.is_err(), "damage at byte {} passed validation", i);
        }
        // Whatever the damage, decoding never panics.
        for h in iter_batches(&bytes).flatten() {
            let _ = h.records();
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = validate_record_set(&bytes);
        for h in iter_batches(&bytes).flatten() {
            let _ = h.validate_crc();
            let _ = h.records();
        }
    }
}
