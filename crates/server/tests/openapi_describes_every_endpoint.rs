//! /v1/openapi.json: a valid OpenAPI 3.1 document naming every endpoint of the API, each of
//! which the server really serves with the method documented.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use common::TestServer;
use signal_ledger_server::ServerOptions;

/// The endpoints the API offers (issue 8), as `METHOD path`.
const ENDPOINTS: [&str; 13] = [
    "post /v1/signals",
    "get /v1/signals",
    "post /v1/outcomes",
    "get /v1/aggregate",
    "get /v1/lineage/{id}",
    "get /v1/export",
    "get /v1/replay",
    "post /v1/verify",
    "get /v1/checks",
    "get /v1/digest",
    "get /v1/stats",
    "get /metrics",
    "get /v1/openapi.json",
];

fn documented(doc: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.push(format!("{method} {path}"));
        }
    }
    out
}

#[test]
fn the_document_is_openapi_3_1_and_names_every_endpoint() {
    let server = TestServer::start(ServerOptions::default());
    let (status, doc) = server.get_json("/v1/openapi.json");
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string());
    let documented = documented(&doc);
    for endpoint in ENDPOINTS {
        assert!(
            documented.iter().any(|d| d == endpoint),
            "{endpoint} is not in /v1/openapi.json"
        );
    }
    // Every $ref points at a component that exists.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/").skip(1) {
        let reference = piece.split('"').next().unwrap();
        let (kind, name) = reference.split_once('/').unwrap();
        assert!(
            doc["components"][kind][name].is_object(),
            "$ref #/components/{reference} names nothing"
        );
    }
}

#[test]
fn every_documented_endpoint_is_served_with_its_method() {
    let server = TestServer::start(ServerOptions::default());
    let (_, doc) = server.get_json("/v1/openapi.json");
    for endpoint in documented(&doc) {
        let (method, path) = endpoint.split_once(' ').unwrap();
        // An unknown parameter: endpoints that take parameters refuse it before doing any work
        // (no replay is started, nothing recorded); the others ignore it.
        let url = format!("{}?openapi_probe=1", path.replace("{id}", "no-such-signal"));
        let (status, body) = match method {
            "get" => server.get(&url),
            "post" => {
                let (status, value) = server.post(&url, Some("application/json"), None, b"{}");
                (status, value.to_string())
            }
            other => panic!("{other} is not a method the API uses"),
        };
        assert_ne!(status, 405, "{endpoint}: {body}");
        assert!(
            !(status == 404 && body.contains("no such endpoint")),
            "{endpoint} is documented but not served: {body}"
        );
    }
}
