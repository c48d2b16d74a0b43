//! The interface server functions use to ask Confluence about spaces. The server provides one
//! per API call, already bound to that call's site and user, so nothing here can ask as anyone
//! else.

use super::{Space, SpacePage};
use crate::AppError;

#[async_trait::async_trait]
pub trait SpaceDirectory: Send + Sync + 'static {
    /// Spaces the user can see whose name or key contains `query` (any case), from `cursor`.
    async fn list(&self, query: Option<&str>, cursor: Option<&str>) -> Result<SpacePage, AppError>;

    /// The space with exactly this key, if it exists and the user can see it.
    async fn find(&self, key: &str) -> Result<Option<Space>, AppError>;
}

/// What server functions find in context during an API call.
#[derive(Clone)]
pub struct SpaceService(pub std::sync::Arc<dyn SpaceDirectory>);
