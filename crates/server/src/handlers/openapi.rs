//! GET /v1/openapi.json: the API's OpenAPI 3.1 description, compiled into the binary.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The OpenAPI document (crates/server/openapi.json; a test checks that it names every
/// endpoint of the API and that every path it names is served with its method).
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// The OpenAPI document.
pub async fn get_openapi() -> Response {
    let mut response = (StatusCode::OK, OPENAPI_JSON).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
