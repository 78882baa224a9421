//! The console's static files (`GET /` and `GET /console/{file}`): plain HTML,
//! CSS and JavaScript modules from `assets/`, compiled into the binary (no
//! build step, nothing fetched at run time). Each answer carries an `ETag`
//! (a hash of the file) and `Cache-Control: no-cache`, so a browser
//! revalidates and gets `304 Not Modified` until the binary changes.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// name, content type, content.
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/api.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/chart.js"),
    ),
    (
        "overview.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/overview.js"),
    ),
    (
        "topics.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/topics.js"),
    ),
    (
        "messages.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/messages.js"),
    ),
    (
        "groups.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/groups.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("assets/favicon.svg"),
    ),
];

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some((_, content_type, body)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let etag = format!("\"{:08x}\"", crc32fast::hash(body.as_bytes()));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let common = [
        (header::ETAG, HeaderValue::from_str(&etag).expect("hex")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        *body,
    )
        .into_response()
}

pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

pub async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

#[cfg(test)]
mod tests {
    use super::FILES;

    /// The console stays small (issue 19: well under a second on loopback).
    #[test]
    fn console_assets_stay_under_100_kb() {
        let total: usize = FILES.iter().map(|(_, _, b)| b.len()).sum();
        assert!(total < 100 * 1024, "console assets are {total} bytes");
    }

    /// Every module the pages import is served.
    #[test]
    fn every_imported_module_is_served() {
        for (name, _, body) in FILES {
            for line in body
                .lines()
                .filter(|l| l.trim_start().starts_with("import "))
            {
                let Some(spec) = line.split(['"', '\'']).nth(1) else {
                    continue;
                };
                let file = spec.trim_start_matches("./");
                assert!(
                    FILES.iter().any(|(n, _, _)| *n == file),
                    "{name} imports {spec}, which is not served"
                );
            }
        }
    }
}
