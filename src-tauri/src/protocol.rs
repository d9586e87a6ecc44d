//! The `shot:` URI scheme: screenshots and thumbnails for the webview.
//!
//! `shot://localhost/<project>/<audit id>/<screenshot id>` serves a screenshot, and
//! `…?w=<width>` a cached JPEG thumbnail;
//! `shot://localhost/<project>/diff/<audit>/<screenshot>/<audit>/<screenshot>` the cached heat
//! map of the difference between two screenshots (before, then after). Files are found by ids through the store, never
//! by a path from the UI, so nothing outside the screenshot directory can be served. The
//! content type comes from the bytes; a single `Range` is honoured (a multi-range request
//! gets the whole file, which HTTP allows).

use std::io::SeekFrom;

use tauri::http::{header, Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use veritas_core::{AuditId, Backend, ErrorKind, ProjectName};

/// The scheme's name: `shot://localhost/…` (WebKitGTK, macOS) or `http://shot.localhost/…`
/// (Windows).
pub const SCHEME: &str = "shot";

/// Screenshots are immutable once stored (a new one gets a new file), so caching is safe.
const CACHE_CONTROL: &str = "private, max-age=86400, immutable";

/// The Tauri handler: answers from a task, off the main thread.
pub fn handle<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let store = ctx
        .app_handle()
        .state::<veritas_core::storage::Storage>()
        .backend();
    tauri::async_runtime::spawn(async move {
        responder.respond(serve(&store, &request).await);
    });
}

/// What is asked for.
#[derive(Debug, PartialEq)]
enum Target {
    /// A screenshot, or its thumbnail `width` wide.
    Shot {
        project: ProjectName,
        audit_id: AuditId,
        screenshot_id: i64,
        width: Option<u32>,
    },
    /// The heat map of two screenshots' difference.
    Diff {
        project: ProjectName,
        before: (AuditId, i64),
        after: (AuditId, i64),
    },
}

fn screenshot_number(shot: &str) -> Result<i64, String> {
    shot.parse::<i64>().map_err(|_| {
        format!(
            "screenshot id {:?} is not a number",
            veritas_core::quote_prefix(shot)
        )
    })
}

fn parse_target(request: &Request<Vec<u8>>) -> Result<Target, String> {
    let uri = request.uri();
    let parts: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    if let [project, "diff", a, sa, b, sb] = parts.as_slice() {
        return Ok(Target::Diff {
            project: ProjectName::parse(project).map_err(|e| e.message)?,
            before: (AuditId::parse(a).map_err(|e| e.message)?, screenshot_number(sa)?),
            after: (AuditId::parse(b).map_err(|e| e.message)?, screenshot_number(sb)?),
        });
    }
    let [project, audit_id, shot] = parts.as_slice() else {
        return Err(format!(
            "expected /<project>/<audit>/<screenshot> or /<project>/diff/<audit>/<screenshot>/<audit>/<screenshot>, got {}",
            veritas_core::quote_prefix(uri.path())
        ));
    };
    let screenshot_id = screenshot_number(shot)?;
    let width = match uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("w=")))
    {
        None => None,
        Some(w) => Some(
            w.parse::<u32>()
                .map_err(|_| format!("width {:?} is not a number", veritas_core::quote_prefix(w)))?,
        ),
    };
    // The URL is the webview's, untrusted: its ids are checked here, once.
    Ok(Target::Shot {
        project: ProjectName::parse(project).map_err(|e| e.message)?,
        audit_id: AuditId::parse(audit_id).map_err(|e| e.message)?,
        screenshot_id,
        width,
    })
}

/// A single byte range `start..=end` of a file of `len` bytes, if the header asks for one.
/// `Err(())` for a range that cannot be satisfied.
fn parse_range(header: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // several ranges: answer with the whole file
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (len.saturating_sub(n), len.checked_sub(1).ok_or(())?)
        }
        (s, "") => (s.parse().map_err(|_| ())?, len.checked_sub(1).ok_or(())?),
        (s, e) => (
            s.parse().map_err(|_| ())?,
            e.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1)),
        ),
    };
    if start > end || start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

fn plain(status: StatusCode, text: String) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(text.into_bytes())
        .unwrap_or_default()
}

/// Answer one request (no Tauri needed: tests call this directly).
pub async fn serve(store: &Backend, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    if request.method() != tauri::http::Method::GET && request.method() != tauri::http::Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET".into());
    }
    let target = match parse_target(request) {
        Ok(t) => t,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    let found = match target {
        Target::Shot {
            project,
            audit_id,
            screenshot_id,
            width: None,
        } => store
            .screenshot_file(&project, &audit_id, screenshot_id)
            .await
            .map(|(path, info)| (path, info.format.mime())),
        Target::Shot {
            project,
            audit_id,
            screenshot_id,
            width: Some(w),
        } => store
            .thumbnail(&project, &audit_id, screenshot_id, w)
            .await
            .map(|path| (path, "image/jpeg")),
        Target::Diff {
            project,
            before,
            after,
        } => store
            .screenshot_diff(&project, &before.0, before.1, &after.0, after.1)
            .await
            .map(|(_, path)| (path, "image/jpeg")),
    };
    let (path, mime) = match found {
        Ok(f) => f,
        Err(e) if e.kind == ErrorKind::NotFound => return plain(StatusCode::NOT_FOUND, e.message),
        Err(e) if e.kind == ErrorKind::InvalidInput => return plain(StatusCode::BAD_REQUEST, e.message),
        Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, e.message),
    };
    match read_range(
        &path,
        request.headers().get(header::RANGE).and_then(|v| v.to_str().ok()),
    )
    .await
    {
        Ok((status, body, range, len)) => {
            let mut response = Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, mime)
                .header(header::CACHE_CONTROL, CACHE_CONTROL)
                .header(header::ACCEPT_RANGES, "bytes")
                .header(header::CONTENT_LENGTH, body.len());
            if let Some((start, end)) = range {
                response = response.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
            }
            let body = if request.method() == tauri::http::Method::HEAD {
                Vec::new()
            } else {
                body
            };
            response.body(body).unwrap_or_default()
        }
        Err(None) => {
            let len = tokio::fs::metadata(&path).await.map(|m| m.len()).unwrap_or(0);
            Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .body(Vec::new())
                .unwrap_or_default()
        }
        Err(Some(e)) => plain(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

type Ranged = (StatusCode, Vec<u8>, Option<(u64, u64)>, u64);

/// The whole file, or only the asked range (read with a seek, not the whole file).
async fn read_range(path: &std::path::Path, range: Option<&str>) -> Result<Ranged, Option<String>> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Some(e.to_string()))?;
    let len = file.metadata().await.map_err(|e| Some(e.to_string()))?.len();
    match parse_range(range, len).map_err(|_| None)? {
        None => {
            let mut body = Vec::with_capacity(len as usize);
            file.read_to_end(&mut body)
                .await
                .map_err(|e| Some(e.to_string()))?;
            Ok((StatusCode::OK, body, None, len))
        }
        Some((start, end)) => {
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(|e| Some(e.to_string()))?;
            let mut body = vec![0; (end - start + 1) as usize];
            file.read_exact(&mut body)
                .await
                .map_err(|e| Some(e.to_string()))?;
            Ok((StatusCode::PARTIAL_CONTENT, body, Some((start, end)), len))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Ok(Some((0, 9))));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(
            parse_range(Some("bytes=50-500"), 100),
            Ok(Some((50, 99))),
            "an end past the file is clamped"
        );
        assert_eq!(
            parse_range(Some("bytes=0-1,5-6"), 100),
            Ok(None),
            "multi-range: whole file"
        );
        assert_eq!(parse_range(Some("bytes=100-"), 100), Err(()));
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Err(()));
        assert_eq!(parse_range(Some("bytes=x-"), 100), Err(()));
    }

    #[test]
    fn targets() {
        let req = |uri: &str| Request::builder().uri(uri).body(Vec::new()).unwrap();
        assert_eq!(
            parse_target(&req("shot://localhost/default/vrts_1/7?w=400")),
            Ok(Target::Shot {
                project: ProjectName::default(),
                audit_id: AuditId::parse("vrts_1").unwrap(),
                screenshot_id: 7,
                width: Some(400)
            })
        );
        assert_eq!(
            parse_target(&req("shot://localhost/default/diff/vrts_1/7/vrts_2/9")),
            Ok(Target::Diff {
                project: ProjectName::default(),
                before: (AuditId::parse("vrts_1").unwrap(), 7),
                after: (AuditId::parse("vrts_2").unwrap(), 9),
            })
        );
        assert!(parse_target(&req("shot://localhost/default/vrts_1")).is_err());
        assert!(parse_target(&req("shot://localhost/default/vrts_1/../../etc")).is_err());
        let refused = |uri: &str, says: &str| {
            let err = parse_target(&req(uri)).unwrap_err();
            assert!(err.contains(says), "{uri}: {err}");
        };
        refused(
            "shot://localhost/default/vrts_1/7?w=big",
            "width \"big\" is not a number",
        );
        refused("shot://localhost/a%20b/vrts_1/7", "project name");
        refused("shot://localhost/default/vrts..1/7", "audit id \"vrts..1\"");
        refused(
            "shot://localhost/default/diff/vrts_1/7/vrts..2/9",
            "audit id \"vrts..2\"",
        );
    }

    proptest::proptest! {
        /// Issue 16's fuzzing: a `shot:` request from the webview, whatever its path, query
        /// or Range header, is answered or refused, never a panic; a range it grants lies
        /// within the file; a refusal quotes the request short.
        #[test]
        fn fuzz_shot_request(
            path in proptest::collection::vec(proptest::prop_oneof!["[a-z0-9_]{0,12}", "\\PC{0,16}", proptest::strategy::Just("diff".to_string())], 0..8),
            query in "\\PC{0,24}",
            range in "\\PC{0,24}",
            len in 0u64..1_000_000,
        ) {
            let uri = format!("shot://localhost/{}?{}", path.join("/"), query);
            if let Ok(req) = Request::builder().uri(uri.as_str()).body(Vec::new()) {
                if let Err(why) = parse_target(&req) {
                    proptest::prop_assert!(why.len() <= 400, "{why}");
                }
            }
            for header in [range.clone(), format!("bytes={range}")] {
                if let Ok(Some((start, end))) = parse_range(Some(&header), len) {
                    proptest::prop_assert!(start <= end && end < len, "{header}: {start}-{end} of {len}");
                }
            }
        }
    }
}
