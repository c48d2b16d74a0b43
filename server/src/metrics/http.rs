//! HTTP requests: how many, by route template, method and status class, and how long each
//! took until its response head was ready, per route. The route is axum's `MatchedPath` (the
//! template, such as `/healthz` or `/api/{*fn_name}`), mapped to the route table's own
//! `&'static str`; a server function counts under its own path (`/api/preferences`, one of the
//! compiled-in set), a path under `/api/` that no function has under the template; a request
//! no route matched is counted under [`UNMATCHED`], never under its raw path.
//!
//! [`HttpMetricsLayer`] is installed only with `METRICS_ADDR` set. Each route's handles are
//! resolved at start (the histogram) or on first use (one counter per method and status class),
//! so a request costs a map lookup by template, two clock reads and two atomic updates.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, Response};
use pin_project_lite::pin_project;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tower::{Layer, Service};

/// The route label of a request no route matched (404s of unknown paths, scanners).
pub const UNMATCHED: &str = "unmatched";

/// Latency buckets, in seconds: a cached read takes tens of microseconds, a page render a
/// millisecond or two, a store timeout seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

const METHODS: [(Method, &str); 7] = [
    (Method::GET, "GET"),
    (Method::HEAD, "HEAD"),
    (Method::POST, "POST"),
    (Method::PUT, "PUT"),
    (Method::DELETE, "DELETE"),
    (Method::OPTIONS, "OPTIONS"),
    (Method::PATCH, "PATCH"),
];
/// Any other method (their number is unbounded: they share one label).
const OTHER_METHOD: &str = "other";
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

/// One route's meters.
struct RouteMeters {
    route: &'static str,
    duration: Histogram,
    /// By method (`METHODS`, then other) and status class.
    requests: [[OnceLock<Counter>; CLASSES.len()]; METHODS.len() + 1],
}

/// The routes' meters, found by template.
struct RouteIndex {
    /// The table's routes, then [`UNMATCHED`] last.
    routes: Vec<RouteMeters>,
    by_template: HashMap<&'static str, usize>,
    /// Routes served by a nested service (`/pkg/{*file}`): axum gives their requests no
    /// `MatchedPath`, so they are recognised by the prefix before `{*`.
    prefixed: Vec<(&'static str, usize)>,
}

pub struct HttpMeters {
    /// Set once the router is built (`know_routes`); until then every request is unmatched.
    index: OnceLock<RouteIndex>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabel, Histogram, fn() -> Histogram>,
    /// Used before `know_routes`.
    unmatched: RouteMeters,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl HttpMeters {
    pub fn new(registry: &mut Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations =
            Family::<RouteLabel, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status class",
            requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival to its response head, by route template",
            Unit::Seconds,
            durations.clone(),
        );
        let unmatched = route_meters(&durations, UNMATCHED);
        Self {
            index: OnceLock::new(),
            requests,
            durations,
            unmatched,
        }
    }

    /// The route table's templates (`http::routes`), once.
    pub fn know_routes(&self, routes: &[&'static str]) {
        let meters: Vec<RouteMeters> = (routes.iter().copied().chain([UNMATCHED]))
            .map(|route| route_meters(&self.durations, route))
            .collect();
        let by_template = (meters.iter().enumerate())
            .map(|(i, m)| (m.route, i))
            .collect();
        let prefixed = (routes.iter().enumerate())
            .filter_map(|(i, route)| Some((route.split_once("{*")?.0, i)))
            .collect();
        let _ = self.index.set(RouteIndex {
            routes: meters,
            by_template,
            prefixed,
        });
    }

    /// The index of the request's route (`None`: unmatched).
    fn route(&self, req: &Request) -> Option<usize> {
        let index = self.index.get()?;
        match req.extensions().get::<MatchedPath>() {
            // A server function's own path first (`/api/preferences`), else the template
            // (`/api/{*fn_name}`: a path no server function has).
            Some(matched) => (index.by_template.get(req.uri().path()))
                .or_else(|| index.by_template.get(matched.as_str()))
                .copied(),
            None => {
                let path = req.uri().path();
                (index.prefixed.iter())
                    .find(|(prefix, _)| path.starts_with(prefix))
                    .map(|(_, i)| *i)
            }
        }
    }

    fn meters(&self, route: Option<usize>) -> &RouteMeters {
        let index = self.index.get();
        let found = route.and_then(|i| index?.routes.get(i));
        found
            .or_else(|| index?.routes.last())
            .unwrap_or(&self.unmatched)
    }

    fn record(&self, route: Option<usize>, method: usize, status: u16, started: Instant) {
        let route = self.meters(route);
        route.duration.observe(started.elapsed().as_secs_f64());
        let class = usize::from(status / 100).clamp(1, CLASSES.len()) - 1;
        let Some(slot) = route.requests.get(method).and_then(|m| m.get(class)) else {
            return;
        };
        let counter = slot.get_or_init(|| {
            self.requests.get_or_create_owned(&RequestLabels {
                route: route.route,
                method: METHODS.get(method).map_or(OTHER_METHOD, |(_, name)| name),
                status: CLASSES.get(class).copied().unwrap_or("5xx"),
            })
        });
        counter.inc();
    }
}

fn route_meters(
    durations: &Family<RouteLabel, Histogram, fn() -> Histogram>,
    route: &'static str,
) -> RouteMeters {
    RouteMeters {
        route,
        duration: durations.get_or_create_owned(&RouteLabel { route }),
        requests: Default::default(),
    }
}

fn method_index(method: &Method) -> usize {
    METHODS
        .iter()
        .position(|(m, _)| m == method)
        .unwrap_or(METHODS.len())
}

/// Records every request through it; a pass-through when `None` (`METRICS_ADDR` unset).
#[derive(Clone)]
pub struct HttpMetricsLayer(pub Option<Arc<super::Metrics>>);

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    metrics: Option<Arc<super::Metrics>>,
}

/// What a request's future needs to record it.
struct Pending {
    metrics: Arc<super::Metrics>,
    /// Index into the routes (`None`: unmatched).
    route: Option<usize>,
    method: usize,
    started: Instant,
}

impl<S, ResBody> Service<Request> for HttpMetricsService<S>
where
    S: Service<Request, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = HttpMetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let pending = self.metrics.as_ref().map(|metrics| Pending {
            route: metrics.http.route(&req),
            metrics: Arc::clone(metrics),
            method: method_index(req.method()),
            started: Instant::now(),
        });
        HttpMetricsFuture {
            inner: self.inner.call(req),
            pending,
        }
    }
}

pin_project! {
    pub struct HttpMetricsFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F, ResBody, E> Future for HttpMetricsFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Some(p) = this.pending.take() {
            let status = result.as_ref().map_or(500, |res| res.status().as_u16());
            (p.metrics.http).record(p.route, p.method, status, p.started);
        }
        Poll::Ready(result)
    }
}
