//! Static folders served under URL prefixes (`--static /portal=www/portal`), next to the
//! dashboard that `--dist` serves at `/`.
//!
//! Requests that no API or device route answers come here: the mount with the longest
//! matching prefix serves the file (tower-http's `ServeDir`, which refuses `..` and guesses
//! the content type, e.g. `application/wasm`); otherwise the dashboard, otherwise 404.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode, Uri};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Prefixes the hub itself answers; a mount there would shadow nothing but confuse users.
const RESERVED: &[&str] = &["/api", "/devices", "/$iothub"];

/// A folder served under a URL prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticMount {
    /// URL prefix without a trailing slash, e.g. `/portal` or `/portal/pkg`.
    pub prefix: String,
    /// The folder.
    pub dir: PathBuf,
}

/// Why a `--static` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StaticMountError {
    /// Not `PREFIX=DIR`.
    #[error("expected PREFIX=DIR, e.g. /portal=www/portal")]
    Syntax,
    /// The prefix is not an absolute URL path of plain segments.
    #[error("the prefix must start with `/` and name at least one segment, without `.`, `..`, `?`, `#` or `%`")]
    BadPrefix,
    /// The prefix would cover the hub's own endpoints.
    #[error("the prefix {0} is used by the hub itself")]
    Reserved(String),
}

impl FromStr for StaticMount {
    type Err = StaticMountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (prefix, dir) = s.split_once('=').ok_or(StaticMountError::Syntax)?;
        if dir.is_empty() {
            return Err(StaticMountError::Syntax);
        }
        let prefix = prefix.trim_end_matches('/');
        let rest = prefix
            .strip_prefix('/')
            .ok_or(StaticMountError::BadPrefix)?;
        let plain = |seg: &str| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && !seg.contains(['?', '#', '%', '\\'])
                && !seg.chars().any(char::is_control)
        };
        if !rest.split('/').all(plain) {
            return Err(StaticMountError::BadPrefix);
        }
        let lower = prefix.to_ascii_lowercase();
        if RESERVED
            .iter()
            .any(|r| lower == *r || lower.starts_with(&format!("{r}/")))
        {
            return Err(StaticMountError::Reserved(prefix.to_owned()));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            dir: PathBuf::from(dir),
        })
    }
}

/// Where a request path falls among the mounts.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    /// Exactly the prefix: redirect to `prefix/` so relative links in its index resolve.
    Redirect(&'a StaticMount),
    /// Inside a mount; the path relative to it (starting with `/`).
    File(&'a StaticMount, &'a str),
    /// No mount.
    None,
}

fn resolve<'a>(mounts: &'a [StaticMount], path: &'a str) -> Target<'a> {
    let best = mounts
        .iter()
        .filter(|m| {
            path.strip_prefix(m.prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .max_by_key(|m| m.prefix.len());
    match best {
        None => Target::None,
        Some(m) => match path.get(m.prefix.len()..) {
            Some("") | None => Target::Redirect(m),
            Some(rest) => Target::File(m, rest),
        },
    }
}

/// Serves a request that no route matched: a static mount, else the dashboard, else 404.
pub(crate) async fn serve(
    mounts: Arc<Vec<StaticMount>>,
    dist: Option<Arc<PathBuf>>,
    req: Request<Body>,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    match resolve(&mounts, &path) {
        Target::Redirect(m) => {
            let mut location = format!("{}/", m.prefix);
            if let Some(q) = req.uri().query() {
                location.push('?');
                location.push_str(q);
            }
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::PERMANENT_REDIRECT;
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Target::File(m, rest) => {
            let mut pq = rest.to_owned();
            if let Some(q) = req.uri().query() {
                pq.push('?');
                pq.push_str(q);
            }
            let (mut parts, body) = req.into_parts();
            match Uri::from_str(&pq) {
                Ok(uri) => parts.uri = uri,
                Err(_) => return status(StatusCode::BAD_REQUEST),
            }
            let req = Request::from_parts(parts, body);
            let resp = ServeDir::new(&m.dir)
                .oneshot(req)
                .await
                .unwrap_or_else(|e| match e {});
            resp.map(Body::new)
        }
        Target::None => match dist {
            Some(dist) => {
                let index = dist.join("index.html");
                ServeDir::new(dist.as_path())
                    .fallback(ServeFile::new(index))
                    .oneshot(req)
                    .await
                    .unwrap_or_else(|e| match e {})
                    .map(Body::new)
            }
            None => status(StatusCode::NOT_FOUND),
        },
    }
}

fn status(code: StatusCode) -> Response<Body> {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = code;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(s: &str) -> StaticMount {
        s.parse()
            .unwrap_or_else(|e| panic!("{s} should parse: {e}"))
    }

    #[test]
    fn parses_prefix_and_dir() {
        assert_eq!(
            mount("/portal/=www/portal"),
            StaticMount {
                prefix: "/portal".into(),
                dir: PathBuf::from("www/portal")
            }
        );
        assert_eq!(mount("/portal/pkg=a=b").dir, PathBuf::from("a=b"));
    }

    #[test]
    fn refuses_bad_values() {
        for (s, e) in [
            ("/portal", StaticMountError::Syntax),
            ("/portal=", StaticMountError::Syntax),
            ("portal=x", StaticMountError::BadPrefix),
            ("/=x", StaticMountError::BadPrefix),
            ("/a/../b=x", StaticMountError::BadPrefix),
            ("/a//b=x", StaticMountError::BadPrefix),
            ("/a%2e=x", StaticMountError::BadPrefix),
            ("/api=x", StaticMountError::Reserved("/api".into())),
            ("/API/x=x", StaticMountError::Reserved("/API/x".into())),
            ("/devices=x", StaticMountError::Reserved("/devices".into())),
            ("/$iothub=x", StaticMountError::Reserved("/$iothub".into())),
        ] {
            assert_eq!(s.parse::<StaticMount>(), Err(e), "{s}");
        }
        assert!("/apix=x".parse::<StaticMount>().is_ok());
    }

    #[test]
    fn longest_prefix_wins() {
        let mounts = vec![mount("/portal=a"), mount("/portal/pkg=b")];
        assert_eq!(
            resolve(&mounts, "/portal/pkg/x.js"),
            Target::File(&mounts[1], "/x.js")
        );
        assert_eq!(
            resolve(&mounts, "/portal/app.js"),
            Target::File(&mounts[0], "/app.js")
        );
        assert_eq!(resolve(&mounts, "/portal/"), Target::File(&mounts[0], "/"));
        assert_eq!(resolve(&mounts, "/portal"), Target::Redirect(&mounts[0]));
        assert_eq!(
            resolve(&mounts, "/portal/pkg"),
            Target::Redirect(&mounts[1])
        );
        assert_eq!(resolve(&mounts, "/portalx/a"), Target::None);
        assert_eq!(resolve(&mounts, "/"), Target::None);
    }
}
