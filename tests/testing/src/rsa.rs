//! RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signing with one fixed, published test key.
//!
//! The fake server signs its id_tokens so that a client which *does* verify them (the
//! Python SDK's `IDTokenDecoder` reads the JWKs document and checks an RSA signature)
//! can log in against it too. The key is a throwaway 2048-bit key generated once with
//! `openssl genrsa 2048` for this crate; it protects nothing and must never be trusted
//! for anything but tests. The arithmetic is a small Montgomery-multiplication modular
//! exponentiation over `u64` limbs with the Chinese remainder theorem: not constant
//! time (no secret worth protecting here), but fast enough in debug builds.

use std::cmp::Ordering;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The key id published in the JWKs document and put in each id_token's header.
pub(crate) const KEY_ID: &str = "globus-app-testing-rs256";

/// DER prefix of the `DigestInfo` for SHA-256 (RFC 8017, section 9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The public exponent 65537, big-endian.
pub(crate) const PUBLIC_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

mod key {
    pub(super) const N: &str = concat!(
        "a9d1eb7985ae273bc6e8636bda19ba6c77b469b1cf7fd4968b41427a32cfb883",
        "0e9ad04ab731709fee2bc07436daeca4d04176ff3c11691ae8781697eabf810a",
        "235d9ca4033e4b6de96ddbc06af42f8ce1ed38df3ddb32d848fbbf2cd111b4cf",
        "b1f3b7c5274156d4dee5797d1e833d3b3a5f7b4ea4019af627fbf26f73b86502",
        "9cc1eb5294310130c7ad45152b07fd6faa847e3e33a3f63c64fcd44b1eaefb11",
        "febf98fe40d9e1f591a8a774a2f4bbb835cbd7c1f7043866ab9827dbb2cf5200",
        "410f17c5cde47c618faf3066153432f235a03704ebc4b71a069a4546f29b1f67",
        "3ba450390e29dc49d72a24da94d4697bdf7ebc77f9515ad0d52ce37a062d5733",
    );
    pub(super) const P: &str = concat!(
        "d7e49471470712fdd025c030d483107aa787cccfdb20cd9e5168e976966663af",
        "f9b50c9e704127ec0109df1e7799e683be8bcf1f5c8312b8aec3678249c40860",
        "6c0aaca5dce6f68c5b601e7fad7387ac6d6f432adcd8bb7bb1319a4092b47cbe",
        "7b8a8875c9e8fc267eaa709b3db1b28388608ca63ecea10ce3c166735ebcd6bf",
    );
    pub(super) const Q: &str = concat!(
        "c95e3559d3356e3c87d170f0bbb64afc2d4cb92608fa44668c78d53d9bdb8f11",
        "f8ad255532e3143f05b73db02980a29799ab524ac01035a05a194eadd48e8a5e",
        "e452f78dde66b2facf2c598a0ba69e57b3a41b3f75e44a632d5e6f96c27b282a",
        "4a1cbab6367318c8b8c3a56f13f77d206207e68febbe2dd0111f9b4cff28f08d",
    );
    pub(super) const DP: &str = concat!(
        "a78ce09fa14e1e31194f92fed28efd4513abd30a25b8299c0af66ee9f80372ae",
        "6a0f56c1c7c0e968c1cd9579a1bcb127e1c3c3754568fc2894895655c945f872",
        "4ca764223d748a3797dadb109fde9f96f43f7b53529e69b2af6c1d98abc2a365",
        "799fa4143625393beee5fc0a9f30bfa851390d2f2063609e0e4c5464894be925",
    );
    pub(super) const DQ: &str = concat!(
        "3d6afb90c327d7d0a488500f4ce1a3eb5891bf2307b7f5a6e58f7152d237dc62",
        "59dbcdb837c62505b7e394f0272871ef1552b8cdcdd8e3d25dc8bc43aec22f18",
        "1441edf99a6cee882b2a56c1111ea7cb0e22aea0e37f56e4fb1083ae92f0e766",
        "46a68e9846f1420ceeb5d5be947376f9aa8cc858fb494d45da032ee60429637d",
    );
    pub(super) const QINV: &str = concat!(
        "5337c481ea74c9f03a66aec1fe66f375ad69820e28ada97c06a53915ea903329",
        "88b72c704b163af65ccda7121a1497df32d81cb41e3322e2a261f70e1564f9e3",
        "2f59fa87a1b2f403d3c4216f49e9d6c3385d5507719e6597908fc66be8add75b",
        "ce515a6bc8591448b7bdc101d591382dce8616c3d0d4c9a0d3c836755b9b7526",
    );
}

/// The parsed private key, in the form the arithmetic needs.
struct PrivateKey {
    /// The modulus, big-endian bytes (256 of them).
    modulus: Vec<u8>,
    p: Montgomery,
    q: Montgomery,
    dp: Vec<u64>,
    dq: Vec<u64>,
    qinv: Vec<u64>,
}

fn private_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let p = hex_to_bytes(key::P);
        let q = hex_to_bytes(key::Q);
        let limbs = p.len().max(q.len()).div_ceil(8);
        PrivateKey {
            modulus: hex_to_bytes(key::N),
            p: Montgomery::new(&from_be_bytes(&p, limbs)),
            q: Montgomery::new(&from_be_bytes(&q, limbs)),
            dp: from_be_bytes(&hex_to_bytes(key::DP), limbs),
            dq: from_be_bytes(&hex_to_bytes(key::DQ), limbs),
            qinv: from_be_bytes(&hex_to_bytes(key::QINV), limbs),
        }
    })
}

/// The public modulus `n`, big-endian without leading zeros.
pub(crate) fn modulus() -> &'static [u8] {
    &private_key().modulus
}

/// Signs `message` with RS256 and returns the 256-byte signature.
pub(crate) fn sign(message: &[u8]) -> Vec<u8> {
    let key = private_key();
    let k = key.modulus.len();
    let digest = Sha256::digest(message);
    // EM = 0x00 || 0x01 || PS (0xff..) || 0x00 || DigestInfo || H
    let mut em = vec![0xffu8; k];
    em[0] = 0x00;
    em[1] = 0x01;
    let t_len = SHA256_DIGEST_INFO.len() + digest.len();
    em[k - t_len - 1] = 0x00;
    em[k - t_len..k - digest.len()].copy_from_slice(&SHA256_DIGEST_INFO);
    em[k - digest.len()..].copy_from_slice(digest.as_slice());

    let limbs = key.p.modulus.len();
    let m = from_be_bytes(&em, 2 * limbs);
    // CRT: s1 = m^dp mod p, s2 = m^dq mod q, h = qinv (s1 - s2) mod p, s = s2 + h q.
    let s1 = key.p.pow(&key.p.reduce(&m), &key.dp);
    let s2 = key.q.pow(&key.q.reduce(&m), &key.dq);
    let s2_mod_p = key.p.reduce(&s2);
    let mut diff = s1;
    if sub_assign(&mut diff, &s2_mod_p) {
        // went negative: add p back (the wrapped value plus p is the true residue)
        add_assign(&mut diff, &key.p.modulus);
    }
    let h = key.p.mul_mod(&key.qinv, &diff);
    let mut s = mul_wide(&h, &key.q.modulus);
    let mut s2_wide = s2;
    s2_wide.resize(s.len(), 0);
    add_assign(&mut s, &s2_wide);
    to_be_bytes(&s, k)
}

/// `base^exponent mod modulus` for big-endian inputs; used by tests to check signatures.
#[cfg(test)]
pub(crate) fn pow_mod_be(base: &[u8], exponent: &[u8], modulus: &[u8]) -> Vec<u8> {
    let limbs = modulus.len().div_ceil(8);
    let ctx = Montgomery::new(&from_be_bytes(modulus, limbs));
    let base = ctx.reduce(&from_be_bytes(base, base.len().div_ceil(8).max(1)));
    let exponent = from_be_bytes(exponent, exponent.len().div_ceil(8).max(1));
    to_be_bytes(&ctx.pow(&base, &exponent), modulus.len())
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex
        .bytes()
        .map(|c| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        })
        .collect();
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    let mut iter = digits.rchunks(2).collect::<Vec<_>>();
    iter.reverse();
    for pair in iter {
        out.push(pair.iter().fold(0u8, |acc, d| (acc << 4) | d));
    }
    out
}

/// Big-endian bytes to `limbs` little-endian `u64` limbs (extra high bytes are dropped).
fn from_be_bytes(bytes: &[u8], limbs: usize) -> Vec<u64> {
    let mut out = vec![0u64; limbs];
    for (i, byte) in bytes.iter().rev().enumerate() {
        let limb = i / 8;
        if limb < limbs {
            out[limb] |= u64::from(*byte) << (8 * (i % 8));
        }
    }
    out
}

/// Little-endian limbs to exactly `len` big-endian bytes (high bytes beyond `len` dropped).
fn to_be_bytes(limbs: &[u64], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for i in 0..len {
        let limb = i / 8;
        if limb < limbs.len() {
            // truncation to the addressed byte is the point here
            out[len - 1 - i] = (limbs[limb] >> (8 * (i % 8))) as u8;
        }
    }
    out
}

fn cmp(a: &[u64], b: &[u64]) -> Ordering {
    debug_assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        match x.cmp(y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

/// `a -= b` (same length); returns the final borrow.
fn sub_assign(a: &mut [u64], b: &[u64]) -> bool {
    let mut borrow = false;
    for (x, y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
    borrow
}

/// `a += b` (same length); returns the final carry.
fn add_assign(a: &mut [u64], b: &[u64]) -> bool {
    let mut carry = false;
    for (x, y) in a.iter_mut().zip(b) {
        let (s1, c1) = x.overflowing_add(*y);
        let (s2, c2) = s1.overflowing_add(u64::from(carry));
        *x = s2;
        carry = c1 || c2;
    }
    carry
}

/// Full product of two equal-length numbers (2n limbs).
fn mul_wide(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        let mut carry: u128 = 0;
        for (j, &y) in b.iter().enumerate() {
            let t = u128::from(out[i + j]) + u128::from(x) * u128::from(y) + carry;
            out[i + j] = t as u64;
            carry = t >> 64;
        }
        out[i + b.len()] = carry as u64;
    }
    out
}

/// Montgomery arithmetic modulo an odd number.
struct Montgomery {
    modulus: Vec<u64>,
    /// `-modulus^-1 mod 2^64`.
    neg_inv: u64,
    /// `R^2 mod modulus`, with `R = 2^(64 n)`.
    r2: Vec<u64>,
}

impl Montgomery {
    fn new(modulus: &[u64]) -> Self {
        let m0 = modulus[0];
        // Newton's iteration doubles the correct low bits each step: 1 -> 64 bits.
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(m0.wrapping_mul(inv)));
        }
        let mut ctx = Montgomery {
            modulus: modulus.to_vec(),
            neg_inv: inv.wrapping_neg(),
            r2: Vec::new(),
        };
        let mut r = vec![0u64; modulus.len()];
        r[0] = 1;
        for _ in 0..(2 * 64 * modulus.len()) {
            ctx.double_mod(&mut r);
        }
        ctx.r2 = r;
        ctx
    }

    /// `r = 2 r mod m` for `r < m`.
    fn double_mod(&self, r: &mut [u64]) {
        let mut carry = 0u64;
        for limb in r.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry == 1 || cmp(r, &self.modulus) != Ordering::Less {
            sub_assign(r, &self.modulus);
        }
    }

    /// `x mod m` for any `x`, one bit at a time (only used a few times per signature).
    fn reduce(&self, x: &[u64]) -> Vec<u64> {
        let mut r = vec![0u64; self.modulus.len()];
        for limb in x.iter().rev() {
            for bit in (0..64).rev() {
                self.double_mod(&mut r);
                if (limb >> bit) & 1 == 1 {
                    // r < m, so r + 1 <= m fits in n limbs; it may reach m.
                    let mut one = vec![0u64; r.len()];
                    one[0] = 1;
                    add_assign(&mut r, &one);
                    if cmp(&r, &self.modulus) != Ordering::Less {
                        sub_assign(&mut r, &self.modulus);
                    }
                }
            }
        }
        r
    }

    /// Montgomery product `a b R^-1 mod m` (CIOS) for `a, b < m`.
    fn mont_mul(&self, a: &[u64], b: &[u64]) -> Vec<u64> {
        let n = self.modulus.len();
        let m = &self.modulus;
        let mut t = vec![0u64; n + 2];
        for &bi in b.iter().take(n) {
            let mut carry: u128 = 0;
            for j in 0..n {
                let s = u128::from(t[j]) + u128::from(a[j]) * u128::from(bi) + carry;
                t[j] = s as u64;
                carry = s >> 64;
            }
            let s = u128::from(t[n]) + carry;
            t[n] = s as u64;
            t[n + 1] = (s >> 64) as u64;

            let q = t[0].wrapping_mul(self.neg_inv);
            let s = u128::from(t[0]) + u128::from(q) * u128::from(m[0]);
            let mut carry = s >> 64;
            for j in 1..n {
                let s = u128::from(t[j]) + u128::from(q) * u128::from(m[j]) + carry;
                t[j - 1] = s as u64;
                carry = s >> 64;
            }
            let s = u128::from(t[n]) + carry;
            t[n - 1] = s as u64;
            t[n] = t[n + 1] + (s >> 64) as u64;
            t[n + 1] = 0;
        }
        let mut result = t[..n].to_vec();
        if t[n] != 0 || cmp(&result, m) != Ordering::Less {
            sub_assign(&mut result, m);
        }
        result
    }

    /// `a b mod m` for `a, b < m`.
    fn mul_mod(&self, a: &[u64], b: &[u64]) -> Vec<u64> {
        let ab = self.mont_mul(a, b); // a b / R
        self.mont_mul(&ab, &self.r2) // a b
    }

    /// `base^exponent mod m` for `base < m`, with a 4-bit fixed window.
    fn pow(&self, base: &[u64], exponent: &[u64]) -> Vec<u64> {
        let n = self.modulus.len();
        let mut one = vec![0u64; n];
        one[0] = 1;
        // table[i] = base^i in Montgomery form
        let mut table = Vec::with_capacity(16);
        table.push(self.mont_mul(&one, &self.r2));
        table.push(self.mont_mul(base, &self.r2));
        for i in 2..16 {
            let next = self.mont_mul(&table[i - 1], &table[1]);
            table.push(next);
        }
        let mut acc = table[0].clone();
        for limb in exponent.iter().rev() {
            for shift in (0..16).rev() {
                for _ in 0..4 {
                    acc = self.mont_mul(&acc, &acc);
                }
                let window = ((limb >> (4 * shift)) & 0xf) as usize;
                if window != 0 {
                    acc = self.mont_mul(&acc, &table[window]);
                }
            }
        }
        self.mont_mul(&acc, &one)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made once with `openssl dgst -sha256 -sign key.pem` over the message below.
    const OPENSSL_SIGNATURE: &str = concat!(
        "099d827ea93d24986ac4d5247ca6ccbfd48f3e0a1fd34b493f38d36c9d8051b8",
        "1fcb03a2ec4c5b8783c45b313a8bb7995bd1f4663d3fde4dad3f46e5ddfc6365",
        "251a1c178b951505ed298423675c379e6e368085ec878a372cf67d106ad61b0e",
        "02c99c33826a565961fd970b343bc22f7b056d58833f619675db16bb7e259e91",
        "4830c4e4b1e1bfe712063aec5e859e5c10d2395a740512ec9612e79a5b457425",
        "78a8b3e072171c23f787bf8602f8fd09e13551da334ba972ab2203e440e29e39",
        "6463e58bdc7d2cb9f10eb8e47e0cc3ba0e1cc638017fbc4b1e90d75af4e86531",
        "4320e8e9c6dfed880f1a96d1c08c178e3c1f5e6656e08420b958298b8e047fce",
    );

    #[test]
    fn signature_matches_openssl() {
        let signature = sign(b"globus-app-fake-auth test vector");
        assert_eq!(signature, hex_to_bytes(OPENSSL_SIGNATURE));
    }

    #[test]
    fn signature_verifies_with_the_public_key() {
        let message = b"header.payload";
        let signature = sign(message);
        let em = pow_mod_be(&signature, &PUBLIC_EXPONENT, modulus());
        assert_eq!(&em[..2], &[0x00, 0x01]);
        assert_eq!(&em[em.len() - 32..], Sha256::digest(message).as_slice());
        assert_eq!(
            &em[em.len() - 51..em.len() - 32],
            &SHA256_DIGEST_INFO[..],
            "DigestInfo prefix"
        );
    }

    #[test]
    fn reduces_numbers_wider_than_the_modulus() {
        // (2^127 + 24691) is the modulus; the values were computed with Python.
        let modulus = from_be_bytes(&hex_to_bytes("80000000000000000000000000006073"), 2);
        let ctx = Montgomery::new(&modulus);
        let x = from_be_bytes(&[0xff; 40], 5);
        // (2^320 - 1) mod m
        assert_eq!(
            to_be_bytes(&ctx.reduce(&x), 16),
            hex_to_bytes("000000009159cea3ffffffffffffffff")
        );
        assert_eq!(
            pow_mod_be(
                &hex_to_bytes("0123456789abcdef0123456789"),
                &hex_to_bytes("fedcba9876543210fedcba"),
                &hex_to_bytes("80000000000000000000000000006073")
            ),
            hex_to_bytes("0d9fdd24c2f330bfc010a72cdfcb6ebb")
        );
    }

    #[test]
    fn small_modular_arithmetic() {
        // 4^13 mod 497 = 445
        assert_eq!(pow_mod_be(&[4], &[13], &[0x01, 0xf1]), vec![0x01, 0xbd]);
        let ctx = Montgomery::new(&[497]);
        assert_eq!(ctx.reduce(&[1000]), vec![6]);
        assert_eq!(ctx.mul_mod(&[100], &[200]), vec![20000 % 497]);
    }

    #[test]
    fn hex_and_bytes_round_trip() {
        assert_eq!(hex_to_bytes("0102ff"), vec![1, 2, 255]);
        assert_eq!(hex_to_bytes("102"), vec![1, 2]);
        let limbs = from_be_bytes(&[1, 2, 3, 4, 5, 6, 7, 8, 9], 2);
        assert_eq!(limbs, vec![0x0203040506070809, 0x01]);
        assert_eq!(to_be_bytes(&limbs, 9), vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
}
