//! The stored form of a finding's embedding: f32 little-endian, whatever the machine, as
//! the schema's BLOB column says.

/// Encode an embedding for the `embedding` column.
pub fn encode_embedding(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The inverse of [`encode_embedding`]; `None` for a BLOB whose length is no multiple of 4.
pub fn decode_embedding(bytes: &[u8]) -> Option<Vec<f32>> {
    (bytes.len() % 4 == 0).then(|| {
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_round_trip_and_odd_blobs_are_refused() {
        let v = [0.5f32, -1.25, f32::MIN_POSITIVE];
        assert_eq!(decode_embedding(&encode_embedding(&v)).unwrap(), v);
        assert_eq!(decode_embedding(&[0, 0, 128]), None, "3 bytes are no f32");
    }
}
