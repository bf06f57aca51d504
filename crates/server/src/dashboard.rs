//! The web dashboard (PRD-162's four tabs: Signal Feed, Audit Ledger, Integrity Check, Export &
//! Replay): one HTML page, its JavaScript and its CSS, compiled into the binary and served at
//! `/`, `/assets/app.js` and `/assets/app.css`. The page only calls the JSON API; no ledger
//! logic lives here.
//!
//! Each file is answered with its content type, `Cache-Control: no-cache` and an entity tag
//! (a hash of its bytes), so a browser revalidates on every load, gets 304 while the binary is
//! the same, and never runs a script older than the page of a newer binary.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    /// FNV-1a of `body`: the entity tag.
    hash: u64,
}

impl Asset {
    const fn new(body: &'static str, content_type: &'static str) -> Asset {
        Asset {
            body,
            content_type,
            hash: fnv1a(body.as_bytes()),
        }
    }
}

const INDEX_HTML: Asset = Asset::new(
    include_str!("../assets/index.html"),
    "text/html; charset=utf-8",
);
const APP_JS: Asset = Asset::new(
    include_str!("../assets/app.js"),
    "text/javascript; charset=utf-8",
);
const APP_CSS: Asset = Asset::new(include_str!("../assets/app.css"), "text/css; charset=utf-8");

/// What the page may load and talk to: only this server (the page has no inline script or
/// style, and no third-party resource).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// 64-bit FNV-1a: a cheap fingerprint of an asset, computed at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut rest = bytes;
    while let [first, tail @ ..] = rest {
        hash ^= *first as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        rest = tail;
    }
    hash
}

/// The dashboard's routes: `GET /` (the page) and `GET /assets/app.js`, `/assets/app.css`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/app.js", get(app_js))
        .route("/assets/app.css", get(app_css))
}

async fn index(headers: HeaderMap) -> Response {
    serve(&INDEX_HTML, &headers)
}

async fn app_js(headers: HeaderMap) -> Response {
    serve(&APP_JS, &headers)
}

async fn app_css(headers: HeaderMap) -> Response {
    serve(&APP_CSS, &headers)
}

/// Whether an `If-None-Match` header names `etag` (or is `*`).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// `asset` with its headers, or 304 when the browser already holds this version.
fn serve(asset: &Asset, request: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.hash);
    let mut response = if matches_etag(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, asset.body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_differ_per_asset_and_if_none_match_is_parsed_as_a_list() {
        assert_ne!(INDEX_HTML.hash, APP_JS.hash);
        assert_ne!(APP_JS.hash, APP_CSS.hash);
        let etag = format!("\"{:016x}\"", APP_JS.hash);
        let mut headers = HeaderMap::new();
        assert!(!matches_etag(&headers, &etag));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"0000000000000000\""),
        );
        assert!(!matches_etag(&headers, &etag));
        let listed = format!("\"abc\", W/{etag}");
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&listed).unwrap_or(HeaderValue::from_static("")),
        );
        assert!(matches_etag(&headers, &etag));
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
