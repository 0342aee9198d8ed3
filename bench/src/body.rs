//! Blob content: a counter-based PRNG (SplitMix64 over the word index), so any 8-aligned
//! range of a blob can be produced on its own, streamed as a request body without ever
//! holding the blob in memory, and hashed beforehand to know its digest.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use sha2::{Digest as _, Sha256};

/// Bytes per body frame.
const FRAME: usize = 256 * 1024;

/// The 8 bytes at word index `i` of the blob with `seed`.
#[inline]
fn word(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fill `buf` with the blob's bytes starting at byte `offset` (a multiple of 8).
pub(crate) fn fill(seed: u64, offset: u64, buf: &mut [u8]) {
    debug_assert_eq!(offset % 8, 0);
    let first = offset / 8;
    let whole_words = (buf.len() / 8) as u64;
    let mut chunks = buf.chunks_exact_mut(8);
    for (k, c) in (&mut chunks).enumerate() {
        c.copy_from_slice(&word(seed, first + k as u64).to_le_bytes());
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let w = word(seed, first + whole_words).to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&w[..n]);
    }
}

/// `sha256:<hex>` of the whole blob (`size` bytes with `seed`), computed in 1 MiB pieces.
pub(crate) fn digest_of(seed: u64, size: u64) -> String {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    while off < size {
        let n = (size - off).min(buf.len() as u64) as usize;
        fill(seed, off, &mut buf[..n]);
        h.update(&buf[..n]);
        off += n as u64;
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// `sha256:<hex>` of a byte slice.
pub(crate) fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// The bytes `[start, end)` of the blob with `seed`, produced frame by frame as it is sent.
pub(crate) struct PrngBody {
    seed: u64,
    pos: u64,
    end: u64,
}

impl PrngBody {
    pub(crate) fn new(seed: u64, start: u64, end: u64) -> Self {
        assert_eq!(start % 8, 0, "PRNG ranges start on 8-byte boundaries");
        PrngBody {
            seed,
            pos: start,
            end,
        }
    }
}

impl Body for PrngBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.pos >= self.end {
            return Poll::Ready(None);
        }
        let n = (self.end - self.pos).min(FRAME as u64) as usize;
        let mut buf = vec![0u8; n];
        fill(self.seed, self.pos, &mut buf);
        self.pos += n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
    }

    fn is_end_stream(&self) -> bool {
        self.pos >= self.end
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.end.saturating_sub(self.pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_agree_with_the_whole() {
        let mut whole = vec![0u8; 1000];
        fill(7, 0, &mut whole);
        let mut part = vec![0u8; 333];
        fill(7, 600, &mut part);
        assert_eq!(&whole[600..933], &part[..]);
        let mut odd = vec![0u8; 13];
        fill(7, 8, &mut odd);
        assert_eq!(&whole[8..21], &odd[..]);
    }

    #[test]
    fn digest_matches_a_plain_hash() {
        let mut whole = vec![0u8; 3_000_001];
        fill(9, 0, &mut whole);
        assert_eq!(digest_of(9, whole.len() as u64), sha256(&whole));
    }
}
