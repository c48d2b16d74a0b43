//! Group commit of preference saves on SQLite. SQLite admits one writer at a time, and every
//! statement sqlx runs is a round trip to the connection's worker thread, so saves go to one
//! writer task that owns one connection: the saves that arrived while a batch was being written
//! go together in the next one, as at most two statements (an INSERT of new rows and an
//! `UPDATE … FROM (VALUES …)` that compares each row's revision). Each statement commits before
//! any of its saves is answered: an acknowledged save is as durable as one saved alone. A batch
//! never holds two saves of the same row (the later one waits for the next batch), so each
//! save's compare-and-swap is decided on its own.
//!
//! A save carries a [`WriteTicket`] (`db::settle`): it goes into a batch only if its caller has
//! not called it off, and once in a batch it is answered with the statement's result however
//! long that takes, so "not saved" is never said of a save that may still be written.

use std::collections::{HashSet, VecDeque};

use sqlx::{Any, AnyConnection, Connection, QueryBuilder, Row};
use tokio::sync::{mpsc, oneshot};

use super::DbError;
use super::settle::WriteTicket;
use crate::metrics::store::StoreMeters;

/// Saves per batch at most (7 parameters each; SQLite allows 32 766 per statement).
const MAX_BATCH: usize = 64;

/// One save: write `data` as `base_revision + 1` if the row is still at `base_revision` (0: the
/// row must not exist yet).
pub struct Save {
    pub site_id: String,
    pub account_id: String,
    pub schema_version: i64,
    pub data: String,
    pub base_revision: i64,
    pub updated_at: i64,
}

type Reply = oneshot::Sender<Result<bool, DbError>>;

enum Message {
    Save(Pending),
    Close(oneshot::Sender<()>),
}

/// The handle the store keeps; the writer task ends with `close` or when every handle is gone.
#[derive(Clone)]
pub struct GroupCommit {
    tx: mpsc::UnboundedSender<Message>,
}

impl GroupCommit {
    pub fn start(conn: AnyConnection, meters: StoreMeters) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(conn, rx, meters));
        Self { tx }
    }

    /// `Ok(true)`: written and committed; `Ok(false)`: the row was not at `base_revision` (a
    /// conflict). Waits as long as that takes (bound the wait with `settle`, which calls the
    /// save off through `ticket` while it is still queued: it is then answered "unavailable"
    /// and never written).
    pub async fn save(&self, save: Save, ticket: WriteTicket) -> Result<bool, DbError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Message::Save(Pending {
                save,
                ticket: ticket.clone(),
                reply,
            }))
            .map_err(|_| DbError::Unavailable)?;
        match answer.await {
            Ok(result) => result,
            // The writer is gone (it panicked, or the server is stopping).
            Err(_) if ticket.started() => Err(DbError::OutcomeUnknown),
            Err(_) => Err(DbError::Unavailable),
        }
    }

    /// Writes what is queued, then closes the connection.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.tx.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

struct Pending {
    save: Save,
    ticket: WriteTicket,
    reply: Reply,
}

async fn writer(
    mut conn: AnyConnection,
    mut rx: mpsc::UnboundedReceiver<Message>,
    meters: StoreMeters,
) {
    let mut waiting: VecDeque<Pending> = VecDeque::new();
    let mut closing = None;
    loop {
        if waiting.is_empty() && closing.is_none() {
            match rx.recv().await {
                Some(Message::Save(pending)) => waiting.push_back(pending),
                Some(Message::Close(done)) => closing = Some(done),
                None => break,
            }
        }
        while closing.is_none() {
            match rx.try_recv() {
                Ok(Message::Save(pending)) => waiting.push_back(pending),
                Ok(Message::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if waiting.is_empty() {
            if let Some(done) = closing.take() {
                let _ = conn.close().await;
                let _ = done.send(());
                return;
            }
            continue;
        }
        let batch = take_batch(&mut waiting);
        if !batch.is_empty() {
            meters.batch(batch.len());
        }
        write_batch(&mut conn, batch).await;
    }
}

/// Up to `MAX_BATCH` saves in arrival order, at most one per row; the others keep their place.
/// A save enters a batch only by starting its ticket; one its caller called off is answered
/// "unavailable" and dropped, never written.
fn take_batch(waiting: &mut VecDeque<Pending>) -> Vec<Pending> {
    let mut rows = HashSet::new();
    let mut batch = Vec::new();
    let mut later = VecDeque::new();
    while let Some(item) = waiting.pop_front() {
        let row = || (item.save.site_id.clone(), item.save.account_id.clone());
        if batch.len() >= MAX_BATCH || rows.contains(&row()) {
            later.push_back(item);
        } else if item.ticket.start() {
            rows.insert(row());
            batch.push(item);
        } else {
            let _ = item.reply.send(Err(DbError::Unavailable));
        }
    }
    *waiting = later;
    batch
}

async fn write_batch(conn: &mut AnyConnection, batch: Vec<Pending>) {
    let (new_rows, updates): (Vec<_>, Vec<_>) =
        batch.into_iter().partition(|p| p.save.base_revision == 0);
    if !new_rows.is_empty() {
        let mut q = QueryBuilder::<Any>::new(
            "INSERT INTO preferences \
             (site_id, account_id, schema_version, data, revision, updated_at) ",
        );
        q.push_values(&new_rows, |mut row, Pending { save: s, .. }| {
            row.push_bind(&s.site_id)
                .push_bind(&s.account_id)
                .push_bind(s.schema_version)
                .push_bind(&s.data)
                .push_bind(1_i64)
                .push_bind(s.updated_at);
        });
        q.push(" ON CONFLICT (site_id, account_id) DO NOTHING RETURNING site_id, account_id");
        let written = q.build().fetch_all(&mut *conn).await;
        answer(new_rows, written);
    }
    if !updates.is_empty() {
        let mut q = QueryBuilder::<Any>::new(
            "UPDATE preferences SET schema_version = v.column3, data = v.column4, \
             revision = v.column5, updated_at = v.column6 FROM (",
        );
        q.push_values(&updates, |mut row, Pending { save: s, .. }| {
            row.push_bind(&s.site_id)
                .push_bind(&s.account_id)
                .push_bind(s.schema_version)
                .push_bind(&s.data)
                .push_bind(s.base_revision + 1)
                .push_bind(s.updated_at)
                .push_bind(s.base_revision);
        });
        q.push(
            ") AS v WHERE preferences.site_id = v.column1 AND preferences.account_id = v.column2 \
             AND preferences.revision = v.column7 RETURNING site_id, account_id",
        );
        let written = q.build().fetch_all(&mut *conn).await;
        answer(updates, written);
    }
}

/// Tells each save whether its row came back from the statement (written) or not (conflict).
fn answer(saves: Vec<Pending>, written: Result<Vec<sqlx::any::AnyRow>, sqlx::Error>) {
    match written {
        Ok(rows) => {
            let written: HashSet<(String, String)> = rows
                .iter()
                .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
                .collect();
            for Pending { save, reply, .. } in saves {
                let key = (save.site_id, save.account_id);
                let _ = reply.send(Ok(written.contains(&key)));
            }
        }
        Err(e) => {
            let e = DbError::from_write(e);
            for Pending { reply, .. } in saves {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_db;

    fn save(user: &str, base_revision: i64, data: &str) -> Save {
        Save {
            site_id: "site".into(),
            account_id: user.into(),
            schema_version: 1,
            data: data.into(),
            base_revision,
            updated_at: 1,
        }
    }

    async fn stored(db: &crate::db::Db, user: &str) -> Option<(i64, String)> {
        sqlx::query("SELECT revision, data FROM preferences WHERE account_id = $1")
            .bind(user)
            .fetch_optional(db.pool())
            .await
            .unwrap()
            .map(|r| (r.get(0), r.get(1)))
    }

    #[tokio::test]
    async fn concurrent_saves_each_win_or_conflict_exactly_once() {
        let (_guard, db) = test_db().await;
        let Some(gc) = db.group_commit() else {
            return; // PostgreSQL: saves use the pool.
        };
        // 32 users created at once, then 8 racing edits of each from revision 1: exactly one
        // edit per user wins, and the row holds the winner's data at revision 2.
        let users: Vec<String> = (0..32).map(|i| format!("u{i}")).collect();
        let saved = |s: Save| gc.save(s, WriteTicket::new());
        let created = futures::future::join_all(users.iter().map(|u| saved(save(u, 0, "{}"))));
        assert!(created.await.into_iter().all(|r| r.unwrap()));
        let edits = users
            .iter()
            .flat_map(|u| (0..8).map(move |n| (u.clone(), format!("{{\"n\":{n}}}"))));
        let results = futures::future::join_all(
            edits.map(|(u, d)| async move { (u.clone(), d.clone(), saved(save(&u, 1, &d)).await) }),
        )
        .await;
        for user in &users {
            let wins: Vec<_> = results
                .iter()
                .filter(|(u, _, r)| u == user && *r.as_ref().unwrap())
                .collect();
            assert_eq!(wins.len(), 1, "{user}: one edit from revision 1 wins");
            assert_eq!(stored(&db, user).await, Some((2, wins[0].1.clone())));
        }
        // A second creation of an existing row and an edit of a missing row are conflicts that
        // write nothing.
        assert!(!saved(save("u0", 0, "{\"x\":1}")).await.unwrap());
        assert!(!saved(save("nobody", 3, "{}")).await.unwrap());
        assert_eq!(stored(&db, "nobody").await, None);
        assert_eq!(stored(&db, "u0").await.unwrap().0, 2);
    }

    fn pending(user: &str) -> Pending {
        Pending {
            save: save(user, 1, user),
            ticket: WriteTicket::new(),
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn a_batch_holds_one_save_per_row_in_arrival_order() {
        let mut waiting: VecDeque<Pending> =
            ["a", "b", "a", "c", "b"].into_iter().map(pending).collect();
        let batch: Vec<_> = take_batch(&mut waiting)
            .into_iter()
            .map(|p| (p.save.account_id, p.ticket.started()))
            .collect();
        assert_eq!(
            batch,
            [("a".into(), true), ("b".into(), true), ("c".into(), true)]
        );
        let rest: Vec<_> = waiting
            .iter()
            .map(|p| (p.save.account_id.clone(), p.ticket.started()))
            .collect();
        assert_eq!(
            rest,
            [("a".into(), false), ("b".into(), false)],
            "still waiting"
        );
    }

    #[tokio::test]
    async fn a_called_off_save_never_enters_a_batch() {
        let (called_off, answer) = oneshot::channel();
        let ticket = WriteTicket::new();
        let mut waiting = VecDeque::from([
            Pending {
                save: save("a", 1, "a"),
                ticket: ticket.clone(),
                reply: called_off,
            },
            pending("b"),
        ]);
        // What `settle` does when the caller's wait ends first.
        let settle_answer = crate::db::settle::settle(
            std::time::Duration::from_millis(1),
            ticket.clone(),
            std::future::pending::<Result<(), DbError>>(),
        )
        .await;
        assert!(matches!(settle_answer, Err(DbError::Unavailable)));
        let batch: Vec<_> = take_batch(&mut waiting)
            .into_iter()
            .map(|p| p.save.account_id)
            .collect();
        assert_eq!(batch, ["b"]);
        assert!(matches!(answer.await, Ok(Err(DbError::Unavailable))));
    }
}
