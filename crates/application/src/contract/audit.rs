//! The audit trail: appended on its own or with a unit of work, and read
//! newest first, by user and kind, in pages after a cursor.

use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

fn event(kind: AuditKind, user_id: Option<UserId>, secs: i64) -> AuditEvent {
    AuditEvent::new(
        kind,
        at(secs),
        user_id,
        &ClientInfo::new(Some("192.0.2.7".into()), Some("contract-agent")),
    )
    .with_detail(serde_json::json!({ "n": secs }))
}

fn query(user_id: Option<UserId>, kind: Option<AuditKind>, limit: u32) -> AuditQuery {
    AuditQuery {
        user_id,
        kind,
        before: None,
        limit,
    }
}

/// Events come back as written (client and detail included), newest
/// first, filtered by user and kind together, in pages: each page starts
/// after the `(at, id)` of the last event of the one before.
pub async fn audit_events_come_newest_first_filtered_and_paged<
    S: UserStore + AuditLog + AdminStore,
>(
    store: &S,
) {
    let ann = UserId::new();
    let written = [
        event(AuditKind::LoginFailed, None, 1),
        event(AuditKind::LoginSucceeded, Some(ann), 2),
        event(AuditKind::LoginFailed, Some(ann), 3),
        event(AuditKind::SessionRevoked, Some(ann), 4),
        // Two events in the same instant: the id orders them.
        event(AuditKind::LoginFailed, Some(ann), 5),
        event(AuditKind::LoginFailed, Some(ann), 5),
    ];
    for e in &written {
        store.record(e.clone()).await.unwrap();
    }
    let all = store.audit_events(query(None, None, 100)).await.unwrap();
    assert_eq!(all.len(), 6);
    let mut newest_first = written.to_vec();
    newest_first.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    assert_eq!(all, newest_first, "as written, newest first");

    let ann_failures = store
        .audit_events(query(Some(ann), Some(AuditKind::LoginFailed), 100))
        .await
        .unwrap();
    assert_eq!(ann_failures.len(), 3);
    assert!(
        ann_failures
            .iter()
            .all(|e| e.user_id == Some(ann) && e.kind == AuditKind::LoginFailed)
    );
    assert_eq!(
        store
            .audit_events(query(None, Some(AuditKind::LoginFailed), 100))
            .await
            .unwrap()
            .len(),
        4
    );

    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .audit_events(AuditQuery {
                before: cursor,
                ..query(None, None, 4)
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some((last.at, last.id));
        let full = page.len() == 4;
        paged.extend(page);
        if !full {
            break;
        }
    }
    assert_eq!(paged, newest_first, "pages join without gap or overlap");
}

/// An event recorded in a unit of work exists exactly when it commits.
pub async fn audit_events_commit_with_their_unit_of_work<
    S: AuditLog + AdminStore + Transactional,
>(
    store: &S,
) {
    let kept = event(AuditKind::TokenRefreshed, None, 1);
    let dropped = event(AuditKind::RefreshReuseDetected, None, 2);
    let mut tx = store.begin().await.unwrap();
    tx.record(dropped).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.record(kept.clone()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.audit_events(query(None, None, 10)).await.unwrap(),
        [kept]
    );
}
