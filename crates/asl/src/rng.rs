//! A small deterministic random number generator seeded by the caller.
//!
//! The state-transition function draws randomness (retry jitter, `States.UUID`,
//! `States.MathRandom`) only from an [`Rng`] built from a seed it was given, so the same seed
//! always gives the same decision.

/// SplitMix64: fast, tiny, and good enough for jitter and identifiers (not for cryptography).
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator that yields a fixed sequence for a given seed.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[low, high]` (inclusive); `low` when the range is empty.
    pub fn range_inclusive(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        let span = (high as i128 - low as i128 + 1) as u128;
        let pick = (self.next_u64() as u128) % span;
        (low as i128 + pick as i128) as i64
    }

    /// A generator seeded by a text (FNV-1a of its bytes): the same key, the same sequence.
    pub fn from_key(key: &str) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in key.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Rng::new(hash)
    }

    /// A random (version 4) UUID in its hyphenated lowercase form.
    pub fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_fixes_the_uuid() {
        let id = Rng::from_key("arn:x/State/3/0").uuid();
        assert_eq!(id, Rng::from_key("arn:x/State/3/0").uuid());
        assert_ne!(id, Rng::from_key("arn:x/State/3/1").uuid());
        assert_eq!(id.len(), 36);
    }

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn range_stays_inside_bounds() {
        let mut rng = Rng::new(42);
        for _ in 0..1000 {
            let v = rng.range_inclusive(-3, 5);
            assert!((-3..=5).contains(&v));
        }
        assert_eq!(rng.range_inclusive(4, 4), 4);
    }

    #[test]
    fn uuid_is_version_4() {
        let id = Rng::new(9).uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}
