//! Screenshot bytes as producers send them in the event stream: base64, padded or not,
//! with line breaks, or as a `data:` URL. The bytes are checked as an image afterwards, by
//! the screenshot store.

use base64::Engine;

use crate::error::{Error, Result};

/// Decode base64 image data as producers send it: standard alphabet, padded or not, line
/// breaks allowed, optionally as a `data:image/...;base64,` URL.
pub fn decode_base64(data: &str) -> Result<Vec<u8>> {
    let body = match data.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map(|(_, b)| b).unwrap_or(""),
        None => data,
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(compact.as_bytes())
        .map_err(|e| Error::invalid("screenshot data", format!("not valid base64 ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_in_the_forms_producers_send() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("data:image/png;base64,aG\nk=").unwrap(), b"hi");
        assert!(decode_base64("***").unwrap_err().message.contains("base64"));
    }
}
