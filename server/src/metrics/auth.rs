//! Tokens accepted and refused, by transport (`connect`, `forge`) and token kind (the route's:
//! `context` covers context and session tokens, `iframe`, `host_callback`, `lifecycle`, Forge's
//! `invocation`); refusals also by reason code (`token_expired`, `bad_signature`,
//! `store_unavailable`, …: each a `&'static str` of a fixed enum, `connect::VerifyError::reason`
//! and the Forge refusals). Acceptances, the hot path, use handles resolved at start.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Connect,
    Forge,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Forge => "forge",
        }
    }
}

/// The token kind a route accepts (the label `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `Authorization: JWT` on `/api`: a context token or the app's session token.
    Context,
    /// `?jwt=` on the page.
    Iframe,
    /// HS256 `enabled` / `disabled`.
    HostCallback,
    /// RS256 `installed` / `uninstalled`.
    Lifecycle,
    /// A Forge invocation token (API calls and Forge lifecycle events).
    Invocation,
}

impl TokenKind {
    const ALL: [Self; 5] = [
        Self::Context,
        Self::Iframe,
        Self::HostCallback,
        Self::Lifecycle,
        Self::Invocation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Context => "context",
            Self::Iframe => "iframe",
            Self::HostCallback => "host_callback",
            Self::Lifecycle => "lifecycle",
            Self::Invocation => "invocation",
        }
    }

    fn transport(self) -> Transport {
        match self {
            Self::Invocation => Transport::Forge,
            _ => Transport::Connect,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Context => 0,
            Self::Iframe => 1,
            Self::HostCallback => 2,
            Self::Lifecycle => 3,
            Self::Invocation => 4,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Accepted {
    transport: &'static str,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Refused {
    transport: &'static str,
    kind: &'static str,
    reason: &'static str,
}

pub struct AuthMeters {
    accepted: [Counter; TokenKind::ALL.len()],
    refused: Family<Refused, Counter>,
}

impl AuthMeters {
    pub fn new(registry: &mut Registry) -> Self {
        let accepted_family = Family::<Accepted, Counter>::default();
        let accepted = TokenKind::ALL.map(|kind| {
            accepted_family.get_or_create_owned(&Accepted {
                transport: kind.transport().as_str(),
                kind: kind.as_str(),
            })
        });
        let refused = Family::<Refused, Counter>::default();
        registry.register(
            "auth_tokens_accepted",
            "Tokens that authenticated a request, by transport and token kind",
            accepted_family,
        );
        registry.register(
            "auth_tokens_refused",
            "Requests refused or not authenticated, by transport, token kind and reason code",
            refused.clone(),
        );
        Self { accepted, refused }
    }

    pub fn accepted(&self, kind: TokenKind) {
        if let Some(counter) = self.accepted.get(kind.index()) {
            counter.inc();
        }
    }

    /// `reason`: a code from a fixed enum (never anything read from the request).
    pub fn refused(&self, kind: TokenKind, reason: &'static str) {
        self.refused
            .get_or_create(&Refused {
                transport: kind.transport().as_str(),
                kind: kind.as_str(),
                reason,
            })
            .inc();
    }
}
