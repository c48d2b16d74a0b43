//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers within a second).
//! Both public and cheap.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub async fn healthz() -> Response {
    (StatusCode::OK, "ok").into_response()
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.ping(Duration::from_secs(1)).await {
        (StatusCode::OK, "ready").into_response()
    } else {
        super::errors::json_error(&app::AppError::store_unavailable())
    }
}
