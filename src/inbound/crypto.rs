//! AES-256-CBC and PKCS#7 as Feishu and WeCom use them.
//!
//! The cipher runs without padding and the padding is handled here, because WeCom pads to
//! 32-byte blocks (pad values up to 32) which the `cbc` crate's `Pkcs7` would reject.

use super::Refusal;
use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

const AES_BLOCK: usize = 16;

/// WeCom's EncodingAESKey is 43 random characters: its last one usually carries non-zero
/// bits past the 32 bytes, which the strict engine refuses and the platforms' own SDKs
/// (Python's `b64decode`, Java's codec) ignore.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

pub(super) fn base64_decode(text: &str) -> Result<Vec<u8>, Refusal> {
    STANDARD
        .decode(text.trim())
        .map_err(|_| Refusal::BadCiphertext("not base64"))
}

pub(super) fn base64_decode_key(text: &str) -> Option<Vec<u8>> {
    LENIENT.decode(text).ok()
}

pub(super) fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decrypts whole blocks; the padding is left on for [`strip_pkcs7`].
pub(super) fn aes256_cbc_decrypt(
    key: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, Refusal> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(AES_BLOCK) {
        return Err(Refusal::BadCiphertext(
            "length is not a whole number of AES blocks",
        ));
    }
    let decryptor = cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
        .map_err(|_| Refusal::BadCiphertext("key or IV has the wrong length"))?;
    let mut buf = ciphertext.to_vec();
    let len = decryptor
        .decrypt_padded::<NoPadding>(&mut buf)
        .map_err(|_| Refusal::BadCiphertext("length is not a whole number of AES blocks"))?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// Encrypts `plaintext`, which must already be padded to whole blocks.
pub(super) fn aes256_cbc_encrypt(
    key: &[u8],
    iv: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Refusal> {
    let encryptor = cbc::Encryptor::<Aes256>::new_from_slices(key, iv)
        .map_err(|_| Refusal::Misconfigured("AES key or IV has the wrong length"))?;
    let mut buf = plaintext.to_vec();
    let len = buf.len();
    let out = encryptor
        .encrypt_padded::<NoPadding>(&mut buf, len)
        .map_err(|_| Refusal::Misconfigured("plaintext is not padded to whole blocks"))?
        .len();
    buf.truncate(out);
    Ok(buf)
}

/// Removes PKCS#7 padding for `block` bytes, checking every pad byte, not only the last.
pub(super) fn strip_pkcs7(mut data: Vec<u8>, block: usize) -> Result<Vec<u8>, Refusal> {
    let bad = Refusal::BadCiphertext("bad padding");
    let Some(&last) = data.last() else {
        return Err(bad);
    };
    let pad = usize::from(last);
    if pad == 0 || pad > block || pad > data.len() {
        return Err(bad);
    }
    let body = data.len() - pad;
    if data[body..].iter().any(|&b| b != last) {
        return Err(bad);
    }
    data.truncate(body);
    Ok(data)
}

/// Appends PKCS#7 padding up to a multiple of `block` (1..=255): a full block when already
/// aligned, so the padding is always removable.
pub(super) fn pad_pkcs7(mut data: Vec<u8>, block: u8) -> Vec<u8> {
    let block = block.max(1);
    let pad = block - (data.len() % usize::from(block)) as u8;
    data.resize(data.len() + usize::from(pad), pad);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_round_trips_for_both_block_sizes() {
        for block in [16u8, 32] {
            for n in 0..70 {
                let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
                let padded = pad_pkcs7(data.clone(), block);
                assert_eq!(padded.len() % usize::from(block), 0);
                assert!(padded.len() > data.len());
                assert_eq!(strip_pkcs7(padded, usize::from(block)).unwrap(), data);
            }
        }
    }

    #[test]
    fn bad_padding_is_refused() {
        let bad = Err(Refusal::BadCiphertext("bad padding"));
        assert_eq!(strip_pkcs7(vec![], 16), bad);
        assert_eq!(strip_pkcs7(vec![1, 2, 0], 16), bad);
        assert_eq!(strip_pkcs7(vec![17; 32], 16), bad);
        assert_eq!(strip_pkcs7(vec![1, 3, 2, 3], 16), bad);
        assert_eq!(strip_pkcs7(vec![5, 5], 16), bad);
        assert_eq!(strip_pkcs7(vec![32; 32], 32).unwrap(), Vec::<u8>::new());
        assert_eq!(strip_pkcs7(vec![33; 64], 32), bad);
    }

    #[test]
    fn cbc_round_trip_and_length_checks() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        let plain = pad_pkcs7(b"hello".to_vec(), 16);
        let ct = aes256_cbc_encrypt(&key, &iv, &plain).unwrap();
        assert_ne!(ct, plain);
        assert_eq!(aes256_cbc_decrypt(&key, &iv, &ct).unwrap(), plain);
        assert!(aes256_cbc_decrypt(&key, &iv, &ct[..15]).is_err());
        assert!(aes256_cbc_decrypt(&key, &iv, &[]).is_err());
        assert!(aes256_cbc_decrypt(&key[..31], &iv, &ct).is_err());
        assert!(aes256_cbc_encrypt(&key, &iv, b"not aligned").is_err());
    }

    #[test]
    fn key_decoding_tolerates_trailing_bits() {
        let key = base64_decode_key("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR=").unwrap();
        assert_eq!(key.len(), 32);
        assert!(
            STANDARD
                .decode("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR=")
                .is_err()
        );
    }
}
