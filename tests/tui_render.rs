//! The terminal UI's screens, rendered on ratatui's test backend at the
//! handheld size (40×16) and a larger one (100×30). Answers come from the
//! real pipeline (bundled model and knowledge base).

mod common;

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use slmd::api::proto::{bounded, DecisionMsg, ProcedureMsg, Response, StatusMsg, Uplink};
use slmd::limits::MAX_TEXT;
use slmd::tui::app::{App, AppEvent, Focus, NetCmd, NetEvent, View};
use slmd::tui::ui;

const SIZES: [(u16, u16); 2] = [(40, 16), (100, 30)];

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::render(f, app)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn key(app: &mut App, c: KeyCode) -> Vec<NetCmd> {
    app.handle(AppEvent::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

/// Types a query, answers every request it causes as the daemon would
/// (the real pipeline for the decision, the real index for the procedure).
fn ask(app: &mut App, text: &str) {
    if app.focus == Focus::Answer {
        key(app, KeyCode::Char('a'));
    }
    for c in text.chars() {
        assert!(key(app, KeyCode::Char(c)).is_empty());
    }
    let mut todo = key(app, KeyCode::Enter);
    assert!(!todo.is_empty(), "Enter sends the query");
    while let Some(cmd) = todo.pop() {
        let reply = match cmd {
            NetCmd::Query { id, text } => {
                let d = common::pipeline().decide(&text, false).unwrap();
                Response::Decision(Box::new(DecisionMsg::from_decision(
                    bounded(&id),
                    &d,
                    12_345,
                )))
            }
            NetCmd::Procedure { id } => {
                let pipeline = common::pipeline();
                let index = pipeline.index();
                let doc = index
                    .docs()
                    .iter()
                    .find(|d| d.id == id)
                    .expect("cited procedure exists");
                Response::Procedure(Box::new(ProcedureMsg::from_procedure(doc)))
            }
            NetCmd::Status => Response::Status(status()),
        };
        todo.extend(app.handle(AppEvent::Net(NetEvent::Reply(Box::new(reply)))));
    }
}

fn status() -> StatusMsg {
    StatusMsg {
        version: bounded("0.1.0"),
        model: bounded("minilm-l6-int8"),
        model_sha256: bounded("acb6a8d0b39e9bc9"),
        kb_procedures: 47,
        kb_hash: bounded("4b53cd58aa"),
        uptime_s: 3725,
        connections: 1,
        queue_depth: 0,
        answered: 2,
        busy: 0,
        cancelled: 0,
        errors: 0,
        p50_us: 14_100,
        p95_us: 24_800,
        uplink: Uplink::Off,
        outbox_depth: 0,
    }
}

fn connected() -> App {
    let mut app = App::new();
    app.handle(AppEvent::Net(NetEvent::Connected {
        daemon: "slmd/0.1.0".into(),
    }));
    app
}

#[test]
fn ask_view_shows_route_urgency_confidence_and_the_cited_procedure() {
    let mut app = connected();
    ask(&mut app, "P-101 pump vibration high after bearing swap");
    let d = app.shown_entry().unwrap().decision().unwrap().clone();
    let src = d.sources[0].id.to_string();
    for (w, h) in SIZES {
        let s = screen(&app, w, h);
        assert!(s.contains(" LOCAL "), "{w}x{h}:\n{s}");
        assert!(s.contains("NORMAL"), "{w}x{h}:\n{s}");
        assert!(s.contains("conf ["), "{w}x{h}:\n{s}");
        assert!(s.contains(&format!("src {src}")), "{w}x{h}:\n{s}");
        assert!(!s.contains("CRITICAL"), "{w}x{h}:\n{s}");
    }
    // The larger screen has room for the procedure text itself.
    let big = screen(&app, 100, 30);
    assert!(big.contains(&format!("PROCEDURE {src}")), "{big}");
    assert!(!big.contains("(loading...)"), "{big}");
}

#[test]
fn critical_answer_puts_a_banner_and_the_safety_steps_first() {
    let mut app = connected();
    ask(&mut app, "strong smell of gas in the compressor room");
    for (w, h) in SIZES {
        let s = screen(&app, w, h);
        let lines: Vec<&str> = s.lines().collect();
        // Title bar, input line, then the banner before anything else.
        assert!(lines[2].contains("!! CRITICAL"), "{w}x{h}:\n{s}");
        assert!(s.contains(" HUMAN "), "{w}x{h}:\n{s}");
        assert!(s.contains("SAFETY FIRST"), "{w}x{h}:\n{s}");
        let steps = lines
            .iter()
            .position(|l| l.starts_with("1. "))
            .expect("steps");
        assert!(steps < 10, "immediate steps are on the first screen:\n{s}");
    }
    // The banner is reverse video, which a monochrome terminal still shows.
    let mut t = Terminal::new(TestBackend::new(40, 16)).unwrap();
    t.draw(|f| ui::render(f, &app)).unwrap();
    let cell = &t.backend().buffer()[(10, 2)];
    assert!(cell.modifier.contains(ratatui::style::Modifier::REVERSED));
}

#[test]
fn why_shows_the_reasons_first() {
    let mut app = connected();
    ask(&mut app, "P-101 pump vibration high after bearing swap");
    key(&mut app, KeyCode::Char('w'));
    let code = app.shown_entry().unwrap().decision().unwrap().reasons[0]
        .code
        .to_string();
    for (w, h) in SIZES {
        let s = screen(&app, w, h);
        assert!(s.contains("WHY"), "{w}x{h}:\n{s}");
        assert!(s.contains(&format!("- {code}")), "{w}x{h}:\n{s}");
    }
}

#[test]
fn history_and_escalations_list_the_session() {
    let mut app = connected();
    ask(&mut app, "P-101 pump vibration high after bearing swap");
    ask(&mut app, "what is the best pizza topping");
    ask(&mut app, "strong smell of gas in the compressor room");
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.view, View::History);
    for (w, h) in SIZES {
        let s = screen(&app, w, h);
        let lines: Vec<&str> = s.lines().collect();
        // Newest first.
        assert!(
            lines[1].starts_with("HUM CRIT strong smell"),
            "{w}x{h}:\n{s}"
        );
        assert!(lines[2].starts_with("ESC"), "{w}x{h}:\n{s}");
        assert!(lines[3].starts_with("LOC norm P-101"), "{w}x{h}:\n{s}");
    }
    key(&mut app, KeyCode::Char('e'));
    for (w, h) in SIZES {
        let s = screen(&app, w, h);
        assert!(s.contains("uplink off"), "{w}x{h}:\n{s}");
        assert!(s.contains("HUM person strong smell"), "{w}x{h}:\n{s}");
        assert!(s.contains("ESC pending what is the best"), "{w}x{h}:\n{s}");
        assert!(
            !s.contains("P-101"),
            "local answers are not escalations:\n{s}"
        );
    }
    // Opening a row shows that answer on the Ask screen.
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Ask);
    let s = screen(&app, 40, 16);
    assert!(s.contains(" ESCALATED "), "{s}");
}

#[test]
fn status_view_shows_health_uplink_outbox_versions_and_p95() {
    let mut app = connected();
    let cmds = key(&mut app, KeyCode::F(4));
    assert_eq!(cmds, vec![NetCmd::Status]);
    app.handle(AppEvent::Net(NetEvent::Reply(Box::new(Response::Status(
        status(),
    )))));
    for (w, h) in SIZES {
        let s = screen(&app, w, h);
        assert!(s.contains("up (slmd/0.1.0)"), "{w}x{h}:\n{s}");
        assert!(s.contains("uplink   off"), "{w}x{h}:\n{s}");
        assert!(s.contains("outbox   0 waiting"), "{w}x{h}:\n{s}");
        assert!(s.contains("minilm-l6-int8 acb6a8d0"), "{w}x{h}:\n{s}");
        assert!(s.contains("47 procs 4b53cd58"), "{w}x{h}:\n{s}");
        assert!(s.contains("p95 24.8 ms"), "{w}x{h}:\n{s}");
        assert!(s.contains("1h 02m 05s"), "{w}x{h}:\n{s}");
    }
}

#[test]
fn absent_daemon_is_shown_and_typed_queries_wait() {
    let mut app = App::new();
    app.handle(AppEvent::Net(NetEvent::Disconnected {
        error: "cannot connect: No such file or directory".into(),
    }));
    for c in "ATS fails to transfer".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    for (w, h) in SIZES {
        let s = screen(&app, w, h);
        assert!(s.contains("daemon unavailable, retrying"), "{w}x{h}:\n{s}");
        assert!(s.contains("OFFLINE"), "{w}x{h}:\n{s}");
        assert!(s.contains("waiting for the daemon"), "{w}x{h}:\n{s}");
    }
}

#[test]
fn over_long_input_is_refused_with_a_message() {
    let mut app = connected();
    for _ in 0..MAX_TEXT + 10 {
        key(&mut app, KeyCode::Char('x'));
    }
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    for (w, h) in SIZES {
        let s = screen(&app, w, h);
        assert!(s.contains("too long"), "{w}x{h}:\n{s}");
        assert!(s.contains(&format!("/{MAX_TEXT}")), "{w}x{h}:\n{s}");
    }
    assert_eq!(app.input.len(), MAX_TEXT + 10, "nothing was cut");
}

#[test]
fn every_view_fits_the_handheld_size_with_key_hints() {
    let mut app = connected();
    ask(&mut app, "VFD-12 tripped on overcurrent at start");
    for v in [KeyCode::F(1), KeyCode::F(2), KeyCode::F(3), KeyCode::F(4)] {
        key(&mut app, v);
        let s = screen(&app, 40, 16);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[0].starts_with("F1Ask F2Hist F3Esc F4Stat"), "{s}");
        assert!(lines[0].trim_end().ends_with("online"), "{s}");
        assert!(lines[15].contains(" quit"), "{s}");
    }
}
