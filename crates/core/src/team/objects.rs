//! Screenshots in an object store: an S3-compatible bucket (SeaweedFS, MinIO, AWS) or a local
//! folder, through Apache Arrow's `object_store`. Objects are content-addressed: the key is
//! the SHA-256 of the bytes, so the same screenshot pushed from two folders is stored once,
//! and a key names exactly one content (a reader can check what it got).

use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// The environment variable naming the object store (`s3://bucket/prefix` or `file:///dir`).
pub const OBJECTS_URL_ENV: &str = "VERITAS_OBJECTS_URL";

/// The largest object read back: the largest screenshot ingest accepts, with room.
const MAX_OBJECT_BYTES: u64 = 256 << 20;

/// A content-addressed screenshot store.
#[derive(Clone)]
pub struct ObjectShots {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// The URL it was opened from, without credentials (for messages).
    url: String,
}

/// What [`ObjectShots::put`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The object's key: `sha256/<first two hex digits>/<64 hex digits>`.
    pub key: String,
    /// False when an object with these bytes was there already.
    pub uploaded: bool,
}

/// The key of `bytes`.
pub fn content_key(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256/{}/{hex}", &hex[..2])
}

/// Whether `key` has the form [`content_key`] gives (keys come from databases other
/// programs may have written: nothing else is looked up).
pub fn is_content_key(key: &str) -> bool {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("sha256"), Some(fan), Some(hex), None) => {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && fan == &hex[..2]
        }
        _ => false,
    }
}

impl ObjectShots {
    /// Open the store `url` names: `s3://bucket[/prefix]` (endpoint, region and credentials
    /// from the usual `AWS_*` environment variables: `AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP=true` for a plain-HTTP
    /// endpoint) or `file:///absolute/folder` (created if absent).
    pub fn open(url: &str) -> Result<ObjectShots> {
        let bad = |why: String| Error::invalid(format!("objects URL {url:?}"), why);
        let parsed = url::Url::parse(url).map_err(|e| bad(format!("not a URL ({e})")))?;
        let shown = format!(
            "{}://{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or(""),
            parsed.path()
        );
        let (store, prefix): (Arc<dyn ObjectStore>, String) = match parsed.scheme() {
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| bad("names no bucket (s3://bucket/prefix)".into()))?;
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| bad(format!("cannot configure S3 ({e})")))?;
                (Arc::new(s3), parsed.path().trim_matches('/').to_string())
            }
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|_| bad("is not an absolute folder (file:///folder)".into()))?;
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let local = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| bad(format!("cannot use the folder ({e})")))?;
                (Arc::new(local), String::new())
            }
            other => {
                return Err(bad(format!(
                    "scheme {other:?} is not supported (s3:// or file://)"
                )))
            }
        };
        Ok(ObjectShots {
            store,
            prefix: ObjectPath::from(prefix),
            url: shown,
        })
    }

    /// The URL it was opened from, without credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, key: &str) -> ObjectPath {
        key.split('/').fold(self.prefix.clone(), |p, part| p.join(part))
    }

    fn failed(&self, what: &str, key: &str, e: object_store::Error) -> Error {
        Error::caused(ErrorKind::Io, format!("{what} {key} in {}", self.url), e)
    }

    /// Store `bytes` under their content key, unless an object is there already.
    pub async fn put(&self, bytes: &[u8]) -> Result<Stored> {
        let key = content_key(bytes);
        let path = self.path(&key);
        match self.store.head(&path).await {
            Ok(meta) if meta.size == bytes.len() as u64 => {
                return Ok(Stored { key, uploaded: false });
            }
            // A partial or foreign object under our key is replaced with the right bytes.
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.failed("cannot look up", &key, e)),
        }
        self.store
            .put(&path, PutPayload::from(bytes.to_vec()))
            .await
            .map_err(|e| self.failed("cannot store", &key, e))?;
        Ok(Stored { key, uploaded: true })
    }

    /// The bytes of object `key`, checked against it; `NotFound` when it is absent.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        if !is_content_key(key) {
            return Err(Error::invalid(
                format!("object key {key:?}"),
                "not a content key (sha256/..)",
            ));
        }
        let path = self.path(key);
        let got = match self.store.get(&path).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("object {key} is not in {}", self.url),
                ))
            }
            Err(e) => return Err(self.failed("cannot read", key, e)),
        };
        if got.meta.size > MAX_OBJECT_BYTES {
            return Err(Error::invalid(
                format!("object {key}"),
                format!(
                    "{} bytes, over the {} MB a screenshot may have",
                    got.meta.size,
                    MAX_OBJECT_BYTES >> 20
                ),
            ));
        }
        let bytes = got
            .bytes()
            .await
            .map_err(|e| self.failed("cannot read", key, e))?;
        if content_key(&bytes) != key {
            return Err(Error::invalid(
                format!("object {key} in {}", self.url),
                "its bytes do not match its key (changed or damaged in the store)",
            ));
        }
        Ok(bytes.to_vec())
    }

    /// Every content key in the store (for `doctor`); other objects under the prefix are
    /// not ours and are left out.
    pub async fn keys(&self) -> Result<Vec<String>> {
        use futures_util::TryStreamExt;
        let root = self.prefix.clone();
        let metas: Vec<_> = self
            .store
            .list(Some(&root.clone().join("sha256")))
            .try_collect()
            .await
            .map_err(|e| self.failed("cannot list", "sha256/", e))?;
        let skip = root.parts().count();
        Ok(metas
            .into_iter()
            .map(|m| {
                m.location
                    .parts()
                    .skip(skip)
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .filter(|k| is_content_key(k))
            .collect())
    }

    /// Remove object `key` (absent is fine).
    pub async fn delete(&self, key: &str) -> Result<()> {
        if !is_content_key(key) {
            return Err(Error::invalid(
                format!("object key {key:?}"),
                "not a content key (sha256/..)",
            ));
        }
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed("cannot remove", key, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_keys_are_the_sha256_of_the_bytes_and_nothing_else_passes_for_one() {
        let key = content_key(b"abc");
        assert_eq!(
            key,
            "sha256/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_content_key(&key));
        for bad in [
            "sha256/ba/../../etc/passwd",
            "sha256/bb/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha256/ba/BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "sha1/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "",
        ] {
            assert!(!is_content_key(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_local_folder_store_keeps_each_content_once_and_checks_what_it_reads() {
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let shots = ObjectShots::open(url.as_str()).unwrap();
        let first = shots.put(b"png bytes").await.unwrap();
        assert!(first.uploaded);
        let again = shots.put(b"png bytes").await.unwrap();
        assert_eq!(
            again,
            Stored {
                key: first.key.clone(),
                uploaded: false
            }
        );
        assert_eq!(shots.get(&first.key).await.unwrap(), b"png bytes");
        assert_eq!(shots.keys().await.unwrap(), vec![first.key.clone()]);

        // Bytes changed behind our back are refused, named.
        let file = dir.path().join(&first.key);
        std::fs::write(&file, b"other bytes").unwrap();
        let err = shots.get(&first.key).await.unwrap_err();
        assert!(err.to_string().contains("do not match its key"), "{err}");

        shots.delete(&first.key).await.unwrap();
        let gone = shots.get(&first.key).await.unwrap_err();
        assert_eq!(gone.kind, ErrorKind::NotFound, "{gone}");
    }

    #[test]
    fn an_unsupported_objects_url_is_refused_with_the_reason() {
        let err = ObjectShots::open("ftp://host/x").err().unwrap();
        assert!(err.to_string().contains("not supported"), "{err}");
        let err = ObjectShots::open("not a url").err().unwrap();
        assert!(err.to_string().contains("not a URL"), "{err}");
    }
}
