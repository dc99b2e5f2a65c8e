//! Single-pass encoding.
//!
//! Values are appended to an [`EncodeBuf`] in one pass. Compound values (lists, maps, arrays)
//! start with the one-byte-size header and are widened in place to the four-byte form only when
//! their body turns out to be larger than 254 bytes or to hold more than 255 elements, so the
//! smallest encoding is chosen without a separate size computation.

use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::codes::format_code as fc;
use crate::error::EncodeError;
use crate::types::{Str, Symbol, Timestamp, Uuid};

type Result<T = ()> = core::result::Result<T, EncodeError>;

mod sealed {
    pub trait Sealed {}
    impl Sealed for alloc::vec::Vec<u8> {}
    impl Sealed for bytes::BytesMut {}
}

/// An output buffer the encoder appends to: `Vec<u8>` or [`BytesMut`].
///
/// Sealed: the encoder back-patches sizes in place, which needs the exact semantics of these
/// two buffers.
pub trait EncodeBuf: sealed::Sealed {
    #[doc(hidden)]
    fn buf_len(&self) -> usize;
    #[doc(hidden)]
    fn put_u8(&mut self, b: u8);
    #[doc(hidden)]
    fn put_slice(&mut self, s: &[u8]);
    #[doc(hidden)]
    fn written_mut(&mut self) -> &mut [u8];
    #[doc(hidden)]
    fn truncate_to(&mut self, len: usize);
    #[doc(hidden)]
    fn reserve_more(&mut self, n: usize);
}

impl EncodeBuf for Vec<u8> {
    #[inline]
    fn buf_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn put_u8(&mut self, b: u8) {
        self.push(b);
    }
    #[inline]
    fn put_slice(&mut self, s: &[u8]) {
        self.extend_from_slice(s);
    }
    #[inline]
    fn written_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
    #[inline]
    fn truncate_to(&mut self, len: usize) {
        self.truncate(len);
    }
    #[inline]
    fn reserve_more(&mut self, n: usize) {
        self.reserve(n);
    }
}

impl EncodeBuf for BytesMut {
    #[inline]
    fn buf_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn put_u8(&mut self, b: u8) {
        self.extend_from_slice(&[b]);
    }
    #[inline]
    fn put_slice(&mut self, s: &[u8]) {
        self.extend_from_slice(s);
    }
    #[inline]
    fn written_mut(&mut self) -> &mut [u8] {
        self
    }
    #[inline]
    fn truncate_to(&mut self, len: usize) {
        self.truncate(len);
    }
    #[inline]
    fn reserve_more(&mut self, n: usize) {
        self.reserve(n);
    }
}

/// Runs `f`, and on error cuts `w` back to where it was: encoders never leave half a value.
#[inline]
pub(crate) fn atomically<B: EncodeBuf>(
    w: &mut B,
    f: impl FnOnce(&mut B) -> Result,
) -> Result<usize> {
    let start = w.buf_len();
    match f(w) {
        Ok(()) => Ok(w.buf_len() - start),
        Err(e) => {
            w.truncate_to(start);
            Err(e)
        }
    }
}

/// Encoding of one AMQP type, constructor included.
pub(crate) trait Enc {
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result;
}

/// Overwrites `bytes` at `at` (inside what was already written).
#[inline]
pub(crate) fn patch<B: EncodeBuf>(w: &mut B, at: usize, bytes: &[u8]) {
    // `at` always points into bytes this module wrote earlier in the same call.
    if let Some(dst) = w.written_mut().get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// The start of a compound whose header is written by [`end_compound`].
#[derive(Clone, Copy)]
pub(crate) struct Open(pub(crate) usize);

/// Writes a provisional one-byte-size header `code8 size count`.
#[inline]
pub(crate) fn begin_compound<B: EncodeBuf>(w: &mut B, code8: u8) -> Open {
    let start = w.buf_len();
    w.put_slice(&[code8, 0, 0]);
    Open(start)
}

/// Completes the header begun by [`begin_compound`]: `size count` in one byte each when they
/// fit, otherwise the body is moved right by six bytes and `code32` with four-byte size and
/// count is written.
#[inline]
pub(crate) fn end_compound<B: EncodeBuf>(
    w: &mut B,
    open: Open,
    count: usize,
    code32: u8,
    what: &'static str,
) -> Result {
    let start = open.0;
    let body_start = start + 3;
    let body_len = w.buf_len() - body_start;
    if body_len < 255 && count <= 255 {
        // Size counts the count byte too.
        patch(w, start + 1, &[(body_len + 1) as u8, count as u8]);
        return Ok(());
    }
    let size = u32::try_from(body_len + 4).map_err(|_| EncodeError::TooLarge(what))?;
    let count = u32::try_from(count).map_err(|_| EncodeError::TooLarge(what))?;
    w.put_slice(&[0; 6]);
    let buf = w.written_mut();
    buf.copy_within(body_start..body_start + body_len, body_start + 6);
    let mut header = [0u8; 9];
    header[0] = code32;
    header[1..5].copy_from_slice(&size.to_be_bytes());
    header[5..9].copy_from_slice(&count.to_be_bytes());
    patch(w, start, &header);
    Ok(())
}

/// Writes a four-byte-size compound header placeholder (used for compounds inside arrays,
/// where every element shares one constructor); returns where the size goes.
#[inline]
pub(crate) fn begin_wide<B: EncodeBuf>(w: &mut B) -> usize {
    let at = w.buf_len();
    w.put_slice(&[0; 8]);
    at
}

/// Completes a [`begin_wide`] header.
#[inline]
pub(crate) fn end_wide<B: EncodeBuf>(
    w: &mut B,
    at: usize,
    count: usize,
    what: &'static str,
) -> Result {
    let size = u32::try_from(w.buf_len() - at - 4).map_err(|_| EncodeError::TooLarge(what))?;
    let count = u32::try_from(count).map_err(|_| EncodeError::TooLarge(what))?;
    patch(w, at, &size.to_be_bytes());
    patch(w, at + 4, &count.to_be_bytes());
    Ok(())
}

#[inline]
pub(crate) fn null<B: EncodeBuf>(w: &mut B) {
    w.put_u8(fc::NULL);
}

/// A numeric descriptor: `0x00` then the code as smallulong (or ulong).
#[inline]
pub(crate) fn descriptor_code<B: EncodeBuf>(w: &mut B, code: u64) {
    if let Ok(small) = u8::try_from(code) {
        w.put_slice(&[fc::DESCRIBED, fc::SMALLULONG, small]);
    } else {
        w.put_slice(&[fc::DESCRIBED, fc::ULONG]);
        w.put_slice(&code.to_be_bytes());
    }
}

/// A variable-width value (vbin/str/sym) in its smallest form.
#[inline]
pub(crate) fn variable<B: EncodeBuf>(
    w: &mut B,
    code8: u8,
    code32: u8,
    bytes: &[u8],
    what: &'static str,
) -> Result {
    let len = bytes.len();
    if let Ok(n) = u8::try_from(len) {
        w.put_slice(&[code8, n]);
    } else {
        let n = u32::try_from(len).map_err(|_| EncodeError::TooLarge(what))?;
        w.put_u8(code32);
        w.put_slice(&n.to_be_bytes());
    }
    w.put_slice(bytes);
    Ok(())
}

impl Enc for bool {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        w.put_u8(if *self { fc::TRUE } else { fc::FALSE });
        Ok(())
    }
}

impl Enc for u8 {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        w.put_slice(&[fc::UBYTE, *self]);
        Ok(())
    }
}

impl Enc for u16 {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        let b = self.to_be_bytes();
        w.put_slice(&[fc::USHORT, b[0], b[1]]);
        Ok(())
    }
}

impl Enc for u32 {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        match *self {
            0 => w.put_u8(fc::UINT0),
            n @ 1..=255 => w.put_slice(&[fc::SMALLUINT, n as u8]),
            n => {
                let b = n.to_be_bytes();
                w.put_slice(&[fc::UINT, b[0], b[1], b[2], b[3]]);
            }
        }
        Ok(())
    }
}

impl Enc for u64 {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        match *self {
            0 => w.put_u8(fc::ULONG0),
            n @ 1..=255 => w.put_slice(&[fc::SMALLULONG, n as u8]),
            n => {
                w.put_u8(fc::ULONG);
                w.put_slice(&n.to_be_bytes());
            }
        }
        Ok(())
    }
}

impl Enc for i32 {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        if let Ok(small) = i8::try_from(*self) {
            w.put_slice(&[fc::SMALLINT, small as u8]);
        } else {
            w.put_u8(fc::INT);
            w.put_slice(&self.to_be_bytes());
        }
        Ok(())
    }
}

impl Enc for i64 {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        if let Ok(small) = i8::try_from(*self) {
            w.put_slice(&[fc::SMALLLONG, small as u8]);
        } else {
            w.put_u8(fc::LONG);
            w.put_slice(&self.to_be_bytes());
        }
        Ok(())
    }
}

impl Enc for Timestamp {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        w.put_u8(fc::TIMESTAMP);
        w.put_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

impl Enc for Uuid {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        w.put_u8(fc::UUID);
        w.put_slice(&self.0);
        Ok(())
    }
}

impl Enc for Bytes {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        variable(w, fc::VBIN8, fc::VBIN32, self, "binary")
    }
}

impl Enc for Str {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        variable(w, fc::STR8, fc::STR32, self.as_bytes(), "string")
    }
}

impl Enc for Symbol {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        variable(w, fc::SYM8, fc::SYM32, self.as_bytes(), "symbol")
    }
}

impl<T: Enc> Enc for Option<T> {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result {
        match self {
            Some(v) => v.enc(w),
            None => {
                null(w);
                Ok(())
            }
        }
    }
}
