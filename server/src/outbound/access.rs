//! Who an outbound call acts as, bound to one verified caller: built by the API extractor from
//! what it verified (a Connect tenant and user, or a FIT and the user token Forge sent with it),
//! so a server function can only ever ask Atlassian as its own caller.

use std::sync::Arc;
use std::time::Instant;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use super::Outbound;
use super::error::OutboundError;
use super::send::{Call, Credential, Destination, Reply};
use super::user_tokens::Grant;
use crate::connect::verifier::Tenant;
use connect::outbound::ProductTarget;

/// The scopes user tokens are asked for (the descriptor asks for `READ` and `ACT_AS_USER`).
const USER_SCOPES: &str = "READ";

#[derive(Clone)]
pub enum ProductAccess {
    /// A Connect caller: the tenant (base URL, secret, `oauthClientId`) and the user, if any.
    Connect {
        tenant: Arc<Tenant>,
        account_id: Option<String>,
    },
    /// A Forge caller: the FIT's `apiBaseUrl` and the user token Forge sent
    /// (`x-forge-oauth-user`), if any.
    Forge {
        api_base_url: String,
        user_token: Option<Arc<SecretString>>,
    },
}

impl ProductAccess {
    /// GETs `wiki_path` (a path below Confluence's `/wiki`, with its query) as the user.
    pub async fn get_as_user(
        &self,
        outbound: &Outbound,
        wiki_path: &str,
    ) -> Result<Reply, OutboundError> {
        match self {
            Self::Connect { tenant, account_id } => {
                let account_id = account_id
                    .as_deref()
                    .ok_or(OutboundError::NotPossible("an anonymous user"))?;
                let oauth_client_id =
                    tenant
                        .oauth_client_id
                        .as_deref()
                        .ok_or(OutboundError::NotPossible(
                            "the install sent no oauthClientId",
                        ))?;
                let grant = Grant {
                    client_key: &tenant.client_key,
                    oauth_client_id,
                    base_url: &tenant.base_url,
                    secret: tenant.secret.as_bytes(),
                    account_id,
                    scopes: USER_SCOPES,
                };
                let target = ProductTarget::resolve(&tenant.base_url, wiki_path)
                    .map_err(|_| OutboundError::OutsideTenant)?;
                // One budget for the exchange and the call. A cached token Atlassian no longer
                // takes (revoked, expired early) is exchanged again, once.
                let deadline = Instant::now() + outbound.config.retry.budget;
                for attempt in 0..2 {
                    let token = outbound
                        .user_tokens
                        .token(outbound, &grant, deadline)
                        .await?;
                    let call = get(target.clone(), Credential::Bearer(token.expose_secret()));
                    let result = outbound.send_until(call, deadline).await;
                    match result {
                        Err(OutboundError::Unauthorized) if attempt == 0 => {
                            outbound.user_tokens.forget(&grant)
                        }
                        other => return other,
                    }
                }
                Err(OutboundError::Unauthorized)
            }
            Self::Forge {
                api_base_url,
                user_token,
            } => {
                let token = user_token
                    .as_ref()
                    .ok_or(OutboundError::NotPossible("Forge sent no user token"))?;
                let target = ProductTarget::resolve(api_base_url, &format!("/wiki{wiki_path}"))
                    .map_err(|_| OutboundError::OutsideTenant)?;
                outbound
                    .send(get(target, Credential::Bearer(token.expose_secret())))
                    .await
            }
        }
    }

    /// GETs `wiki_path` as the app (Connect: an app JWT; Forge: not available here).
    pub async fn get_as_app(
        &self,
        outbound: &Outbound,
        wiki_path: &str,
    ) -> Result<Reply, OutboundError> {
        match self {
            Self::Connect { tenant, .. } => {
                let target = ProductTarget::resolve(&tenant.base_url, wiki_path)
                    .map_err(|_| OutboundError::OutsideTenant)?;
                let credential = Credential::App {
                    app_key: &outbound.config.app_key,
                    secret: tenant.secret.as_bytes(),
                };
                outbound.send(get(target, credential)).await
            }
            // The stored system token (forge::app_tokens) is the seam for calls as the app.
            Self::Forge { .. } => Err(OutboundError::NotPossible(
                "Forge app calls need the stored system token",
            )),
        }
    }
}

fn get(target: ProductTarget, credential: Credential<'_>) -> Call<'_> {
    Call {
        kind: "confluence",
        method: Method::GET,
        destination: Destination::Product(target),
        credential,
        body: None,
    }
}
