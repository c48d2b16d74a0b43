//! The lifecycle replay cache: each signed lifecycle token is accepted once. Keyed on the hash of
//! the signing input and the DECODED signature (so a re-encoded signature is the same token), and
//! kept until the token expires. In the database, so every instance sees it.

use super::DbError;

/// Records the token; `false` if it was seen before. Expired entries are purged on the way.
pub async fn remember(
    conn: &mut sqlx::AnyConnection,
    replay_key: &[u8; 32],
    expires_at: i64,
    now: i64,
) -> Result<bool, DbError> {
    // On PostgreSQL two instances purging at once would lock the same rows, possibly in
    // different orders (a deadlock): each purges only the rows nobody else holds.
    let purge = if conn.backend_name().eq_ignore_ascii_case("PostgreSQL") {
        "DELETE FROM lifecycle_replay WHERE token_hash IN (SELECT token_hash FROM lifecycle_replay \
         WHERE expires_at < $1 FOR UPDATE SKIP LOCKED)"
    } else {
        "DELETE FROM lifecycle_replay WHERE expires_at < $1"
    };
    sqlx::query(purge).bind(now).execute(&mut *conn).await?;
    let hash: String = replay_key.iter().map(|b| format!("{b:02x}")).collect();
    let inserted = sqlx::query(
        "INSERT INTO lifecycle_replay (token_hash, expires_at) VALUES ($1, $2) \
         ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(hash)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
