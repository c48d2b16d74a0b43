//! Tenant rows by clientKey: lifecycle writes (ordered by the lifecycle token's `iat`) and the
//! lookup every token verification does. Secrets stay encrypted here; decryption happens in
//! `connect::verifier` (with the keys of `connect::secrets`).

use sqlx::Row;

use super::{Db, DbError, now};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantState {
    Installed,
    Enabled,
    Disabled,
    Uninstalled,
}

impl TenantState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Installed => "installed",
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Uninstalled => "uninstalled",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "installed" => Self::Installed,
            "enabled" => Self::Enabled,
            "disabled" => Self::Disabled,
            "uninstalled" => Self::Uninstalled,
            _ => return None,
        })
    }

    /// Whether the tenant's users may use the app (its tokens are accepted).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Installed | Self::Enabled)
    }
}

/// What verification needs of a tenant.
#[derive(Debug, Clone)]
pub struct TenantRow {
    pub client_key: String,
    /// The site its users' data is keyed by (`db::sites`).
    pub site_id: String,
    pub shared_secret_enc: String,
    pub base_url: String,
    pub display_url: Option<String>,
    pub oauth_client_id: Option<String>,
    pub state: TenantState,
}

/// Everything an `installed` callback stores.
#[derive(Debug, Clone)]
pub struct InstallRecord {
    pub client_key: String,
    pub shared_secret_enc: String,
    pub base_url: String,
    pub display_url: Option<String>,
    pub product_type: Option<String>,
    pub description: Option<String>,
    pub service_entitlement_number: Option<String>,
    pub oauth_client_id: Option<String>,
    pub installation_id: Option<String>,
    pub cloud_id: Option<String>,
    pub install_payload: String,
    /// The site (`db::sites::site_for_connect_install`); set inside the install's transaction.
    pub site_id: String,
    /// `iat` of the install token.
    pub event_at: i64,
}

pub async fn find(db: &Db, client_key: &str) -> Result<Option<TenantRow>, DbError> {
    let row = sqlx::query(
        "SELECT client_key, COALESCE(site_id, client_key) AS site_id, shared_secret_enc, \
            base_url, display_url, oauth_client_id, state FROM tenants WHERE client_key = $1",
    )
    .bind(client_key)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        let state: String = r.try_get("state")?;
        Ok(TenantRow {
            client_key: r.try_get("client_key")?,
            site_id: r.try_get("site_id")?,
            shared_secret_enc: r.try_get("shared_secret_enc")?,
            base_url: r.try_get("base_url")?,
            display_url: r.try_get("display_url")?,
            oauth_client_id: r.try_get("oauth_client_id")?,
            state: TenantState::parse(&state)
                .ok_or_else(|| DbError::Failed(format!("unknown tenant state {state:?}")))?,
        })
    })
    .transpose()
}

/// Inserts or replaces the tenant in one statement (the new secret replaces the old one
/// atomically), unless a newer lifecycle event was already applied. Returns whether it applied.
/// Runs inside the caller's transaction together with the replay-cache insert.
pub async fn apply_install(
    tx: &mut sqlx::AnyConnection,
    r: &InstallRecord,
) -> Result<bool, DbError> {
    let now = now();
    let result = sqlx::query(
        "INSERT INTO tenants (client_key, shared_secret_enc, base_url, display_url, product_type, \
            description, service_entitlement_number, oauth_client_id, installation_id, cloud_id, \
            state, state_changed_at, installed_at, updated_at, uninstalled_at, install_payload, \
            site_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'installed', $11, $12, $12, NULL, $13, \
            $14) \
         ON CONFLICT (client_key) DO UPDATE SET \
            shared_secret_enc = excluded.shared_secret_enc, base_url = excluded.base_url, \
            display_url = excluded.display_url, product_type = excluded.product_type, \
            description = excluded.description, \
            service_entitlement_number = excluded.service_entitlement_number, \
            oauth_client_id = excluded.oauth_client_id, installation_id = excluded.installation_id, \
            cloud_id = excluded.cloud_id, state = 'installed', \
            state_changed_at = excluded.state_changed_at, installed_at = excluded.installed_at, \
            updated_at = excluded.updated_at, uninstalled_at = NULL, \
            install_payload = excluded.install_payload, site_id = excluded.site_id \
         WHERE tenants.state_changed_at <= excluded.state_changed_at",
    )
    .bind(&r.client_key)
    .bind(&r.shared_secret_enc)
    .bind(&r.base_url)
    .bind(&r.display_url)
    .bind(&r.product_type)
    .bind(&r.description)
    .bind(&r.service_entitlement_number)
    .bind(&r.oauth_client_id)
    .bind(&r.installation_id)
    .bind(&r.cloud_id)
    .bind(r.event_at)
    .bind(now)
    .bind(&r.install_payload)
    .bind(&r.site_id)
    .execute(&mut *tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Moves the tenant to `state` if no newer lifecycle event was applied. `enabled`/`disabled`
/// never touch an uninstalled tenant. Returns whether it applied.
pub async fn apply_state(
    conn: &mut sqlx::AnyConnection,
    client_key: &str,
    state: TenantState,
    event_at: i64,
) -> Result<bool, DbError> {
    let now = now();
    let sql = match state {
        TenantState::Uninstalled => {
            "UPDATE tenants SET state = $1, state_changed_at = $2, updated_at = $3, \
             uninstalled_at = $3 WHERE client_key = $4 AND state_changed_at <= $2"
        }
        _ => {
            "UPDATE tenants SET state = $1, state_changed_at = $2, updated_at = $3 \
             WHERE client_key = $4 AND state_changed_at <= $2 AND state <> 'uninstalled'"
        }
    };
    let result = sqlx::query(sql)
        .bind(state.as_str())
        .bind(event_at)
        .bind(now)
        .bind(client_key)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}
