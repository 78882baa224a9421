//! Reading and writing bodies of "flexible" (KIP-482) message versions by
//! hand, for the APIs the `kafka-protocol` crate does not know yet (the
//! KIP-1071 streams group APIs): unsigned varints, compact strings and arrays,
//! nullable structs (an i8 of -1 or 1 before the fields) and tagged-field
//! sections (read and skipped; written empty). Response framing: header v1
//! (correlation id, empty tagged fields) then the body.

use bytes::{BufMut, Bytes, BytesMut};

/// Why a hand-decoded body is malformed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed flexible body: {0}")]
pub struct FlexError(pub &'static str);

type Result<T> = std::result::Result<T, FlexError>;

/// A reader over a flexible-version body.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(FlexError("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    pub fn i8(&mut self) -> Result<i8> {
        Ok(self.take(1)?[0] as i8)
    }
    pub fn bool(&mut self) -> Result<bool> {
        Ok(self.i8()? != 0)
    }
    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().unwrap()))
    }
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().unwrap()))
    }
    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub fn uvarint(&mut self) -> Result<u32> {
        let mut v: u32 = 0;
        for i in 0..5 {
            let b = self.take(1)?[0];
            v |= ((b & 0x7f) as u32) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(FlexError("varint too long"))
    }
    /// A compact nullable length: `None` for null.
    fn compact_len(&mut self) -> Result<Option<usize>> {
        Ok(match self.uvarint()? {
            0 => None,
            n => Some(n as usize - 1),
        })
    }
    pub fn nullable_string(&mut self) -> Result<Option<String>> {
        let Some(n) = self.compact_len()? else {
            return Ok(None);
        };
        let raw = self.take(n)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| FlexError("string is not UTF-8"))
    }
    pub fn string(&mut self) -> Result<String> {
        self.nullable_string()?.ok_or(FlexError("null string"))
    }
    /// A compact nullable array of elements read by `f`.
    pub fn nullable_array<T>(
        &mut self,
        mut f: impl FnMut(&mut Reader<'a>) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        let Some(n) = self.compact_len()? else {
            return Ok(None);
        };
        if n > self.buf.len() {
            return Err(FlexError("bad array length"));
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(f(self)?);
        }
        Ok(Some(out))
    }
    pub fn array<T>(&mut self, f: impl FnMut(&mut Reader<'a>) -> Result<T>) -> Result<Vec<T>> {
        self.nullable_array(f)?.ok_or(FlexError("null array"))
    }
    /// The marker of a nullable struct: `false` for null.
    pub fn present(&mut self) -> Result<bool> {
        Ok(self.i8()? >= 0)
    }
    /// Skip a tagged-field section.
    pub fn tagged_fields(&mut self) -> Result<()> {
        for _ in 0..self.uvarint()? {
            let _tag = self.uvarint()?;
            let n = self.uvarint()? as usize;
            self.take(n)?;
        }
        Ok(())
    }
}

/// A writer of a flexible-version body.
#[derive(Default)]
pub struct Writer {
    buf: BytesMut,
}

impl Writer {
    pub fn i8(&mut self, v: i8) {
        self.buf.put_i8(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.buf.put_i8(i8::from(v));
    }
    pub fn i16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.buf.put_u16(v);
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }
    pub fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.buf.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
    }
    pub fn string(&mut self, s: &str) {
        self.uvarint(s.len() as u32 + 1);
        self.buf.put_slice(s.as_bytes());
    }
    pub fn nullable_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.uvarint(0),
        }
    }
    /// A compact array's length prefix (`None` = null).
    pub fn len(&mut self, n: Option<usize>) {
        self.uvarint(n.map_or(0, |n| n as u32 + 1));
    }
    pub fn array<T>(&mut self, xs: &[T], mut f: impl FnMut(&mut Writer, &T)) {
        self.len(Some(xs.len()));
        for x in xs {
            f(self, x);
        }
    }
    pub fn nullable_array<T>(&mut self, xs: Option<&[T]>, f: impl FnMut(&mut Writer, &T)) {
        match xs {
            Some(xs) => self.array(xs, f),
            None => self.len(None),
        }
    }
    /// An empty tagged-field section.
    pub fn tagged_fields(&mut self) {
        self.uvarint(0);
    }
    pub fn finish(self) -> Bytes {
        self.buf.freeze()
    }
}

/// A response frame (without the size prefix): header v1, then the body.
pub fn response(correlation_id: i32, body: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(5 + body.len());
    buf.put_i32(correlation_id);
    buf.put_u8(0);
    buf.put_slice(body);
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_every_type() {
        let mut w = Writer::default();
        w.i8(-3);
        w.bool(true);
        w.i16(-2);
        w.u16(65535);
        w.i32(7);
        w.i64(-9);
        w.uvarint(300);
        w.string("héllo");
        w.nullable_string(None);
        w.array(&[1, 2, 3], |w, x| w.i32(*x));
        w.nullable_array::<i32>(None, |w, x| w.i32(*x));
        w.tagged_fields();
        let b = w.finish();
        let mut r = Reader::new(&b);
        assert_eq!(r.i8().unwrap(), -3);
        assert!(r.bool().unwrap());
        assert_eq!(r.i16().unwrap(), -2);
        assert_eq!(r.u16().unwrap(), 65535);
        assert_eq!(r.i32().unwrap(), 7);
        assert_eq!(r.i64().unwrap(), -9);
        assert_eq!(r.uvarint().unwrap(), 300);
        assert_eq!(r.string().unwrap(), "héllo");
        assert_eq!(r.nullable_string().unwrap(), None);
        assert_eq!(r.array(|r| r.i32()).unwrap(), vec![1, 2, 3]);
        assert_eq!(r.nullable_array(|r| r.i32()).unwrap(), None);
        r.tagged_fields().unwrap();
        assert!(r.i8().is_err(), "nothing left");
    }

    #[test]
    fn tagged_fields_are_skipped_and_lies_are_errors() {
        // Two tagged fields: tag 0 of 2 bytes, tag 5 of 0 bytes; then an i8.
        let b = [2u8, 0, 2, 0xaa, 0xbb, 5, 0, 42];
        let mut r = Reader::new(&b);
        r.tagged_fields().unwrap();
        assert_eq!(r.i8().unwrap(), 42);
        // An array claiming more elements than bytes left.
        let b = [100u8, 1];
        assert!(Reader::new(&b).array(|r| r.i8()).is_err());
    }
}
