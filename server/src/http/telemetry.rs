//! Logging: human-readable lines in development, one JSON object per line in production. Every
//! request gets an id (`x-request-id`, kept from the caller when it is a plain token, else a
//! fresh UUID) and one access line with method, path, status and latency; events logged while a
//! request is handled carry its id. Never the query string (page URLs carry a token) and never
//! headers (they carry tokens).
//!
//! The access line is written by hand in JSON mode rather than through a tracing span and event,
//! the request id travels in a task-local, which the event formatters read, and JSON lines are
//! written in batches (`log_buffer`). Measured reason (2026-12-06, issue 18): the same lines on
//! well-kept crates (tower-http's `SetRequestId`/`PropagateRequestId`, a `request` span,
//! tracing-subscriber's JSON fields with a small `FormatEvent`, tracing-appender's non-blocking
//! writer) took 1.35x the server CPU per cached read of this version at 1 connection (34.4 vs
//! 25.5 us) and 1.52x at 16 (27.4 vs 18.0 us), at least 1.18x in every pair: above the 10 % the
//! issue allowed. Measured with `bench/run.sh` (read at 1 and 16 connections, 8 s, two release
//! builds alternated A B A B A B); the table is in docs/BENCHMARKS.md, "Logging: by hand or on
//! crates".

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{DefaultFields, Format, JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use super::log_buffer::LineBuffer;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The longest caller-supplied request id kept; longer or unusual ones are replaced.
const MAX_REQUEST_ID: usize = 64;

tokio::task_local! {
    static REQUEST_ID: HeaderValue;
}

/// Where JSON lines go, set once by `init_with` (none: development lines, straight to stdout).
static JSON_SINK: OnceLock<LineBuffer> = OnceLock::new();

/// Installs the global subscriber writing to stdout: JSON lines when `json` (gathered and
/// written at most `flush_after` later, `log_buffer`), else human lines written at once.
pub fn init(json: bool, flush_after: Duration) {
    init_with(json, std::io::stdout, flush_after);
}

/// `init` with another destination (tests capture the production format this way).
pub fn init_with<W>(json: bool, writer: W, flush_after: Duration)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if !json {
        let _ = builder
            .with_writer(writer)
            .fmt_fields(DefaultFields::new())
            .event_format(WithRequestId(Format::default()))
            .try_init();
        return;
    }
    if JSON_SINK.set(LineBuffer::new(writer, flush_after)).is_err() {
        return;
    }
    let Some(sink) = JSON_SINK.get() else { return };
    let _ = sink.spawn_flusher();
    let installed = builder
        .with_writer(sink)
        .fmt_fields(JsonFields::new())
        .event_format(JsonLine)
        .try_init();
    if installed.is_ok() {
        // A panic's own report goes to stderr; first write out the lines logged before it.
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            flush();
            report(info);
        }));
    }
}

/// Writes out buffered log lines (at shutdown, before exiting on an error).
pub fn flush() {
    if let Some(sink) = JSON_SINK.get() {
        sink.flush();
    }
}

/// The id of the request being handled on this task, if any.
fn current_request_id() -> Option<HeaderValue> {
    REQUEST_ID.try_with(HeaderValue::clone).ok()
}

/// A JSON string literal, escaped by serde_json (written through `FmtWrite`, no allocation).
fn json_str(w: &mut impl fmt::Write, s: &str) -> fmt::Result {
    serde_json::to_writer(FmtWrite(w), s).map_err(|_| fmt::Error)
}

/// `io::Write` over a `fmt::Write`: serde_json writes whole UTF-8 pieces (slices of the input
/// cut at ASCII escapes, and the escapes themselves).
struct FmtWrite<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> std::io::Write for FmtWrite<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = std::str::from_utf8(buf).map_err(std::io::Error::other)?;
        self.0.write_str(text).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `{"timestamp":…,"level":…,"target":…[,"request_id":…],"fields":` — the start of every line.
fn json_head(
    w: &mut Writer<'_>,
    level: &Level,
    target: &str,
    request_id: Option<&HeaderValue>,
) -> fmt::Result {
    w.write_str("{\"timestamp\":\"")?;
    SystemTime.format_time(w)?;
    write!(w, "\",\"level\":\"{level}\",\"target\":")?;
    json_str(w, target)?;
    if let Some(id) = request_id.and_then(|id| id.to_str().ok()) {
        w.write_str(",\"request_id\":")?;
        json_str(w, id)?;
    }
    w.write_str(",\"fields\":")
}

/// Production event format: one JSON object per line, the request id at the top level.
struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let id = current_request_id();
        json_head(&mut writer, meta.level(), meta.target(), id.as_ref())?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_str("}\n")
    }
}

/// Development event format: tracing's usual line, prefixed with the request id.
struct WithRequestId<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithRequestId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if let Some(id) = current_request_id()
            .as_ref()
            .and_then(|id| id.to_str().ok())
        {
            write!(writer, "[{id}] ")?;
        }
        self.0.format_event(ctx, writer, event)
    }
}

/// What the access line needs, taken when the request arrives.
struct Entry {
    id: HeaderValue,
    method: Method,
    uri: Uri,
    start: Instant,
}

impl Entry {
    fn log(&self, status: StatusCode) {
        let level = if status.is_server_error() {
            Level::ERROR
        } else {
            Level::INFO
        };
        let latency_us = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let path = self.uri.path();
        let status = status.as_u16();
        if let Some(sink) = JSON_SINK.get() {
            let enabled = if level == Level::ERROR {
                tracing::enabled!(target: "access", Level::ERROR)
            } else {
                tracing::enabled!(target: "access", Level::INFO)
            };
            if enabled {
                let line =
                    json_access_line(&level, &self.id, &self.method, path, status, latency_us);
                sink.push(line.as_bytes(), level == Level::ERROR);
            }
        } else {
            REQUEST_ID.sync_scope(self.id.clone(), || {
                let method = self.method.as_str();
                if level == Level::ERROR {
                    tracing::error!(target: "access", %method, path, status, latency_us, "request");
                } else {
                    tracing::info!(target: "access", %method, path, status, latency_us, "request");
                }
            });
        }
    }
}

fn json_access_line(
    level: &Level,
    id: &HeaderValue,
    method: &Method,
    path: &str,
    status: u16,
    us: u64,
) -> String {
    let mut line = String::with_capacity(256);
    let mut w = Writer::new(&mut line);
    // Writing to a String cannot fail.
    let _ = json_head(&mut w, level, "access", Some(id))
        .and_then(|_| w.write_str("{\"message\":\"request\",\"method\":"))
        .and_then(|_| json_str(&mut w, method.as_str()))
        .and_then(|_| w.write_str(",\"path\":"))
        .and_then(|_| json_str(&mut w, path))
        .and_then(|_| writeln!(w, ",\"status\":{status},\"latency_us\":{us}}}}}"));
    line
}

/// The caller's request id if it is a short plain token, else a fresh one.
fn request_id<B>(req: &Request<B>) -> HeaderValue {
    let given = req.headers().get(X_REQUEST_ID).filter(|v| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= MAX_REQUEST_ID
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
    });
    match given {
        Some(v) => v.clone(),
        None => {
            let mut buf = uuid::Uuid::encode_buffer();
            let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
            HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("-"))
        }
    }
}

/// Gives each request its id (request and response header, task-local for log events) and
/// writes its access line when the response head is ready.
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLogLayer;

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLog { inner }
    }
}

#[derive(Clone, Debug)]
pub struct AccessLog<S> {
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for AccessLog<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = AccessLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = request_id(&req);
        req.headers_mut().insert(X_REQUEST_ID, id.clone());
        let entry = Entry {
            id: id.clone(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            start: Instant::now(),
        };
        let inner = REQUEST_ID.sync_scope(id.clone(), || self.inner.call(req));
        AccessLogFuture {
            inner: REQUEST_ID.scope(id, inner),
            entry: Some(entry),
        }
    }
}

pin_project! {
    pub struct AccessLogFuture<F> {
        #[pin]
        inner: TaskLocalFuture<HeaderValue, F>,
        entry: Option<Entry>,
    }
}

impl<F, ResBody, E> Future for AccessLogFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = ready!(this.inner.poll(cx));
        if let Some(entry) = this.entry.take() {
            match &mut result {
                Ok(res) => {
                    res.headers_mut().insert(X_REQUEST_ID, entry.id.clone());
                    entry.log(res.status());
                }
                Err(_) => entry.log(StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::log_buffer::capture::Capture;

    fn quoted(s: &str) -> String {
        let mut out = String::new();
        json_str(&mut out, s).expect("writes to a String");
        out
    }

    #[test]
    fn json_strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "q\"uote",
            "back\\slash",
            "line\nfeed\ttab\r",
            "\u{1}\u{1f}",
            "é✓",
        ] {
            let ours = quoted(s);
            let back: String = serde_json::from_str(&ours).expect("valid JSON string");
            assert_eq!(back, s);
        }
        assert_eq!(quoted("a\u{1}b"), "\"a\\u0001b\"");
    }

    #[test]
    fn caller_request_ids_are_kept_only_when_plain() {
        let with = |v: &str| {
            Request::builder()
                .header(X_REQUEST_ID, v)
                .body(())
                .expect("request")
        };
        assert_eq!(request_id(&with("abc-123_x.y:z")), "abc-123_x.y:z");
        for bad in ["", "has space", "quote\"", &"x".repeat(65)] {
            let id = request_id(&with(bad));
            assert_ne!(id, bad);
            assert_eq!(id.len(), 36, "a fresh UUID replaces {bad:?}");
        }
        let fresh = request_id(&Request::new(()));
        assert_eq!(fresh.len(), 36);
    }

    #[tokio::test]
    async fn production_lines_are_json_with_the_request_id_and_no_query() {
        use axum::Router;
        use axum::body::Body;
        use axum::routing::get;
        use tower::ServiceExt;

        let capture = Capture::default();
        // An hour: nothing leaves the buffer but warnings, errors and `flush`.
        init_with(true, capture.clone(), Duration::from_secs(3600));
        let app = Router::new()
            .route(
                "/work",
                get(|| async {
                    tracing::warn!(detail = "x\"y", "inside the handler");
                    "ok"
                }),
            )
            .route(
                "/fail",
                get(|| async { axum::http::StatusCode::SERVICE_UNAVAILABLE }),
            )
            .layer(AccessLogLayer);
        let call = |uri: &str, id: Option<&str>| {
            let mut req = Request::builder().uri(uri);
            if let Some(id) = id {
                req = req.header(X_REQUEST_ID, id);
            }
            app.clone()
                .oneshot(req.body(Body::empty()).expect("request"))
        };
        let res = call("/work?jwt=secret-token", Some("req-1"))
            .await
            .expect("answer");
        assert_eq!(res.headers()[X_REQUEST_ID], "req-1");
        let so_far = capture.text();
        assert!(
            so_far.contains("inside the handler"),
            "a warning is written at once"
        );
        assert!(
            !so_far.contains("\"access\""),
            "an info access line waits: {so_far}"
        );
        let res = call("/fail", None).await.expect("answer");
        let fresh = res.headers()[X_REQUEST_ID]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(fresh.len(), 36);

        let out = capture.text();
        assert!(
            out.contains("\"status\":200"),
            "an error line writes the lines before it"
        );
        assert!(!out.contains("secret-token"), "the query was logged: {out}");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect();
        let find = |pred: &dyn Fn(&serde_json::Value) -> bool| {
            lines
                .iter()
                .find(|l| pred(l))
                .cloned()
                .unwrap_or_else(|| panic!("missing line in {out}"))
        };
        let event = find(&|l| l["fields"]["message"] == "inside the handler");
        assert_eq!(event["request_id"], "req-1");
        assert_eq!(event["level"], "WARN");
        assert_eq!(event["fields"]["detail"], "x\"y");
        let access = find(&|l| l["target"] == "access" && l["request_id"] == "req-1");
        assert_eq!(access["level"], "INFO");
        assert_eq!(access["fields"]["method"], "GET");
        assert_eq!(access["fields"]["path"], "/work");
        assert_eq!(access["fields"]["status"], 200);
        assert!(access["fields"]["latency_us"].is_u64());
        assert!(
            access["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        let failed = find(&|l| l["target"] == "access" && l["request_id"] == fresh.as_str());
        assert_eq!(failed["level"], "ERROR");
        assert_eq!(failed["fields"]["status"], 503);
    }
}
