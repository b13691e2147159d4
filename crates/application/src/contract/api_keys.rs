//! API keys: created under a limit of live keys, listed and revoked by
//! their owner only, and found with their owner by digest, recording the
//! use at most once per interval.

use futures_util::future::join_all;
use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

fn key(user_id: UserId, n: u8, created: i64, expires: Option<i64>) -> NewApiKey {
    NewApiKey {
        id: uuid::Uuid::now_v7(),
        user_id,
        name: format!("key {n}"),
        digest: digest(n),
        prefix: format!("gk_{n:09}"),
        created_at: at(created),
        expires_at: expires.map(at),
        audit: audit(AuditKind::ApiKeyCreated, user_id),
        notice: mail_to("keys@example.com", at(created)),
    }
}

/// A key is listed for its owner only, newest first, without its digest;
/// only the owner revokes it, once; a revoked or expired key is no longer
/// listed. Each creation queues its notice.
pub async fn keys_are_created_listed_and_revoked_by_their_owner<
    S: UserStore + ApiKeyStore + MailOutbox,
>(
    store: &S,
) {
    let owner = user(store, "owner@example.com").await;
    let other = user(store, "other@example.com").await;
    let first = key(owner, 1, 0, None);
    let view = store.create_api_key(first.clone(), 10).await.unwrap();
    assert_eq!(
        (view.id, view.name.as_str(), view.prefix.as_str()),
        (first.id, "key 1", "gk_000000001")
    );
    assert_eq!((view.created_at, view.expires_at), (at(0), None));
    assert!(view.last_used_at.is_none());
    let second = key(owner, 2, 5, Some(50));
    store.create_api_key(second.clone(), 10).await.unwrap();
    let ids = |keys: Vec<ApiKeyView>| keys.into_iter().map(|k| k.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.live_api_keys(owner, at(10)).await.unwrap()),
        [second.id, first.id],
        "newest first"
    );
    assert!(store.live_api_keys(other, at(10)).await.unwrap().is_empty());
    assert_eq!(
        ids(store.live_api_keys(owner, at(50)).await.unwrap()),
        [first.id],
        "an expired key is not live"
    );
    assert_eq!(pending(store).await.len(), 2, "one notice per key");

    let revoke = |user_id, key_id| {
        store.revoke_api_key(
            user_id,
            key_id,
            at(20),
            audit(AuditKind::ApiKeyRevoked, user_id),
        )
    };
    assert!(
        !revoke(other, first.id).await.unwrap(),
        "not the other's key"
    );
    assert!(!revoke(owner, uuid::Uuid::now_v7()).await.unwrap());
    assert_eq!(store.live_api_keys(owner, at(10)).await.unwrap().len(), 2);
    assert!(revoke(owner, first.id).await.unwrap());
    assert!(!revoke(owner, first.id).await.unwrap(), "already revoked");
    assert_eq!(
        ids(store.live_api_keys(owner, at(21)).await.unwrap()),
        [second.id]
    );
}

/// The limit counts the keys live when the new one is made: revoked and
/// expired keys free their place. A refused creation writes nothing.
pub async fn the_limit_counts_only_live_keys<S: UserStore + ApiKeyStore + MailOutbox>(store: &S) {
    let owner = user(store, "limit@example.com").await;
    let short = key(owner, 1, 0, Some(10));
    store.create_api_key(short, 2).await.unwrap();
    let kept = key(owner, 2, 1, None);
    store.create_api_key(kept.clone(), 2).await.unwrap();
    let refused = store.create_api_key(key(owner, 3, 2, None), 2).await;
    assert!(
        matches!(refused, Err(CreateApiKeyError::LimitReached)),
        "{refused:?}"
    );
    assert_eq!(pending(store).await.len(), 2, "no notice for a refused key");
    assert!(
        store
            .find_key_holder(&digest(3), at(3), at(3))
            .await
            .unwrap()
            .is_none(),
        "the refused key was not stored"
    );
    // Once the short key has expired, its place is free.
    store
        .create_api_key(key(owner, 4, 10, None), 2)
        .await
        .unwrap();
    assert!(matches!(
        store.create_api_key(key(owner, 5, 11, None), 2).await,
        Err(CreateApiKeyError::LimitReached)
    ));
    store
        .revoke_api_key(
            owner,
            kept.id,
            at(12),
            audit(AuditKind::ApiKeyRevoked, owner),
        )
        .await
        .unwrap();
    store
        .create_api_key(key(owner, 6, 13, None), 2)
        .await
        .unwrap();
}

/// A live key's digest finds the key and its owner in one lookup, which
/// records the use only when the last one recorded is older than the
/// given instant; revoked, expired and unknown keys find nothing.
pub async fn a_key_finds_its_holder_and_records_use_sparingly<S: UserStore + ApiKeyStore>(
    store: &S,
) {
    let owner = user(store, "holder@example.com").await;
    let made = key(owner, 7, 0, Some(500));
    store.create_api_key(made.clone(), 10).await.unwrap();
    let holder = store
        .find_key_holder(&digest(7), at(10), at(-50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((holder.key_id, holder.user.id), (made.id, owner));
    assert_eq!(holder.expires_at, Some(at(500)));
    assert_eq!(holder.user.email.as_str(), "holder@example.com");
    let last_used = || async { store.live_api_keys(owner, at(0)).await.unwrap()[0].last_used_at };
    assert_eq!(last_used().await, Some(at(10)));
    store
        .find_key_holder(&digest(7), at(20), at(-40))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        last_used().await,
        Some(at(10)),
        "recorded recently: the use stays as it was"
    );
    store
        .find_key_holder(&digest(7), at(100), at(40))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last_used().await, Some(at(100)));

    assert!(
        store
            .find_key_holder(&digest(7), at(500), at(500))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        store
            .find_key_holder(&digest(8), at(10), at(10))
            .await
            .unwrap()
            .is_none(),
        "unknown"
    );
    store
        .revoke_api_key(
            owner,
            made.id,
            at(200),
            audit(AuditKind::ApiKeyRevoked, owner),
        )
        .await
        .unwrap();
    assert!(
        store
            .find_key_holder(&digest(7), at(201), at(201))
            .await
            .unwrap()
            .is_none(),
        "revoked"
    );
}

/// Creations started at once are counted one after the other: exactly as
/// many pass as the limit leaves room for.
pub async fn concurrent_creations_stop_at_the_limit<S: UserStore + ApiKeyStore>(store: &S) {
    let owner = user(store, "keys@example.com").await;
    for n in 0..5 {
        store
            .create_api_key(key(owner, n, 0, None), 10)
            .await
            .unwrap();
    }
    let results =
        join_all((5..5 + RACERS).map(|n| store.create_api_key(key(owner, n, 1, None), 10))).await;
    let created = results
        .iter()
        .filter(|r| match r {
            Ok(_) => true,
            Err(CreateApiKeyError::LimitReached) => false,
            Err(other) => panic!("{other:?}"),
        })
        .count();
    assert_eq!(created, 5);
    assert_eq!(store.live_api_keys(owner, at(2)).await.unwrap().len(), 10);
}
