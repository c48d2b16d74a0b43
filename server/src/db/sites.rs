//! Sites: the internal tenant id per-user data is keyed by, and the external ids that lead to it
//! (docs/AUTH-RULES.md §F2). A Connect tenant (`clientKey`) and every Forge installation
//! (`installationId`) link to one site; a site's `cloudId` is unique, so a new installation on a
//! known site (a Forge reinstall, or Forge after Connect) finds the same site and its users keep
//! their data. Ids only ever arrive from verified tokens or signed lifecycle bodies.

use sqlx::{AnyConnection, Row};

use super::{Db, DbError, now};

/// A Forge installation's site and whether its tokens are still accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub site_id: String,
    pub active: bool,
}

fn new_site_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn find_installation_on(
    conn: &mut AnyConnection,
    installation_id: &str,
) -> Result<Option<Installation>, DbError> {
    let row =
        sqlx::query("SELECT site_id, state FROM forge_installations WHERE installation_id = $1")
            .bind(installation_id)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|r| {
        let state: String = r.try_get("state")?;
        Ok(Installation {
            site_id: r.try_get("site_id")?,
            active: state == "installed",
        })
    })
    .transpose()
}

pub async fn find_installation(
    db: &Db,
    installation_id: &str,
) -> Result<Option<Installation>, DbError> {
    let mut conn = db.pool().acquire().await?;
    find_installation_on(&mut conn, installation_id).await
}

async fn site_by_cloud_id(
    conn: &mut AnyConnection,
    cloud_id: &str,
) -> Result<Option<String>, DbError> {
    Ok(sqlx::query("SELECT site_id FROM sites WHERE cloud_id = $1")
        .bind(cloud_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("site_id"))
        .transpose()?)
}

/// The site of `cloud_id`, created if there is none (two callers racing find the same one).
async fn site_for_cloud_id(conn: &mut AnyConnection, cloud_id: &str) -> Result<String, DbError> {
    if let Some(site) = site_by_cloud_id(conn, cloud_id).await? {
        return Ok(site);
    }
    sqlx::query(
        "INSERT INTO sites (site_id, cloud_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(new_site_id())
    .bind(cloud_id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    site_by_cloud_id(conn, cloud_id)
        .await?
        .ok_or_else(|| DbError::Failed("a site vanished while it was created".into()))
}

async fn new_site(conn: &mut AnyConnection) -> Result<String, DbError> {
    let site = new_site_id();
    sqlx::query("INSERT INTO sites (site_id, cloud_id, created_at) VALUES ($1, NULL, $2)")
        .bind(&site)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    Ok(site)
}

async fn link_installation(
    conn: &mut AnyConnection,
    installation_id: &str,
    site_id: &str,
    cloud_id: Option<&str>,
) -> Result<(), DbError> {
    let now = now();
    sqlx::query(
        "INSERT INTO forge_installations \
            (installation_id, site_id, cloud_id, state, installed_at, updated_at) \
         VALUES ($1, $2, $3, 'installed', $4, $4) ON CONFLICT (installation_id) DO NOTHING",
    )
    .bind(installation_id)
    .bind(site_id)
    .bind(cloud_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The installation a verified FIT names, established on first sight: linked to the site of its
/// `cloudId` (a reinstall, or a site known through Connect) or to a new site. Idempotent; two
/// first calls racing end on the same row.
pub async fn establish_installation(
    db: &Db,
    installation_id: &str,
    cloud_id: Option<&str>,
) -> Result<Installation, DbError> {
    let mut conn = db.pool().acquire().await?;
    if let Some(found) = find_installation_on(&mut conn, installation_id).await? {
        return Ok(found);
    }
    let site = match cloud_id {
        Some(cloud) => site_for_cloud_id(&mut conn, cloud).await?,
        None => new_site(&mut conn).await?,
    };
    link_installation(&mut conn, installation_id, &site, cloud_id).await?;
    find_installation_on(&mut conn, installation_id)
        .await?
        .ok_or_else(|| DbError::Failed("an installation vanished while it was linked".into()))
}

/// Marks the installation uninstalled (final: its FITs are refused from now on). Returns
/// whether this call changed it; unknown installations are recorded as uninstalled.
pub async fn uninstall_installation(
    db: &Db,
    installation_id: &str,
    cloud_id: Option<&str>,
) -> Result<bool, DbError> {
    establish_installation(db, installation_id, cloud_id).await?;
    let now = now();
    let result = sqlx::query(
        "UPDATE forge_installations SET state = 'uninstalled', uninstalled_at = $1, \
         updated_at = $1 WHERE installation_id = $2 AND state = 'installed'",
    )
    .bind(now)
    .bind(installation_id)
    .execute(db.pool())
    .await
    .map_err(DbError::from_write)?;
    Ok(result.rows_affected() == 1)
}

/// The address of a site as its Connect tenant reported it (Forge tokens carry none).
pub async fn site_url(db: &Db, site_id: &str) -> Result<Option<String>, DbError> {
    Ok(sqlx::query(
        "SELECT COALESCE(display_url, base_url) AS url FROM tenants WHERE site_id = $1 \
         ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(site_id)
    .fetch_optional(db.pool())
    .await?
    .map(|r| r.try_get("url"))
    .transpose()?)
}

/// The site a Connect `installed` event belongs to, found by what its signed body says: the
/// tenant's current site; else the site of its `installationId` or `cloudId` (Forge came
/// first); else a new one. When the tenant's site and the Forge side's differ, the Forge side's
/// is kept and the tenant's is merged into it ([`merge`]) by the caller, after its write applied.
pub struct ConnectSite {
    pub site_id: String,
    /// A site whose data must move into `site_id`.
    pub merge_from: Option<String>,
}

pub async fn site_for_connect_install(
    conn: &mut AnyConnection,
    client_key: &str,
    installation_id: Option<&str>,
    cloud_id: Option<&str>,
) -> Result<ConnectSite, DbError> {
    let current: Option<String> = sqlx::query("SELECT site_id FROM tenants WHERE client_key = $1")
        .bind(client_key)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("site_id"))
        .transpose()?
        .flatten();
    let mut forge_side = None;
    if let Some(installation) = installation_id {
        forge_side = find_installation_on(conn, installation)
            .await?
            .map(|i| i.site_id);
    }
    if forge_side.is_none()
        && let Some(cloud) = cloud_id
    {
        forge_side = site_by_cloud_id(conn, cloud).await?;
    }
    Ok(match (current, forge_side) {
        (Some(current), Some(forge)) if current != forge => ConnectSite {
            site_id: forge,
            merge_from: Some(current),
        },
        (Some(site), _) | (None, Some(site)) => ConnectSite {
            site_id: site,
            merge_from: None,
        },
        (None, None) => ConnectSite {
            site_id: new_site(conn).await?,
            merge_from: None,
        },
    })
}

/// After a Connect install applied: the site learns its `cloudId` (unless another site holds
/// it) and its Forge installation.
pub async fn link_connect_install(
    conn: &mut AnyConnection,
    site_id: &str,
    installation_id: Option<&str>,
    cloud_id: Option<&str>,
) -> Result<(), DbError> {
    if let Some(cloud) = cloud_id {
        sqlx::query(
            "UPDATE sites SET cloud_id = $1 WHERE site_id = $2 AND cloud_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM sites s WHERE s.cloud_id = $1)",
        )
        .bind(cloud)
        .bind(site_id)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(installation) = installation_id {
        link_installation(conn, installation, site_id, cloud_id).await?;
    }
    Ok(())
}

/// Moves everything of site `from` into site `into`: users with preferences only on `from` keep
/// them; where both have a row, the one saved later wins (as a new revision, so an open page
/// holding the older revision gets a conflict, not a silent overwrite). Runs in the caller's
/// transaction; the caller drops the caches keyed by site afterwards.
pub async fn merge(conn: &mut AnyConnection, from: &str, into: &str) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO preferences (site_id, account_id, schema_version, data, revision, updated_at) \
         SELECT $1, account_id, schema_version, data, revision, updated_at FROM preferences \
         WHERE site_id = $2 \
         ON CONFLICT (site_id, account_id) DO UPDATE SET schema_version = excluded.schema_version, \
            data = excluded.data, revision = preferences.revision + 1, \
            updated_at = excluded.updated_at \
         WHERE excluded.updated_at > preferences.updated_at",
    )
    .bind(into)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    for sql in [
        "DELETE FROM preferences WHERE site_id = $2 AND $1 <> $2",
        "UPDATE forge_installations SET site_id = $1 WHERE site_id = $2",
        "UPDATE tenants SET site_id = $1 WHERE site_id = $2",
    ] {
        sqlx::query(sql)
            .bind(into)
            .bind(from)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Stores an installation's app system token if it expires later than the stored one.
pub async fn keep_system_token(
    db: &Db,
    installation_id: &str,
    token_enc: &str,
    exp: i64,
) -> Result<bool, DbError> {
    let result = sqlx::query(
        "UPDATE forge_installations SET system_token_enc = $1, system_token_exp = $2, \
            updated_at = $3 \
         WHERE installation_id = $4 AND (system_token_exp IS NULL OR system_token_exp < $2)",
    )
    .bind(token_enc)
    .bind(exp)
    .bind(now())
    .bind(installation_id)
    .execute(db.pool())
    .await
    .map_err(DbError::from_write)?;
    Ok(result.rows_affected() == 1)
}
