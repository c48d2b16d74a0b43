//! Reactive owners for request handlers, kept apart between requests.
//!
//! reactive_graph keeps "the current owner" in a thread-local: `Owner::new()` takes it as its
//! parent, and `use_context` looks contexts up through parents. `Owner::new_root` makes the new
//! root current and leaves it so. A server worker thread polls many requests' futures in turn,
//! so an owner left current across an `.await` becomes the parent of whatever the thread runs
//! next: an API call polled while a page render was suspended used to find that page's
//! contexts (its viewer's preferences) and answer them to a caller of another site.
//!
//! The rule, for every handler that runs Leptos code: start from [`request_root`], a root of
//! the request's own that is never left current, and run its futures through [`scoped`], which
//! makes the owner current only while the future is being polled.

use std::future::Future;
use std::sync::Arc;

use hydration_context::SharedContext;
use leptos::reactive::computed::ScopedFuture;
use leptos::reactive::owner::Owner;

/// A new root owner (no parent, so no inherited context) that is not left current: whatever
/// was current on this thread before is current again when this returns.
pub fn request_root(shared_context: Option<Arc<dyn SharedContext + Send + Sync>>) -> Owner {
    let previous = Owner::current();
    let root = Owner::new_root(shared_context);
    match previous {
        Some(previous) => previous.set(),
        None => root.clone().unset(),
    }
    root
}

/// `fut` with `owner` current during each of its polls and only then.
pub fn scoped<F: Future>(owner: &Owner, fut: F) -> ScopedFuture<F> {
    ScopedFuture {
        owner: owner.clone(),
        observer: None,
        fut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::{provide_context, use_context};

    #[test]
    fn a_request_root_is_not_left_current_and_inherits_nothing() {
        let outer = Owner::new_root(None);
        outer.with(|| provide_context("outer"));
        // `outer` is current now (new_root leaves it so): a request root must not see it...
        let root = request_root(None);
        assert_eq!(root.with(use_context::<&str>), None);
        // ...and must leave `outer` current, not itself.
        assert_eq!(Owner::current(), Some(outer.clone()));
        outer.unset();
        let root = request_root(None);
        assert_eq!(Owner::current(), None);
        drop(root);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_scoped_future_has_its_owner_current_only_while_polled() {
        let owner = request_root(None);
        owner.with(|| provide_context(7_u32));
        let mut fut = Box::pin(scoped(&owner, async {
            let before = use_context::<u32>();
            tokio::task::yield_now().await;
            (before, use_context::<u32>())
        }));
        assert!(futures::poll!(fut.as_mut()).is_pending());
        assert_eq!(Owner::current(), None, "suspended: nothing is current");
        assert_eq!(fut.await, (Some(7), Some(7)));
        assert_eq!(Owner::current(), None);
    }
}
