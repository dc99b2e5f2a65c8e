use super::*;

const D: &str = "dev-1";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn model() -> C2dQueues<String> {
    let mut m = C2dQueues::new(C2dConfig::default(), 7);
    m.add_device(D, "gen-1");
    m
}

fn msg(id: &str, ack: Ack) -> NewMessage<String> {
    NewMessage {
        message: format!("body of {id}"),
        message_id: id.to_owned(),
        ack,
        ttl: None,
    }
}

fn send(m: &mut C2dQueues<String>, id: &str, ack: Ack, now: Duration) -> u64 {
    m.enqueue(D, msg(id, ack), now)
        .map(|e| e.sequence_number)
        .unwrap_or_else(|e| panic!("enqueue {id}: {e}"))
}

fn recv(m: &mut C2dQueues<String>, now: Duration) -> Delivery<String> {
    match m.receive(D, now) {
        Ok(Some(d)) => d,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

fn outcomes(m: &C2dQueues<String>) -> Vec<(String, Outcome)> {
    m.history()
        .map(|h| (h.message_id.clone(), h.outcome))
        .collect()
}

fn statuses(m: &C2dQueues<String>) -> Vec<(String, FeedbackStatus)> {
    m.feedback()
        .map(|f| (f.original_message_id.clone(), f.status))
        .collect()
}

#[test]
fn sequence_numbers_are_per_device_and_increasing() {
    let mut m = model();
    m.add_device("other", "gen-2");
    assert_eq!(send(&mut m, "a", Ack::None, secs(0)), 1);
    assert_eq!(send(&mut m, "b", Ack::None, secs(1)), 2);
    let other = m
        .enqueue("other", msg("c", Ack::None), secs(2))
        .map(|e| e.sequence_number);
    assert_eq!(other, Ok(1));
    assert_eq!(send(&mut m, "d", Ack::None, secs(3)), 3);
    assert_eq!(m.pending(D), 3);
    assert_eq!(m.pending("other"), 1);
}

#[test]
fn receive_locks_oldest_visible_in_order() {
    let mut m = model();
    send(&mut m, "a", Ack::None, secs(0));
    send(&mut m, "b", Ack::None, secs(0));
    let first = recv(&mut m, secs(1));
    assert_eq!(first.message_id, "a");
    assert_eq!(first.message, "body of a");
    assert_eq!(first.delivery_count, 0);
    assert_eq!(first.lock_expires_at, secs(61));
    let second = recv(&mut m, secs(1));
    assert_eq!(second.message_id, "b");
    assert_ne!(first.lock_token, second.lock_token);
    assert!(matches!(m.receive(D, secs(1)), Ok(None)));
    let view = m.queue(D).unwrap_or_default();
    assert_eq!(view.len(), 2);
    assert!(view.iter().all(|q| q.state == MessageState::Locked));
    assert_eq!(view.first().and_then(|q| q.lock_expires_at), Some(secs(61)));
}

#[test]
fn queue_depth_is_limited_to_fifty() {
    let mut m = model();
    for i in 0..50 {
        send(&mut m, &format!("m{i}"), Ack::None, secs(0));
    }
    let err = m.enqueue(D, msg("m50", Ack::None), secs(0));
    assert_eq!(err, Err(C2dError::QueueFull { depth: 50 }));
    assert_eq!(C2dError::QueueFull { depth: 50 }.code(), 403004);
    // Locked messages still count: receiving does not free a slot.
    let d = recv(&mut m, secs(1));
    assert!(m.enqueue(D, msg("m50", Ack::None), secs(1)).is_err());
    // Completing does.
    assert_eq!(m.complete(D, &d.lock_token, secs(2)), Ok(()));
    assert_eq!(m.pending(D), 49);
    assert!(m.enqueue(D, msg("m50", Ack::None), secs(2)).is_ok());
    assert_eq!(m.pending(D), 50);
}

#[test]
fn complete_removes_and_gives_positive_feedback() {
    let mut m = model();
    send(&mut m, "pos", Ack::Positive, secs(0));
    send(&mut m, "full", Ack::Full, secs(0));
    send(&mut m, "neg", Ack::Negative, secs(0));
    send(&mut m, "none", Ack::None, secs(0));
    for t in 1..=4 {
        let d = recv(&mut m, secs(t));
        assert_eq!(m.complete(D, &d.lock_token, secs(t)), Ok(()));
    }
    assert_eq!(m.pending(D), 0);
    assert_eq!(
        statuses(&m),
        vec![
            ("pos".to_owned(), FeedbackStatus::Success),
            ("full".to_owned(), FeedbackStatus::Success),
        ]
    );
    let f = m.feedback().next().cloned();
    let f = f.unwrap_or_else(|| panic!("no feedback"));
    assert_eq!(f.device_id, D);
    assert_eq!(f.device_generation_id, "gen-1");
    assert_eq!(f.enqueued_at, secs(0));
    assert_eq!(f.at, secs(1));
    assert_eq!(f.status.description(), "Success");
    assert_eq!(outcomes(&m).len(), 4);
    assert!(outcomes(&m).iter().all(|(_, o)| *o == Outcome::Completed));
}

#[test]
fn settling_twice_loses_the_lock() {
    let mut m = model();
    send(&mut m, "a", Ack::None, secs(0));
    let d = recv(&mut m, secs(0));
    assert_eq!(m.complete(D, &d.lock_token, secs(1)), Ok(()));
    assert_eq!(
        m.complete(D, &d.lock_token, secs(1)),
        Err(C2dError::LockLost)
    );
    assert_eq!(m.reject(D, "nope", secs(1)), Err(C2dError::LockLost));
    assert_eq!(m.abandon(D, "nope", secs(1)), Err(C2dError::LockLost));
    assert_eq!(C2dError::LockLost.code(), 412002);
}

#[test]
fn lock_expiry_makes_message_visible_without_counting() {
    let mut m = model();
    send(&mut m, "a", Ack::Full, secs(0));
    let d = recv(&mut m, secs(10));
    // Still locked one instant before the lock ends.
    assert!(matches!(m.receive(D, secs(69)), Ok(None)));
    assert_eq!(m.next_deadline(), Some(secs(70)));
    m.tick(secs(70));
    let view = m.queue(D).unwrap_or_default();
    assert_eq!(view.first().map(|q| q.state), Some(MessageState::Enqueued));
    assert_eq!(view.first().map(|q| q.delivery_count), Some(0));
    // The old lock is gone.
    assert_eq!(
        m.complete(D, &d.lock_token, secs(70)),
        Err(C2dError::LockLost)
    );
    let again = recv(&mut m, secs(71));
    assert_eq!(again.message_id, "a");
    assert_eq!(again.delivery_count, 0);
    assert_ne!(again.lock_token, d.lock_token);
    assert_eq!(outcomes(&m), vec![("a".to_owned(), Outcome::LockExpired)]);
    assert!(statuses(&m).is_empty());
}

#[test]
fn lock_expiry_is_noticed_by_settlement_without_tick() {
    let mut m = model();
    send(&mut m, "a", Ack::None, secs(0));
    let d = recv(&mut m, secs(0));
    assert_eq!(
        m.complete(D, &d.lock_token, secs(60)),
        Err(C2dError::LockLost)
    );
    assert_eq!(m.pending(D), 1);
}

#[test]
fn abandon_counts_and_dead_letters_at_max() {
    let mut m = model();
    send(&mut m, "a", Ack::Negative, secs(0));
    for round in 1..=9u32 {
        let d = recv(&mut m, secs(u64::from(round)));
        assert_eq!(d.delivery_count, round - 1);
        assert_eq!(m.abandon(D, &d.lock_token, secs(u64::from(round))), Ok(()));
        let view = m.queue(D).unwrap_or_default();
        assert_eq!(view.first().map(|q| q.delivery_count), Some(round));
        assert_eq!(view.first().map(|q| q.state), Some(MessageState::Enqueued));
    }
    let d = recv(&mut m, secs(10));
    assert_eq!(d.delivery_count, 9);
    assert_eq!(m.abandon(D, &d.lock_token, secs(10)), Ok(()));
    assert_eq!(m.pending(D), 0);
    assert_eq!(
        statuses(&m),
        vec![("a".to_owned(), FeedbackStatus::DeliveryCountExceeded)]
    );
    let last = m.history().last().cloned();
    assert_eq!(
        last.map(|h| (h.outcome, h.delivery_count)),
        Some((Outcome::DeliveryCountExceeded, 10))
    );
    let abandoned = outcomes(&m)
        .iter()
        .filter(|(_, o)| *o == Outcome::Abandoned)
        .count();
    assert_eq!(abandoned, 9);
}

#[test]
fn max_delivery_count_is_configurable() {
    let cfg = C2dConfig {
        max_delivery_count: 1,
        ..C2dConfig::default()
    };
    let mut m = C2dQueues::new(cfg, 1);
    m.add_device(D, "g");
    send(&mut m, "a", Ack::Positive, secs(0));
    let d = recv(&mut m, secs(0));
    assert_eq!(m.abandon(D, &d.lock_token, secs(0)), Ok(()));
    assert_eq!(m.pending(D), 0);
    // Positive-only feedback says nothing about dead-lettering.
    assert!(statuses(&m).is_empty());
    assert_eq!(
        outcomes(&m),
        vec![("a".to_owned(), Outcome::DeliveryCountExceeded)]
    );
}

#[test]
fn reject_dead_letters_with_negative_feedback() {
    let mut m = model();
    send(&mut m, "neg", Ack::Negative, secs(0));
    send(&mut m, "pos", Ack::Positive, secs(0));
    let a = recv(&mut m, secs(1));
    let b = recv(&mut m, secs(1));
    assert_eq!(m.reject(D, &a.lock_token, secs(2)), Ok(()));
    assert_eq!(m.reject(D, &b.lock_token, secs(2)), Ok(()));
    assert_eq!(m.pending(D), 0);
    assert_eq!(
        statuses(&m),
        vec![("neg".to_owned(), FeedbackStatus::Rejected)]
    );
    assert_eq!(
        outcomes(&m),
        vec![
            ("neg".to_owned(), Outcome::Rejected),
            ("pos".to_owned(), Outcome::Rejected)
        ]
    );
}

#[test]
fn ttl_expiry_dead_letters_at_the_expiry_instant() {
    let mut m = model();
    let e = m.enqueue(
        D,
        NewMessage {
            ttl: Some(secs(30)),
            ..msg("short", Ack::Full)
        },
        secs(5),
    );
    assert_eq!(e.map(|e| e.expires_at), Ok(secs(35)));
    send(&mut m, "long", Ack::Full, secs(5));
    assert_eq!(m.next_deadline(), Some(secs(35)));
    m.tick(secs(34));
    assert_eq!(m.pending(D), 2);
    m.tick(secs(100));
    assert_eq!(m.pending(D), 1);
    let f = m.feedback().next().cloned();
    assert_eq!(
        f.map(|f| (f.original_message_id, f.status, f.at)),
        Some(("short".to_owned(), FeedbackStatus::Expired, secs(35)))
    );
    assert_eq!(FeedbackStatus::Expired.description(), "Message expired");
    // Default TTL is one hour.
    assert_eq!(m.next_deadline(), Some(secs(3605)));
}

#[test]
fn ttl_expiry_applies_to_locked_messages_and_frees_slots() {
    let cfg = C2dConfig {
        max_queue_depth: 1,
        ..C2dConfig::default()
    };
    let mut m = C2dQueues::new(cfg, 3);
    m.add_device(D, "g");
    m.enqueue(
        D,
        NewMessage {
            ttl: Some(secs(10)),
            ..msg("a", Ack::Negative)
        },
        secs(0),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let d = recv(&mut m, secs(1));
    assert!(m.enqueue(D, msg("b", Ack::None), secs(5)).is_err());
    // Expiry is applied lazily by the next operation: the slot is free again.
    assert!(m.enqueue(D, msg("b", Ack::None), secs(10)).is_ok());
    assert_eq!(
        m.complete(D, &d.lock_token, secs(10)),
        Err(C2dError::LockLost)
    );
    assert_eq!(
        statuses(&m),
        vec![("a".to_owned(), FeedbackStatus::Expired)]
    );
}

#[test]
fn ttl_is_capped() {
    let mut m = model();
    let e = m.enqueue(
        D,
        NewMessage {
            ttl: Some(secs(10 * 24 * 3600)),
            ..msg("a", Ack::None)
        },
        secs(0),
    );
    assert_eq!(e.map(|e| e.expires_at), Ok(secs(2 * 24 * 3600)));
}

#[test]
fn release_returns_message_without_counting() {
    let mut m = model();
    send(&mut m, "a", Ack::None, secs(0));
    send(&mut m, "b", Ack::None, secs(0));
    let a = recv(&mut m, secs(1));
    let b = recv(&mut m, secs(1));
    assert_eq!(m.release(D, &b.lock_token, secs(2)), Ok(()));
    assert_eq!(m.release(D, &a.lock_token, secs(2)), Ok(()));
    assert_eq!(
        m.release(D, &a.lock_token, secs(2)),
        Err(C2dError::LockLost)
    );
    // Redelivery keeps sequence order.
    let again = recv(&mut m, secs(3));
    assert_eq!((again.message_id.as_str(), again.delivery_count), ("a", 0));
    assert!(m.has_visible(D));
}

#[test]
fn next_deadline_tracks_locks_and_ttls() {
    let mut m = model();
    assert_eq!(m.next_deadline(), None);
    send(&mut m, "a", Ack::None, secs(0));
    assert_eq!(m.next_deadline(), Some(secs(3600)));
    let d = recv(&mut m, secs(100));
    assert_eq!(m.next_deadline(), Some(secs(160)));
    assert_eq!(m.complete(D, &d.lock_token, secs(101)), Ok(()));
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn unknown_device_is_reported() {
    let mut m = model();
    assert_eq!(
        m.enqueue("ghost", msg("a", Ack::None), secs(0))
            .map(|e| e.sequence_number),
        Err(C2dError::DeviceNotFound)
    );
    assert!(matches!(
        m.receive("ghost", secs(0)),
        Err(C2dError::DeviceNotFound)
    ));
    assert_eq!(
        m.complete("ghost", "t", secs(0)),
        Err(C2dError::DeviceNotFound)
    );
    assert_eq!(C2dError::DeviceNotFound.code(), 404001);
    assert!(m.queue("ghost").is_err());
    assert_eq!(m.pending("ghost"), 0);
}

#[test]
fn removing_a_device_purges_its_queue() {
    let mut m = model();
    send(&mut m, "a", Ack::Full, secs(0));
    send(&mut m, "b", Ack::Full, secs(0));
    assert_eq!(m.remove_device(D, secs(1)), 2);
    assert!(!m.has_device(D));
    assert_eq!(
        outcomes(&m),
        vec![
            ("a".to_owned(), Outcome::Purged),
            ("b".to_owned(), Outcome::Purged)
        ]
    );
    // Re-adding starts a fresh queue.
    m.add_device(D, "gen-2");
    assert_eq!(send(&mut m, "c", Ack::None, secs(2)), 1);
}

#[test]
fn lock_tokens_are_uuid_shaped_unique_and_seeded() {
    let tokens = |seed: u64| {
        let mut m = C2dQueues::new(C2dConfig::default(), seed);
        m.add_device(D, "g");
        let mut out = Vec::new();
        for i in 0..20 {
            send(&mut m, &format!("m{i}"), Ack::None, secs(0));
            out.push(recv(&mut m, secs(0)).lock_token);
        }
        out
    };
    let a = tokens(42);
    assert_eq!(a, tokens(42));
    assert_ne!(a, tokens(43));
    let mut sorted = a.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), a.len());
    for t in &a {
        let parts: Vec<&str> = t.split('-').collect();
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        assert_eq!(lens, vec![8, 4, 4, 4, 12], "{t}");
        assert!(t.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(parts.get(2).and_then(|p| p.chars().next()), Some('4'));
        assert!(matches!(
            parts.get(3).and_then(|p| p.chars().next()),
            Some('8' | '9' | 'a' | 'b')
        ));
    }
}

#[test]
fn history_is_bounded() {
    let cfg = C2dConfig {
        history_limit: 3,
        feedback_limit: 2,
        ..C2dConfig::default()
    };
    let mut m = C2dQueues::new(cfg, 9);
    m.add_device(D, "g");
    for i in 0..5 {
        send(&mut m, &format!("m{i}"), Ack::Full, secs(0));
        let d = recv(&mut m, secs(0));
        assert_eq!(m.complete(D, &d.lock_token, secs(0)), Ok(()));
    }
    let ids: Vec<String> = outcomes(&m).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, vec!["m2", "m3", "m4"]);
    assert_eq!(m.feedback().count(), 2);
}
