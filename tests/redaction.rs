//! Redaction, proven on the real path. A generator makes canary values of
//! 16 kinds of personal data (1 024 values), each in the sentence frames
//! technicians use; they go socket → daemon → outbox → mosquitto → `slmd
//! gateway` → an OpenAI-compatible LLM stand-in, and none of them may show
//! up in the LLM's input, in any MQTT message (a `#` subscriber), in the
//! outbox's escalation payloads, or in the daemon's and the gateway's logs
//! at `RUST_LOG=trace`. The technical tokens in the same messages (asset
//! tags, readings, fault codes, a plant IP in a configured technical
//! network, procedure ids) must reach the LLM intact.
//!
//! The false-positive side: technical lines (real work orders, the
//! hand-written sets, the template test split, the knowledge base and
//! generated lines dense in numbers) must keep every technical token.

mod common;

use common::{llm_server_opts, Gateway, Mosquitto};
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use slmd::api::client::Client;
use slmd::api::proto::{EscalationState, Response};
use slmd::redact::{RedactConfig, Redactor};
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

const FIRST: &[&str] = &[
    "Priya",
    "Tomasz",
    "Aiyana",
    "Oluwaseun",
    "Mei",
    "Sven",
    "Fatima",
    "Joaquín",
    "Aoife",
    "Dmitri",
    "Nkechi",
    "Hamish",
    "Leilani",
    "Ravi",
    "Ingrid",
    "Kwame",
    "Siobhan",
    "Matteo",
    "Yusuf",
    "Camille",
    "Bartholomew",
    "Zofia",
    "Thandiwe",
    "Lorenzo",
    "Haruto",
    "Esperanza",
    "Callum",
    "Anneliese",
    "Tariq",
    "Marisol",
    "Eero",
    "Odalys",
];
const LAST: &[&str] = &[
    "Okonkwo",
    "Lindqvist",
    "Nakamura",
    "Vasquez",
    "Fitzgerald",
    "Raman",
    "Kowalczyk",
    "Abernathy",
    "Oyelaran",
    "Castellanos",
    "Haugland",
    "Mbeki",
    "Szymanski",
    "Delacroix",
    "Rautenbach",
    "Quisumbing",
    "Thorvaldsen",
    "Achterberg",
    "Ferreira",
    "Balasubramanian",
    "Oduya",
    "Montgomery",
    "Wojcik",
    "Iannucci",
    "Kristiansen",
    "Bertolucci",
    "Olufemi",
    "Grünewald",
    "Marchetti",
    "Yamaguchi",
    "Novakovic",
    "Pemberton",
];
const STREETS: &[&str] = &[
    "Juniper",
    "Alderney",
    "Wexford",
    "Marlowe",
    "Sycamore",
    "Kingsbury",
    "Hawthorne",
    "Belvedere",
    "Ashcombe",
    "Fenwick",
    "Larkspur",
    "Pendleton",
    "Rosebank",
    "Thornbury",
    "Whitcombe",
    "Ellesmere",
];
const EU_STREETS: &[&str] = &[
    "Linden",
    "Birken",
    "Goethe",
    "Schiller",
    "Kastanien",
    "Molen",
    "Kerk",
    "Beuken",
    "Eiken",
    "Ahorn",
    "Mozart",
    "Tulpen",
];
const FR_STREETS: &[&str] = &[
    "de la Paix",
    "des Lilas",
    "du Moulin",
    "Lafayette",
    "de la Gare",
    "des Écoles",
    "Voltaire",
];
const SOUTH_STREETS: &[&str] = &[
    "Mayor",
    "Alcalá",
    "Serrano",
    "Roma",
    "Garibaldi",
    "Augusta",
    "Mazzini",
    "Cavour",
];

/// One kind of personal data: how to make a value and the frames it goes in.
struct Kind {
    name: &'static str,
    make: fn(&mut Rng) -> String,
    frames: &'static [&'static str],
}

fn iban_check(country: &str, bban: &str) -> String {
    let moved = format!("{bban}{country}00");
    let mut rem: u32 = 0;
    for c in moved.chars() {
        let v = if c.is_ascii_digit() {
            c.to_digit(10).unwrap()
        } else {
            c.to_ascii_uppercase() as u32 - 'A' as u32 + 10
        };
        for d in v.to_string().chars() {
            rem = (rem * 10 + d.to_digit(10).unwrap()) % 97;
        }
    }
    format!("{:02}", 98 - rem)
}

fn grouped4(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

fn luhn_complete(body: &str) -> String {
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = *d;
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn full_name(r: &mut Rng) -> String {
    format!("{} {}", r.pick(FIRST), r.pick(LAST))
}

const KINDS: &[Kind] = &[
    Kind {
        name: "email",
        make: |r| {
            format!(
                "{}.{}{}@{}",
                r.pick(FIRST).to_lowercase().replace('í', "i"),
                r.pick(LAST).to_lowercase().replace('ü', "ue"),
                r.digits(2),
                r.pick(&["example.com", "plant-ops.example.org", "mail.example.net"])
            )
        },
        frames: &[
            "email me at {v}",
            "send the report to {v}",
            "cc {v} on the ticket",
        ],
    },
    Kind {
        name: "phone-international",
        make: |r| match r.below(4) {
            0 => format!("+44 7700 900{}", r.digits(3)),
            1 => format!("+49 151 {}", r.digits(8)),
            2 => format!(
                "+33 6 {} {} {} {}",
                r.digits(2),
                r.digits(2),
                r.digits(2),
                r.digits(2)
            ),
            _ => format!("+1 (415) 555-{}", r.digits(4)),
        },
        frames: &[
            "call me on {v}",
            "my mobile is {v}",
            "the contractor is on {v} if I'm not around",
        ],
    },
    Kind {
        name: "phone-national",
        make: |r| match r.below(4) {
            0 => format!("020 7946 0{}", r.digits(3)),
            1 => format!("030 {}", 2_000_000 + r.below(7_000_000)),
            2 => format!(
                "06 {} {} {} {}",
                r.digits(2),
                r.digits(2),
                r.digits(2),
                r.digits(2)
            ),
            _ => format!("(212) 555-0{}", r.digits(3)),
        },
        frames: &[
            "office number {v}",
            "ring the site office on {v}",
            "{v} is the gatehouse line",
        ],
    },
    Kind {
        name: "phone-local",
        make: |r| match r.below(2) {
            0 => format!("555-01{}", r.digits(2)),
            _ => format!("{}{}-{}", 2 + r.below(8), r.digits(2), r.digits(4)),
        },
        frames: &[
            "call me on {v}",
            "my number is {v}",
            "ring {v} after six",
            "text {v} when you get here",
        ],
    },
    Kind {
        name: "us-ssn",
        make: |r| {
            format!(
                "{:03}-{:02}-{:04}",
                1 + r.below(665),
                1 + r.below(99),
                1 + r.below(9999)
            )
        },
        frames: &[
            "his SSN is {v}",
            "SSN {v} is on the visitor form",
            "the contractor's form shows {v} in the id box",
        ],
    },
    Kind {
        name: "uk-nino",
        make: |r| {
            let first = "ABCEGHJKLMNOPRSTWXYZ";
            let second = "ABCEGHJKLMNPRSTWXYZ";
            let a = first.as_bytes()[r.below(first.len() as u64) as usize] as char;
            let b = second.as_bytes()[r.below(second.len() as u64) as usize] as char;
            let pair = format!("{a}{b}");
            let pair = if ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"].contains(&pair.as_str()) {
                "AB".to_string()
            } else {
                pair
            };
            format!(
                "{pair} {} {} {} {}",
                r.digits(2),
                r.digits(2),
                r.digits(2),
                r.pick(&["A", "B", "C", "D"])
            )
        },
        frames: &[
            "NI number {v}",
            "national insurance {v} for the timesheet",
            "{v} is on the induction sheet",
        ],
    },
    Kind {
        name: "iban",
        make: |r| match r.below(3) {
            0 => {
                let bban = r.digits(18);
                grouped4(&format!("DE{}{bban}", iban_check("DE", &bban)))
            }
            1 => {
                let bban = format!("WEST{}", r.digits(14));
                grouped4(&format!("GB{}{bban}", iban_check("GB", &bban)))
            }
            _ => {
                let bban = format!("ABNA{}", r.digits(10));
                format!("NL{}{bban}", iban_check("NL", &bban))
            }
        },
        frames: &[
            "refund the call-out fee to {v}",
            "IBAN {v}",
            "pay the invoice into {v}",
        ],
    },
    Kind {
        name: "card",
        make: |r| {
            let body = if r.below(2) == 0 {
                format!("4{}", r.digits(14))
            } else {
                format!("5{}{}", 1 + r.below(5), r.digits(13))
            };
            let n = luhn_complete(&body);
            if r.below(2) == 0 {
                grouped4(&n)
            } else {
                n
            }
        },
        frames: &[
            "charge it to card {v}",
            "the customer paid with {v}",
            "card number {v} exp 09/28",
        ],
    },
    Kind {
        name: "address-english",
        make: |r| {
            format!(
                "{} {} {}",
                1 + r.below(2400),
                r.pick(STREETS),
                r.pick(&["Street", "Road", "Avenue", "Lane", "St", "Rd"])
            )
        },
        frames: &[
            "the site is {v}",
            "leak reported at {v}",
            "send the van to {v}",
        ],
    },
    Kind {
        name: "address-european",
        make: |r| match r.below(5) {
            0 => format!("{}straße {}", r.pick(EU_STREETS), 1 + r.below(180)),
            1 => format!("{}straat {}", r.pick(EU_STREETS), 1 + r.below(180)),
            2 => format!("{} rue {}", 1 + r.below(180), r.pick(FR_STREETS)),
            3 => format!("Calle {} {}", r.pick(SOUTH_STREETS), 1 + r.below(180)),
            _ => format!("Via {} {}", r.pick(SOUTH_STREETS), 1 + r.below(180)),
        },
        frames: &[
            "the site is {v}",
            "leak reported at {v}",
            "send the van to {v}",
        ],
    },
    Kind {
        name: "name-after-cue",
        make: full_name,
        frames: &[
            "my name is {v}",
            "ask {v} to call me back",
            "reported by {v} on nights",
            "regards, {v}",
            "site contact is {v}",
        ],
    },
    Kind {
        name: "name-from-roster",
        make: |r| format!("{} {}", r.pick(FIRST), r.pick(LAST)),
        frames: &[
            "{v} on nights says it tripped twice",
            "{v} has the key to the plant room",
            "let {v} know the part has arrived",
        ],
    },
    Kind {
        name: "badge",
        make: |r| match r.below(2) {
            0 => format!("badge {}", 100_000 + r.below(900_000)),
            _ => format!("EMP-{}", 100_000 + r.below(900_000)),
        },
        frames: &["signed in with {v}", "permit issued to {v}"],
    },
    Kind {
        name: "date-of-birth",
        make: |r| match r.below(2) {
            0 => format!(
                "DOB {:02}/{:02}/{}",
                1 + r.below(28),
                1 + r.below(12),
                1950 + r.below(55)
            ),
            _ => format!(
                "born on {} {} {}",
                1 + r.below(28),
                r.pick(&["March", "April", "June", "October", "November"]),
                1950 + r.below(55)
            ),
        },
        frames: &["visitor {v}", "the contractor form says {v}"],
    },
    Kind {
        name: "id-document",
        make: |r| match r.below(3) {
            0 => format!("passport no {}{}", r.pick(&["X", "K", "P"]), r.digits(8)),
            1 => {
                let n = 10_000_000 + r.below(89_999_999);
                let letter = "TRWAGMYFPDXBNJZSQVHLCKE".as_bytes()[(n % 23) as usize] as char;
                format!("DNI {n}{letter}")
            }
            _ => format!("BSN {}", 100_000_000 + r.below(899_999_999)),
        },
        frames: &["contractor {v} at the gate", "id checked: {v}"],
    },
    Kind {
        name: "public-ip",
        make: |r| {
            format!(
                "{}.{}.{}.{}",
                11 + r.below(80),
                r.below(256),
                r.below(256),
                1 + r.below(254)
            )
        },
        frames: &["my home router is {v}", "I connected from {v} last night"],
    },
];

/// A canary: its kind and value, and the parts of it that must never
/// leave the device (the value itself, and for names and streets their
/// distinctive words).
struct Canary {
    kind: &'static str,
    value: String,
    secrets: Vec<String>,
}

/// Values of every kind, `per_kind` of each, all distinct.
fn canaries(per_kind: usize, seed: u64) -> Vec<(Canary, &'static str)> {
    let mut r = Rng(seed);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for kind in KINDS {
        let mut made = 0;
        while made < per_kind {
            let value = (kind.make)(&mut r);
            if !seen.insert(value.clone()) {
                continue;
            }
            let frame = kind.frames[made % kind.frames.len()];
            let mut secrets = vec![value.clone()];
            if kind.name.starts_with("name") {
                secrets.push(value.split_whitespace().last().unwrap().to_string());
            }
            // A cue and its number (`badge 123456`) stay whole: six digits
            // alone also turn up in a log's timestamps.
            for cue in ["DOB ", "born on ", "passport no ", "DNI "] {
                if let Some(v) = value.strip_prefix(cue) {
                    secrets = vec![v.to_string()];
                }
            }
            out.push((
                Canary {
                    kind: kind.name,
                    value,
                    secrets,
                },
                frame,
            ));
            made += 1;
        }
    }
    // Interleave kinds across messages.
    let n = out.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, r.below(i as u64 + 1) as usize);
    }
    let mut slots: Vec<Option<(Canary, &'static str)>> = out.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().unwrap())
        .collect()
}

/// Messages of `per_message` framed canaries each, with a technical
/// opening that must survive: (text, canaries, technical tokens).
fn messages(per_message: usize) -> Vec<(String, Vec<Canary>, Vec<String>)> {
    let all = canaries(64, 0x51AD_C0DE);
    let mut out = Vec::new();
    let mut it = all.into_iter().peekable();
    let mut k = 0;
    while it.peek().is_some() {
        k += 1;
        let tags = vec![
            format!("AHU-{k}"),
            format!("4.{} bar", k % 10),
            format!("10.20.{}.{}", k % 250, 1 + k % 200),
            format!("F-{:02}", k % 90),
        ];
        let mut text = format!(
            "{} supply fan faulted with {} at {}; controller {} not answering, ",
            tags[0], tags[3], tags[1], tags[2]
        );
        let mut cs = Vec::new();
        for _ in 0..per_message {
            let Some((c, frame)) = it.next() else { break };
            text.push_str(&frame.replace("{v}", &c.value));
            text.push_str(". ");
            cs.push(c);
        }
        out.push((text, cs, tags));
    }
    out
}

/// Everything published on the broker, from a `#` subscriber.
async fn sniffer(url: &str) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut opts = MqttOptions::new("canary-sniffer", "127.0.0.1", port);
    opts.set_max_packet_size(Some(4 * 1024 * 1024));
    let (client, mut ev) = AsyncClient::new(opts, 64);
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::new(Mutex::new(Vec::new()));
    let g2 = got.clone();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let mut bytes = p.topic.to_vec();
                    bytes.push(b' ');
                    bytes.extend_from_slice(&p.payload);
                    g2.lock().unwrap().push(bytes);
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    client.subscribe("#", QoS::AtLeastOnce).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), ready_rx)
        .await
        .expect("the sniffer subscribed")
        .unwrap();
    std::mem::forget(client);
    got
}

/// Finds every secret of a set of canaries in one pass.
struct Finder {
    re: regex::Regex,
    owner: std::collections::HashMap<String, (&'static str, String)>,
}

impl Finder {
    fn new(all: &[&Canary]) -> Finder {
        let mut owner = std::collections::HashMap::new();
        let mut secrets: Vec<&str> = Vec::new();
        for c in all {
            for s in &c.secrets {
                owner.insert(s.clone(), (c.kind, c.value.clone()));
                secrets.push(s);
            }
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let alternation: Vec<String> = secrets.iter().map(|s| regex::escape(s)).collect();
        let re = regex::RegexBuilder::new(&alternation.join("|"))
            .size_limit(64 << 20)
            .build()
            .unwrap();
        Finder { re, owner }
    }

    /// Where any secret occurs in `hay` (named `what`).
    fn leaks(&self, what: &str, hay: &[u8]) -> Vec<String> {
        let hay = String::from_utf8_lossy(hay);
        self.re
            .find_iter(&hay)
            .map(|m| {
                let (kind, value) = &self.owner[m.as_str()];
                format!("{kind} {:?} ({value}) in {what}", m.as_str())
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_canaries_of_sixteen_kinds_never_leave_the_device() {
    let t0 = std::time::Instant::now();
    let phase = |what: &str| eprintln!("canaries: {what} at {:.1} s", t0.elapsed().as_secs_f64());
    let msgs = messages(8);
    let all: Vec<&Canary> = msgs.iter().flat_map(|(_, cs, _)| cs.iter()).collect();
    let kinds: HashSet<&str> = all.iter().map(|c| c.kind).collect();
    let finder = Finder::new(&all);
    assert!(all.len() >= 1000, "{} canaries", all.len());
    assert!(kinds.len() >= 12, "{} kinds", kinds.len());

    let roster: Vec<String> = all
        .iter()
        .filter(|c| c.kind == "name-from-roster")
        .map(|c| c.value.clone())
        .collect();
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = conf_dir.path().join("slmd.toml");
    std::fs::write(
        &conf,
        format!(
            "[policy]\nin_scope_min = 1.0\n\n[escalation]\nmax_per_hour = 10000\nanswer_timeout_s = 5\n\n\
             [outbox]\nmax_bytes = 16777216\n\n\
             [redact]\nnames = {}\ntechnical_networks = [\"10.20.0.0/16\"]\n",
            serde_json::to_string(&roster).unwrap()
        ),
    )
    .unwrap();
    let logs = tempfile::tempdir().unwrap();
    let daemon_log = logs.path().join("daemon.log");
    let gateway_log = logs.path().join("gateway.log");

    // Offline first: every escalation waits in the outbox.
    let mut broker = Mosquitto::new();
    let url = broker.url();
    let args = [
        "--broker",
        url.as_str(),
        "--device-id",
        "canary-1",
        "--config",
        conf.to_str().unwrap(),
    ];
    let state = tempfile::tempdir().unwrap();
    let sock = state.path().join("d.sock");
    let daemon = common::Daemon::spawn_logged(state, sock, &args, "trace", Some(&daemon_log));
    let mut c = Client::connect(daemon.sock(), "canary", Duration::from_secs(120))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (i, (text, _, _)) in msgs.iter().enumerate() {
        match c.query(&format!("c{i}"), text, false).await.unwrap() {
            Response::Decision(d) => assert_ne!(d.route.as_str(), "local", "{text}"),
            other => panic!("unexpected {other:?}"),
        }
        ids.push(
            c.last_escalation()
                .expect("escalated")
                .escalation
                .to_string(),
        );
    }
    drop(c);
    phase("all queued offline");

    // The outbox's escalation payloads, read from the file the daemon left.
    let (state, sock) = daemon.kill();
    let outbox_path = state
        .path()
        .join("state")
        .join(slmd::escalations::OUTBOX_FILE);
    {
        let outbox = slmd::outbox::Outbox::open(&outbox_path, Default::default()).unwrap();
        let records = outbox.pending(0, 100_000).unwrap();
        assert_eq!(records.len(), msgs.len(), "every escalation is queued");
        for r in &records {
            let found = finder.leaks("the outbox payload", &r.payload);
            assert!(found.is_empty(), "{found:#?}");
        }
    }

    // Online: broker, a `#` subscriber, a gateway, the daemon again.
    broker.start();
    let mqtt = sniffer(&url).await;
    let (llm_port, bodies) =
        llm_server_opts(Arc::new(AtomicBool::new(false)), Duration::from_millis(0)).await;
    let gw = Gateway::spawn_logged(&url, llm_port, "gw-canary", "trace", Some(&gateway_log));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let daemon = common::Daemon::spawn_logged(state, sock, &args, "trace", Some(&daemon_log));
    phase("online");
    for id in &ids {
        common::wait_for_escalation(
            daemon.sock(),
            id,
            EscalationState::Answered,
            Duration::from_secs(180),
        )
        .await;
    }
    phase("all answered");
    drop(gw);
    drop(daemon);

    let bodies = bodies.lock().unwrap().clone();
    assert!(bodies.len() >= msgs.len(), "{} LLM calls", bodies.len());
    let mut found = Vec::new();
    for b in &bodies {
        found.extend(finder.leaks("the LLM's input", b.as_bytes()));
    }
    for m in mqtt.lock().unwrap().iter() {
        found.extend(finder.leaks("an MQTT message", m));
    }
    for (what, path) in [
        ("the daemon's log", &daemon_log),
        ("the gateway's log", &gateway_log),
    ] {
        let log = std::fs::read(path).unwrap();
        assert!(!log.is_empty(), "{what} is empty");
        eprintln!("canaries: {what}: {} bytes", log.len());
        // Nothing spells the text out a character at a time either.
        let spelled = String::from_utf8_lossy(&log)
            .lines()
            .filter(|l| l.contains("tokenizers::"))
            .count();
        assert_eq!(spelled, 0, "{what} has tokenizer traces");
        found.extend(finder.leaks(what, &log));
    }
    found.sort();
    found.dedup();
    assert!(
        found.is_empty(),
        "{} of {} canaries leaked:\n{}",
        found.len(),
        all.len(),
        found.join("\n")
    );

    // The technical tokens reached the LLM intact.
    let joined = bodies.join("\n");
    for (_, _, tags) in &msgs {
        for t in tags {
            assert!(joined.contains(t.as_str()), "{t:?} did not reach the LLM");
        }
    }
}

/// Technical lines, each with its technical tokens: tokens holding a digit
/// (tags, codes, readings, dates, part numbers, registers, versions).
fn technical_tokens(line: &str) -> Vec<String> {
    line.split_whitespace()
        .map(|t| t.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '"' | '.' | ':')))
        .filter(|t| t.bytes().any(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// Generated lines dense in numbers that look like personal data and are
/// not: part numbers, ranges, registers, dates, counters, codes.
fn generated_technical_lines(n: usize) -> Vec<String> {
    let mut r = Rng(0x7EC4);
    let frames: &[fn(&mut Rng) -> String] = &[
        |r| {
            format!(
                "fit filter {}-{} and seal kit {}-{}",
                r.below(900) + 100,
                r.digits(4),
                r.below(900) + 100,
                r.digits(4)
            )
        },
        |r| {
            format!(
                "P-{} discharge {}.{} bar, suction {}.{} bar at {} rpm",
                r.below(400),
                r.below(9),
                r.digits(1),
                r.below(3),
                r.digits(1),
                900 + r.below(2100)
            )
        },
        |r| {
            format!(
                "Modbus regs {}-{} read 0x{:04X} 0x{:04X}",
                40001 + r.below(100),
                40101 + r.below(100),
                r.below(65536),
                r.below(65536)
            )
        },
        |r| {
            format!(
                "logged {}-{:02}-{:02} {:02}:{:02}, counter {} starts",
                2020 + r.below(6),
                1 + r.below(12),
                1 + r.below(28),
                r.below(24),
                r.below(60),
                r.below(100000)
            )
        },
        |r| {
            format!(
                "range {}-{} rpm, setpoint {} kPa, 4-20 mA on AI{}",
                100 * (1 + r.below(9)),
                1000 + 100 * r.below(20),
                r.below(900),
                r.below(16)
            )
        },
        |r| {
            format!(
                "VFD-{} fault F{:04} after {} h, firmware v{}.{}.{}",
                r.below(40),
                r.below(9999),
                r.below(60000),
                r.below(5),
                r.below(20),
                r.below(100)
            )
        },
        |r| {
            format!(
                "readings {} {} {} {} at {:02}:{:02}",
                100 + r.below(50),
                100 + r.below(50),
                100 + r.below(50),
                100 + r.below(50),
                r.below(24),
                r.below(60)
            )
        },
        |r| {
            format!(
                "WO {} for AHU-{}: replace belt {}-{}",
                4_000_000 + r.below(999_999),
                r.below(30),
                r.below(90) + 10,
                r.digits(4)
            )
        },
        |r| {
            format!(
                "PLC at 10.20.{}.{} lost IO rack {} slot {}",
                r.below(250),
                1 + r.below(250),
                r.below(8),
                r.below(16)
            )
        },
        |r| {
            format!(
                "see PUMP-00{} step {}, torque {} Nm, gap {}.{} mm",
                1 + r.below(9),
                1 + r.below(8),
                20 + r.below(300),
                r.below(3),
                r.digits(2)
            )
        },
        |r| {
            format!(
                "CH-{} suction {}.{} C, discharge {} psi, EEV {} %",
                r.below(9),
                r.below(9),
                r.digits(1),
                100 + r.below(250),
                r.below(100)
            )
        },
        |r| {
            format!(
                "breaker Q{} tripped at {} A on {} V feeder {}",
                r.below(40),
                r.below(630),
                [230, 400, 480, 690][r.below(4) as usize],
                r.below(99)
            )
        },
    ];
    (0..n).map(|i| frames[i % frames.len()](&mut r)).collect()
}

#[test]
fn technical_lines_keep_their_technical_tokens() {
    let cfg = RedactConfig {
        technical_networks: vec!["10.20.0.0/16".into()],
        ..RedactConfig::default()
    };
    let r = Redactor::new(&cfg).unwrap();
    let root = common::root();
    let mut sets: Vec<(&str, Vec<String>)> = Vec::new();
    let mut real = Vec::new();
    for f in [
        "maintnorm_real",
        "in_scope",
        "near_scope",
        "hazard_a",
        "hazard_b",
    ] {
        let s =
            std::fs::read_to_string(root.join(format!("tests/fixtures/sets/{f}.jsonl"))).unwrap();
        for l in s.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            real.push(v["text"].as_str().unwrap().to_string());
        }
    }
    sets.push(("real and hand-written sets", real));
    let s = std::fs::read_to_string(root.join("models/data/test.jsonl")).unwrap();
    sets.push((
        "template test split",
        s.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect(),
    ));
    let mut kb = Vec::new();
    for e in std::fs::read_dir(root.join("kb/procedures")).unwrap() {
        let s = std::fs::read_to_string(e.unwrap().path()).unwrap();
        kb.extend(s.lines().filter(|l| l.len() > 20).map(str::to_string));
    }
    sets.push(("knowledge base lines", kb));
    sets.push(("generated dense lines", generated_technical_lines(600)));

    let mut report = Vec::new();
    for (name, lines) in &sets {
        let with_tokens: Vec<&String> = lines
            .iter()
            .filter(|l| !technical_tokens(l).is_empty())
            .collect();
        let mut lost = Vec::new();
        for l in &with_tokens {
            let red = r.redact(l);
            let gone: Vec<String> = technical_tokens(l)
                .into_iter()
                .filter(|t| !red.text.contains(t.as_str()))
                .collect();
            if !gone.is_empty() {
                lost.push(format!("{l:?} lost {gone:?}"));
            }
        }
        let rate = lost.len() as f64 / with_tokens.len().max(1) as f64;
        println!(
            "{name}: {} of {} lines with technical tokens lost one ({:.2} %)",
            lost.len(),
            with_tokens.len(),
            100.0 * rate
        );
        for l in &lost {
            println!("  {l}");
        }
        report.push((name, with_tokens.len(), rate, lost));
    }
    for (name, n, rate, lost) in &report {
        assert!(*n >= 100, "{name}: only {n} lines");
        assert!(
            *rate <= 0.02,
            "{name}: {:.2} % lost a technical token:\n{}",
            100.0 * rate,
            lost.join("\n")
        );
    }
}
