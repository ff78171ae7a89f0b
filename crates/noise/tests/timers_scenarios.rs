//! Timers under simulated time: table-driven scenarios asserting the exact moments each action fires.
//!
//! A small simulator feeds scripted events to a [`Timers`], polls it at every deadline and reacts to the actions
//! the way a tunnel would (sending an initiation arms its retransmission; a keepalive is "sent"; zeroing drops
//! the keypair), logging every action with its time in milliseconds.

use std::time::Duration;

use wgxdp_noise::timers::{KeypairInfo, SessionView, TimerAction, Timers};

const INIT: TimerAction = TimerAction::SendInitiation { is_retry: false };
const RETRY: TimerAction = TimerAction::SendInitiation { is_retry: true };
const KEEPALIVE: TimerAction = TimerAction::SendKeepalive;
const GIVE_UP: TimerAction = TimerAction::GiveUp;
const ZERO: TimerAction = TimerAction::ZeroKeys;

#[derive(Clone, Copy, Debug)]
enum Ev {
    /// We send a data packet (or stage it and ask for a handshake when there is no keypair).
    DataSent,
    DataReceived,
    KeepaliveReceived,
    HandshakeNeeded,
    /// The peer's response to our initiation arrives: we become the initiator of a fresh keypair.
    ResponseReceived,
    /// We answer the peer's initiation: we become the responder of a fresh keypair.
    RespondedToInitiation,
    /// Overwrite the current keypair's sending counter.
    SetCounter(u64),
    PersistentKeepalive(Option<u64>),
}

struct Case {
    name: &'static str,
    /// Jitter handed to every jittered event.
    jitter_ms: u64,
    /// The peer answers each initiation after this long; `None`: it never does.
    peer_answers_after_ms: Option<u64>,
    events: Vec<(u64, Ev)>,
    until_ms: u64,
    expected: Vec<(u64, TimerAction)>,
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

struct Sim {
    timers: Timers,
    view: SessionView,
    jitter: Duration,
    peer_answers_after: Option<Duration>,
    /// Scripted and reaction-scheduled events, kept sorted by time (stable for equal times).
    queue: Vec<(Duration, Ev)>,
    log: Vec<(u64, TimerAction)>,
}

impl Sim {
    fn schedule(&mut self, at: Duration, ev: Ev) {
        let pos = self.queue.partition_point(|(t, _)| *t <= at);
        self.queue.insert(pos, (at, ev));
    }

    fn new_keypair(&mut self, now: Duration, is_initiator: bool) {
        self.view = SessionView::with_current(KeypairInfo {
            birth: now,
            is_initiator,
            sending_counter: 0,
        });
    }

    fn apply(&mut self, now: Duration, ev: Ev) {
        match ev {
            Ev::DataSent => match self.view.current.as_mut() {
                Some(k) => {
                    k.sending_counter += 1;
                    self.timers.on_data_sent(now, self.jitter);
                }
                None => self.timers.on_handshake_needed(now),
            },
            Ev::DataReceived => self.timers.on_data_received(now),
            Ev::KeepaliveReceived => self.timers.on_keepalive_received(now),
            Ev::HandshakeNeeded => self.timers.on_handshake_needed(now),
            Ev::ResponseReceived => {
                self.timers.on_authenticated_packet_received(now);
                self.timers.on_session_derived(now);
                self.timers.on_handshake_complete(now);
                self.new_keypair(now, true);
            }
            Ev::RespondedToInitiation => {
                self.timers.on_authenticated_packet_received(now);
                self.timers.on_session_derived(now);
                self.timers.on_authenticated_packet_sent(now);
                self.new_keypair(now, false);
            }
            Ev::SetCounter(n) => {
                if let Some(k) = self.view.current.as_mut() {
                    k.sending_counter = n;
                }
            }
            Ev::PersistentKeepalive(secs) => self
                .timers
                .set_persistent_keepalive(now, secs.map(Duration::from_secs)),
        }
    }

    fn react(&mut self, now: Duration, action: TimerAction) {
        match action {
            TimerAction::SendInitiation { .. } => {
                self.timers.on_handshake_initiated(now, self.jitter);
                if let Some(rtt) = self.peer_answers_after {
                    self.schedule(now + rtt, Ev::ResponseReceived);
                }
            }
            TimerAction::SendKeepalive => match self.view.current {
                Some(_) => self.timers.on_keepalive_sent(now),
                None => self.timers.on_handshake_needed(now),
            },
            TimerAction::GiveUp => {}
            TimerAction::ZeroKeys => self.view = SessionView::NONE,
        }
    }

    fn run(case: &Case) -> Vec<(u64, TimerAction)> {
        let mut sim = Sim {
            timers: Timers::new(),
            view: SessionView::NONE,
            jitter: ms(case.jitter_ms),
            peer_answers_after: case.peer_answers_after_ms.map(ms),
            queue: Vec::new(),
            log: Vec::new(),
        };
        for &(at, ev) in &case.events {
            sim.schedule(ms(at), ev);
        }
        let until = ms(case.until_ms);
        for _ in 0..100_000 {
            let next_event = sim.queue.first().map(|(t, _)| *t);
            let Some(now) = [next_event, sim.timers.next_deadline()]
                .into_iter()
                .flatten()
                .min()
            else {
                break;
            };
            if now > until {
                break;
            }
            while sim.queue.first().is_some_and(|(t, _)| *t == now) {
                let (_, ev) = sim.queue.remove(0);
                sim.apply(now, ev);
            }
            // Poll until nothing more is due at this instant (reactions can record new checks for `now`).
            while sim.timers.next_deadline().is_some_and(|d| d <= now) {
                let view = sim.view;
                for action in sim.timers.poll(now, &view) {
                    sim.log.push((now.as_millis() as u64, action));
                    sim.react(now, action);
                }
            }
        }
        sim.log
    }
}

/// Initiations every `period_ms` from `first_ms` (the retries of one attempt), exclusive of `end_ms`.
fn retries(first_ms: u64, period_ms: u64, end_ms: u64) -> Vec<(u64, TimerAction)> {
    (first_ms..end_ms)
        .step_by(period_ms as usize)
        .map(|t| (t, RETRY))
        .collect()
}

/// Data in both directions once a second over `[from_s, to_s]`, so that no timer of its own fires.
fn steady_traffic(from_s: u64, to_s: u64) -> Vec<(u64, Ev)> {
    (from_s..=to_s)
        .flat_map(|s| [(s * 1000, Ev::DataSent), (s * 1000, Ev::DataReceived)])
        .collect()
}

fn with(mut first: Vec<(u64, Ev)>, rest: Vec<(u64, Ev)>) -> Vec<(u64, Ev)> {
    first.extend(rest);
    first
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "keepalive 10 s after receiving data with nothing sent",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![
                (0, Ev::ResponseReceived),
                (1_000, Ev::DataReceived),
                (3_000, Ev::DataReceived),
                (15_000, Ev::DataReceived),
            ],
            until_ms: 60_000,
            expected: vec![(11_000, KEEPALIVE), (25_000, KEEPALIVE)],
        },
        Case {
            name: "answering with data cancels the keepalive; unanswered data starts a handshake at 15 s",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![
                (0, Ev::ResponseReceived),
                (1_000, Ev::DataReceived),
                (5_000, Ev::DataSent),
                (9_000, Ev::DataSent),
            ],
            until_ms: 24_999,
            expected: vec![(20_000, INIT)],
        },
        Case {
            name: "the new-handshake timer carries jitter",
            jitter_ms: 200,
            peer_answers_after_ms: Some(30),
            events: vec![(0, Ev::ResponseReceived), (5_000, Ev::DataSent)],
            until_ms: 60_000,
            expected: vec![(20_200, INIT)],
        },
        Case {
            name: "any reply (even a keepalive) stops the new-handshake timer",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![
                (0, Ev::ResponseReceived),
                (1_000, Ev::DataSent),
                (8_000, Ev::KeepaliveReceived),
            ],
            until_ms: 60_000,
            expected: vec![],
        },
        Case {
            name: "retransmit every 5 s, give up at 90 s, zero keys 540 s later",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![(0, Ev::HandshakeNeeded)],
            until_ms: 1_000_000,
            expected: [vec![(0, INIT)], retries(5_000, 5_000, 90_000)]
                .concat()
                .into_iter()
                .chain([(90_000, GIVE_UP), (630_000, ZERO)])
                .collect(),
        },
        Case {
            name: "retransmit every 5.1 s with jitter, give up at the first retry due after 90 s",
            jitter_ms: 100,
            peer_answers_after_ms: None,
            events: vec![(0, Ev::HandshakeNeeded)],
            until_ms: 1_000_000,
            expected: [vec![(0, INIT)], retries(5_100, 5_100, 90_000)]
                .concat()
                .into_iter()
                .chain([(91_800, GIVE_UP), (631_800, ZERO)])
                .collect(),
        },
        Case {
            name: "initiations are rate limited, and a fresh request restarts the attempt period",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![(0, Ev::HandshakeNeeded), (2_000, Ev::HandshakeNeeded)],
            until_ms: 100_000,
            expected: [vec![(0, INIT)], retries(5_000, 5_000, 95_000)]
                .concat()
                .into_iter()
                .chain([(95_000, GIVE_UP)])
                .collect(),
        },
        Case {
            name: "a completed handshake stops the retransmissions",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![(0, Ev::HandshakeNeeded), (7_000, Ev::ResponseReceived)],
            until_ms: 200_000,
            expected: vec![(0, INIT), (5_000, RETRY)],
        },
        Case {
            name: "the initiator rekeys when sending at 120 s",
            jitter_ms: 0,
            peer_answers_after_ms: Some(50),
            events: with(vec![(0, Ev::ResponseReceived)], steady_traffic(1, 130)),
            until_ms: 130_500,
            expected: vec![(120_000, INIT)],
        },
        Case {
            name: "the responder does not rekey on age when sending",
            jitter_ms: 0,
            peer_answers_after_ms: Some(50),
            events: with(vec![(0, Ev::RespondedToInitiation)], steady_traffic(1, 170)),
            until_ms: 170_500,
            expected: vec![],
        },
        Case {
            name: "either side rekeys past REKEY_AFTER_MESSAGES",
            jitter_ms: 0,
            peer_answers_after_ms: Some(50),
            events: vec![
                (0, Ev::RespondedToInitiation),
                (1_000, Ev::SetCounter((1 << 60) - 1)),
                (1_000, Ev::DataSent),
                (2_000, Ev::DataSent),
            ],
            until_ms: 10_000,
            expected: vec![(2_000, INIT)],
        },
        Case {
            name: "the initiator rekeys once when receiving at 165 s",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: with(
                vec![(0, Ev::ResponseReceived)],
                (1..=19).map(|i| (i * 10_000, Ev::KeepaliveReceived)).collect(),
            ),
            until_ms: 190_000,
            // At 180 s a keepalive arrives again: still a retry, the last-minute handshake is requested once.
            expected: vec![
                (170_000, INIT),
                (175_000, RETRY),
                (180_000, RETRY),
                (185_000, RETRY),
                (190_000, RETRY),
            ],
        },
        Case {
            name: "the responder does not rekey on receive",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: with(
                vec![(0, Ev::RespondedToInitiation)],
                (1..=19).map(|i| (i * 10_000, Ev::KeepaliveReceived)).collect(),
            ),
            until_ms: 190_000,
            expected: vec![],
        },
        Case {
            name: "keys are zeroed 540 s after the last session was derived",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![(0, Ev::ResponseReceived)],
            until_ms: 2_000_000,
            expected: vec![(540_000, ZERO)],
        },
        Case {
            name: "a new session postpones zeroing",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![(0, Ev::ResponseReceived), (300_000, Ev::ResponseReceived)],
            until_ms: 2_000_000,
            expected: vec![(840_000, ZERO)],
        },
        Case {
            name: "persistent keepalive: at once when enabled, then every N s of silence",
            jitter_ms: 0,
            peer_answers_after_ms: None,
            events: vec![
                (0, Ev::ResponseReceived),
                (1_000, Ev::PersistentKeepalive(Some(25))),
                (30_000, Ev::KeepaliveReceived),
                (106_000, Ev::PersistentKeepalive(None)),
            ],
            until_ms: 300_000,
            expected: vec![
                (1_000, KEEPALIVE),
                (26_000, KEEPALIVE),
                (55_000, KEEPALIVE),
                (80_000, KEEPALIVE),
                (105_000, KEEPALIVE),
            ],
        },
    ]
}

#[test]
fn scenarios_fire_at_the_exact_moments() {
    let mut failures = Vec::new();
    for case in cases() {
        let got = Sim::run(&case);
        if got != case.expected {
            failures.push(format!(
                "{}:\n  expected {:?}\n  got      {:?}",
                case.name, case.expected, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn next_deadline_tracks_the_earliest_timer() {
    let mut t = Timers::new();
    assert_eq!(t.next_deadline(), None);
    t.on_session_derived(ms(0));
    assert_eq!(t.next_deadline(), Some(ms(540_000)));
    t.on_data_received(ms(1_000));
    // A receive records a freshness check due at once, besides the keepalive timer.
    assert_eq!(t.next_deadline(), Some(ms(1_000)));
    assert!(t.poll(ms(1_000), &SessionView::NONE).is_empty());
    assert_eq!(t.next_deadline(), Some(ms(11_000)));
    assert!(t.poll(ms(10_999), &SessionView::NONE).is_empty());
    let actions = t.poll(ms(11_000), &SessionView::NONE);
    assert_eq!(actions.iter().collect::<Vec<_>>(), vec![KEEPALIVE]);
    assert_eq!(t.next_deadline(), Some(ms(540_000)));
    t.stop();
    assert_eq!(t.next_deadline(), None);
}

#[test]
fn late_poll_fires_everything_overdue_in_order() {
    let mut t = Timers::new();
    t.on_session_derived(ms(0));
    t.on_handshake_initiated(ms(0), Duration::ZERO);
    t.on_data_received(ms(0));
    // Polling far too late: zeroing comes first, and the overdue retransmission has exceeded the attempt time.
    let actions: Vec<_> = t
        .poll(ms(600_000), &SessionView::NONE)
        .into_iter()
        .collect();
    assert_eq!(actions, vec![ZERO, GIVE_UP]);
}

#[test]
fn jitter_is_clamped_and_random_jitter_stays_in_range() {
    let mut t = Timers::new();
    t.on_handshake_initiated(ms(0), Duration::from_secs(10));
    assert_eq!(t.next_deadline(), Some(ms(5_333)));
    let mut rng = rand::rngs::mock::StepRng::new(0, 0x0123_4567_89ab_cdef);
    for _ in 0..1000 {
        let j = wgxdp_noise::timers::random_jitter(&mut rng);
        assert!(j < ms(333));
    }
}
