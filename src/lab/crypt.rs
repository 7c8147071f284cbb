//! SHA-512 crypt (`$6$`), the password hash `/etc/shadow` uses and `pam_unix` verifies.
//!
//! Implemented here (Ulrich Drepper's published algorithm) because the lab must write a sudo
//! password into a VM's shadow file without passing it through any process's arguments.

use sha2::{Digest, Sha512};

const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ROUNDS: usize = 5000;

/// `$6$<salt>$<hash>` for `password`; the salt is truncated to 16 characters as the spec says.
pub fn sha512_crypt(password: &str, salt: &str) -> String {
    let p = password.as_bytes();
    let s = &salt.as_bytes()[..salt.len().min(16)];

    let b = Sha512::new()
        .chain_update(p)
        .chain_update(s)
        .chain_update(p)
        .finalize();

    let mut a = Sha512::new().chain_update(p).chain_update(s);
    let mut n = p.len();
    while n > 64 {
        a.update(b);
        n -= 64;
    }
    a.update(&b[..n]);
    let mut len = p.len();
    while len > 0 {
        if len & 1 == 1 {
            a.update(b);
        } else {
            a.update(p);
        }
        len >>= 1;
    }
    let a = a.finalize();

    let mut dp = Sha512::new();
    for _ in 0..p.len() {
        dp.update(p);
    }
    let dp = dp.finalize();
    let p_seq: Vec<u8> = dp.iter().cycle().take(p.len()).copied().collect();

    let mut ds = Sha512::new();
    for _ in 0..16 + a[0] as usize {
        ds.update(s);
    }
    let ds = ds.finalize();
    let s_seq: Vec<u8> = ds.iter().cycle().take(s.len()).copied().collect();

    let mut c = a;
    for i in 0..ROUNDS {
        let mut h = Sha512::new();
        if i % 2 == 1 {
            h.update(&p_seq);
        } else {
            h.update(c);
        }
        if i % 3 != 0 {
            h.update(&s_seq);
        }
        if i % 7 != 0 {
            h.update(&p_seq);
        }
        if i % 2 == 1 {
            h.update(c);
        } else {
            h.update(&p_seq);
        }
        c = h.finalize();
    }

    const ORDER: [(usize, usize, usize); 21] = [
        (0, 21, 42),
        (22, 43, 1),
        (44, 2, 23),
        (3, 24, 45),
        (25, 46, 4),
        (47, 5, 26),
        (6, 27, 48),
        (28, 49, 7),
        (50, 8, 29),
        (9, 30, 51),
        (31, 52, 10),
        (53, 11, 32),
        (12, 33, 54),
        (34, 55, 13),
        (56, 14, 35),
        (15, 36, 57),
        (37, 58, 16),
        (59, 17, 38),
        (18, 39, 60),
        (40, 61, 19),
        (62, 20, 41),
    ];
    let mut out = format!("$6${}$", String::from_utf8_lossy(s));
    let mut emit = |b2: u8, b1: u8, b0: u8, chars: usize| {
        let mut w = ((b2 as u32) << 16) | ((b1 as u32) << 8) | b0 as u32;
        for _ in 0..chars {
            out.push(ITOA64[(w & 0x3f) as usize] as char);
            w >>= 6;
        }
    };
    for (i, j, k) in ORDER {
        emit(c[i], c[j], c[k], 4);
    }
    emit(0, 0, c[63], 2);
    out
}

/// A random salt from crypt's alphabet.
pub fn random_salt() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ITOA64[rng.random_range(0..ITOA64.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_vectors_of_the_sha_crypt_specification() {
        assert_eq!(
            sha512_crypt("Hello world!", "saltstring"),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            sha512_crypt("we have a short salt string but not a short password", "short"),
            "$6$short$qmfj2meTBr5G2EAGIJ4vjX7RpefsD4JzpEyTAeEUJdzdxlBS6pe8gdMHm5zFftaFSj/2p2bjBwyVS9ZhWpLZt."
        );
        // Over 64 bytes of password and a salt cut at 16 characters (checked with `openssl passwd -6`).
        assert_eq!(
            sha512_crypt(
                "a password longer than sixty-four bytes, which takes the other branch of the loop",
                "toolongsaltstring12345"
            ),
            "$6$toolongsaltstrin$2KzVLn2/TdWJJuRQCzmgsTgwHE4u353CuAVIE7mo.ByAOxLevsmTbiYcq89c9rFm0yOaYHKaZ7ZoGP4CUncIN."
        );
    }

    #[test]
    fn salts_are_sixteen_crypt_characters() {
        let salt = random_salt();
        assert_eq!(salt.len(), 16);
        assert!(salt.bytes().all(|b| ITOA64.contains(&b)));
    }
}
