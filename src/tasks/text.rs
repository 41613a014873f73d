//! Text encodings of CSV/TSV files. Excel in China saves "CSV" as GBK (GB18030 is its superset),
//! "CSV UTF-8" with a byte-order mark, and "Unicode text" as UTF-16 with a BOM.

use encoding_rs::{Encoding, GB18030, UTF_8};
use std::borrow::Cow;

/// Decodes `bytes`. With `forced` (the config's `encoding`), that encoding is used and invalid
/// bytes are an error. Otherwise: a BOM decides; valid UTF-8 is UTF-8; anything else is
/// GB18030, and bytes that are not valid GB18030 either are an error rather than mojibake.
///
/// The error is a sentence without the file name; the caller adds it.
pub fn decode<'b>(bytes: &'b [u8], forced: Option<&str>) -> Result<Cow<'b, str>, String> {
    if let Some(label) = forced {
        let enc = Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            format!("unknown encoding {label:?} in [tasks] encoding; use utf-8, gbk or gb18030")
        })?;
        // A BOM is still stripped: it is never part of the first header.
        let (enc, body) = match Encoding::for_bom(bytes) {
            Some((bom_enc, len)) if bom_enc == enc => (enc, &bytes[len..]),
            _ => (enc, bytes),
        };
        return decode_strict(enc, body);
    }
    if let Some((enc, len)) = Encoding::for_bom(bytes) {
        return decode_strict(enc, &bytes[len..]);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(_) => decode_strict(GB18030, bytes).map_err(|_| {
            "the file is neither UTF-8 nor GBK/GB18030 text; save it from Excel as \"CSV UTF-8\" \
             or set [tasks] encoding"
                .to_string()
        }),
    }
}

fn decode_strict<'b>(enc: &'static Encoding, bytes: &'b [u8]) -> Result<Cow<'b, str>, String> {
    if enc == UTF_8 {
        return std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
            format!(
                "the file is not valid UTF-8 (first bad byte at offset {}); if it was saved as \
                 GBK set [tasks] encoding = \"gbk\"",
                e.valid_up_to()
            )
        });
    }
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| format!("the file is not valid {} text", enc.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "序号,问题描述,责任人\n1,餐饮油烟,孙强\n";

    #[test]
    fn utf8_plain_and_with_bom() {
        assert_eq!(decode(TEXT.as_bytes(), None).as_deref(), Ok(TEXT));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(TEXT.as_bytes());
        assert_eq!(decode(&bom, None).as_deref(), Ok(TEXT));
        assert_eq!(decode(&bom, Some("utf-8")).as_deref(), Ok(TEXT));
    }

    #[test]
    fn gbk_is_detected_and_can_be_forced() {
        let (gbk, _, had_errors) = encoding_rs::GBK.encode(TEXT);
        assert!(!had_errors);
        assert!(std::str::from_utf8(&gbk).is_err());
        assert_eq!(decode(&gbk, None).as_deref(), Ok(TEXT));
        assert_eq!(decode(&gbk, Some("gbk")).as_deref(), Ok(TEXT));
        assert_eq!(decode(&gbk, Some("GB18030")).as_deref(), Ok(TEXT));
        assert!(decode(&gbk, Some("utf-8")).is_err());
    }

    #[test]
    fn utf16_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in TEXT.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode(&bytes, None).as_deref(), Ok(TEXT));
    }

    #[test]
    fn garbage_and_unknown_labels_are_errors() {
        assert!(decode(&[0x81, 0x20, 0xFF, 0xFF], None).is_err());
        let err = decode(b"a,b", Some("klingon")).err().unwrap_or_default();
        assert!(err.contains("klingon"), "{err}");
    }
}
