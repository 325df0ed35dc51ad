//! Draws [`App`] state; nothing here changes it. Laid out for 40×16 cells
//! and wider. Everything that matters is marked by text and reverse video as
//! well as colour, so a monochrome terminal loses nothing.

use super::app::{App, Entry, Focus, Link, Outcome, View};
use crate::api::proto::{DecisionMsg, StatusMsg};
use crate::labels::{Route, Urgency};
use crate::limits::MAX_TEXT;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// Below this width the short titles and key hints are used.
const NARROW: u16 = 60;

/// Draws the whole screen.
pub fn render(f: &mut Frame, app: &App) {
    let area = f.area();
    let down = !app.is_up();
    let [top, banner, body, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(down as u16),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    tabs(f, app, top);
    if down {
        let msg = match &app.link {
            Link::Connecting => " connecting to the daemon...",
            _ => " daemon unavailable, retrying",
        };
        f.render_widget(
            Paragraph::new(msg).style(Style::new().add_modifier(Modifier::REVERSED)),
            banner,
        );
    }
    match app.view {
        View::Ask => ask(f, app, body),
        View::History => history(f, app, body),
        View::Escalations => escalations(f, app, body),
        View::Status => status(f, app, body),
    }
    hints(f, app, keys);
}

fn tabs(f: &mut Frame, app: &App, area: Rect) {
    let narrow = area.width < NARROW;
    let mut spans = Vec::new();
    for (n, v) in View::ALL.iter().enumerate() {
        let (long, short) = v.titles();
        let label = if narrow {
            format!("F{}{}", n + 1, short)
        } else {
            format!("F{} {}", n + 1, long)
        };
        let style = if *v == app.view {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    let link = match app.link {
        Link::Up { .. } => "online",
        Link::Connecting => "wait",
        Link::Down { .. } => "OFFLINE",
    };
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + link.len());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(
        link,
        Style::new().add_modifier(Modifier::BOLD),
    ));
    f.render_widget(Line::from(spans), area);
}

fn hints(f: &mut Frame, app: &App, area: Rect) {
    let narrow = area.width < NARROW;
    let pairs: &[(&str, &str)] = match (app.view, app.focus) {
        (View::Ask, Focus::Input) => {
            if narrow {
                &[("Enter", "send"), ("Esc", "keys"), ("F10", "quit")]
            } else {
                &[
                    ("Enter", "send"),
                    ("Esc", "command keys"),
                    ("PgUp/PgDn", "scroll"),
                    ("F1-F4", "views"),
                    ("F10", "quit"),
                ]
            }
        }
        (View::Ask, Focus::Answer) => {
            if narrow {
                &[
                    ("a", "ask"),
                    ("w", "why"),
                    ("h", "hist"),
                    ("e", "esc"),
                    ("s", "stat"),
                    ("q", "quit"),
                ]
            } else {
                &[
                    ("a", "ask"),
                    ("w", "why?"),
                    ("j/k", "scroll"),
                    ("h", "history"),
                    ("e", "escalations"),
                    ("s", "status"),
                    ("q", "quit"),
                ]
            }
        }
        (View::History | View::Escalations, _) => {
            if narrow {
                &[
                    ("j/k", "move"),
                    ("Enter", "open"),
                    ("a", "ask"),
                    ("q", "quit"),
                ]
            } else {
                &[
                    ("j/k", "move"),
                    ("Enter", "open"),
                    ("a", "ask"),
                    ("s", "status"),
                    ("q", "quit"),
                ]
            }
        }
        (View::Status, _) => &[
            ("r", "refresh"),
            ("a", "ask"),
            ("h", "history"),
            ("q", "quit"),
        ],
    };
    let mut spans = Vec::new();
    for (k, label) in pairs {
        spans.push(Span::styled(
            *k,
            Style::new().add_modifier(Modifier::REVERSED),
        ));
        if label.is_empty() {
            spans.push(Span::raw(" "));
        } else {
            spans.push(Span::raw(format!(" {label} ")));
        }
    }
    f.render_widget(Line::from(spans), area);
}

fn urgency_style(u: Urgency) -> Style {
    let c = match u {
        Urgency::Critical => Color::Red,
        Urgency::High => Color::Yellow,
        Urgency::Normal => Color::Cyan,
        Urgency::Low => Color::Green,
    };
    let s = Style::new().fg(c).add_modifier(Modifier::BOLD);
    if u == Urgency::Critical {
        s.add_modifier(Modifier::REVERSED)
    } else {
        s
    }
}

fn route_badge(r: Route) -> Span<'static> {
    let (text, c) = match r {
        Route::Local => (" LOCAL ", Color::Green),
        Route::Escalate => (" ESCALATED ", Color::Yellow),
        Route::Human => (" HUMAN ", Color::Red),
    };
    Span::styled(
        text,
        Style::new()
            .fg(c)
            .add_modifier(Modifier::REVERSED | Modifier::BOLD),
    )
}

/// `[#####-----] 52%`, in plain ASCII for serial consoles.
fn confidence_bar(c: f32, width: usize) -> String {
    let c = if c.is_finite() {
        c.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = (c * width as f32).round() as usize;
    format!(
        "[{}{}] {:>3.0}%",
        "#".repeat(filled),
        "-".repeat(width - filled),
        c * 100.0
    )
}

fn ask(f: &mut Frame, app: &App, area: Rect) {
    let [input, notice, answer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(app.notice.is_some() as u16),
        Constraint::Min(1),
    ])
    .areas(area);

    // The input line shows its tail, so the cursor stays visible, and a
    // byte counter once the text nears the protocol's limit.
    let prompt = "> ";
    let counter = if app.input.len() > MAX_TEXT * 4 / 5 {
        format!(" {}/{MAX_TEXT}", app.input.len())
    } else {
        String::new()
    };
    let room = (input.width as usize)
        .saturating_sub(prompt.len() + counter.len() + 1)
        .max(1);
    let chars: Vec<char> = app.input.chars().collect();
    let start = chars.len().saturating_sub(room);
    let shown: String = chars[start..].iter().collect();
    let spans = vec![
        Span::styled(prompt, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(shown.clone()),
        Span::styled(counter, Style::new().add_modifier(Modifier::BOLD)),
    ];
    f.render_widget(Line::from(spans), input);
    if app.view == View::Ask && app.focus == Focus::Input {
        let x = input.x + (prompt.len() + shown.chars().count()) as u16;
        f.set_cursor_position(Position::new(
            x.min(input.right().saturating_sub(1)),
            input.y,
        ));
    }
    if let Some(n) = &app.notice {
        f.render_widget(
            Paragraph::new(format!("! {n}"))
                .style(Style::new().add_modifier(Modifier::BOLD))
                .wrap(Wrap { trim: true }),
            notice,
        );
    }

    let Some(entry) = app.shown_entry() else {
        let help = Text::from(vec![
            Line::from("Type a question or a fault report"),
            Line::from("and press Enter."),
            Line::from(""),
            Line::from("Esc, then a letter, for commands."),
        ]);
        f.render_widget(Paragraph::new(help).wrap(Wrap { trim: true }), answer);
        return;
    };
    match &entry.outcome {
        Outcome::Answered(d) => decision(f, app, d, answer),
        other => {
            let msg = match other {
                Outcome::Waiting => "waiting for the daemon; sent when it is back".to_string(),
                Outcome::Sent => "asking...".to_string(),
                Outcome::Busy => "the daemon is busy; ask again in a moment".to_string(),
                Outcome::Failed(e) => format!("failed: {e}"),
                Outcome::Answered(_) => unreachable!(),
            };
            let t = Text::from(vec![
                Line::from(format!("Q: {}", entry.text)),
                Line::from(""),
                Line::styled(msg, Style::new().add_modifier(Modifier::BOLD)),
            ]);
            f.render_widget(Paragraph::new(t).wrap(Wrap { trim: true }), answer);
        }
    }
}

fn decision(f: &mut Frame, app: &App, d: &DecisionMsg, area: Rect) {
    let critical = d.urgency == Urgency::Critical;
    let [banner, badges, conf, src, rest] = Layout::vertical([
        Constraint::Length(critical as u16),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(!d.sources.is_empty() as u16),
        Constraint::Min(1),
    ])
    .areas(area);
    if critical {
        let w = banner.width as usize;
        let text = if w >= 44 {
            "!! CRITICAL: SAFETY STEPS FIRST !!"
        } else {
            "!! CRITICAL: SAFETY FIRST !!"
        };
        f.render_widget(
            Paragraph::new(format!("{text:^w$}")).style(
                Style::new()
                    .fg(Color::Red)
                    .add_modifier(Modifier::REVERSED | Modifier::BOLD),
            ),
            banner,
        );
    }
    let narrow = area.width < NARROW;
    f.render_widget(
        Line::from(vec![
            route_badge(d.route),
            Span::raw(" "),
            Span::styled(
                d.urgency.as_str().to_ascii_uppercase(),
                urgency_style(d.urgency),
            ),
            Span::raw(" "),
            Span::raw(d.category.as_str()),
        ]),
        badges,
    );
    let bar = if narrow { 10 } else { 20 };
    f.render_widget(
        Line::from(format!("conf {}", confidence_bar(d.confidence, bar))),
        conf,
    );
    if let Some(s) = d.sources.first() {
        let line = if narrow {
            format!("src {} {:.2}", s.id, s.score)
        } else {
            format!("src {} {:.2} {}", s.id, s.score, s.title)
        };
        f.render_widget(Line::from(line), src);
    }

    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = Vec::new();
    // "why?" puts the reasons first, where they are seen without scrolling.
    if app.show_why {
        lines.push(Line::styled("WHY", bold));
        for r in &d.reasons {
            lines.push(Line::from(format!("- {}: {}", r.code, r.detail)));
        }
        lines.push(Line::from(""));
    }
    for l in split_answer(&d.answer) {
        lines.push(Line::from(l));
    }
    if !d.fields.is_empty() {
        let fields: Vec<String> = d
            .fields
            .iter()
            .map(|f| {
                let kind = format!("{:?}", f.kind).to_ascii_lowercase();
                match &f.unit {
                    Some(u) => format!("{kind} {} {u}", f.value),
                    None => format!("{kind} {}", f.value),
                }
            })
            .collect();
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled("fields: ", bold),
            Span::raw(fields.join(", ")),
        ]));
    }
    if let Some(s) = d.sources.first() {
        lines.push(Line::from(""));
        lines.push(Line::styled(
            format!("PROCEDURE {}: {}", s.id, s.title),
            bold,
        ));
        match app.procedure(s.id.as_str()) {
            Some(p) => lines.extend(p.text.lines().map(|l| Line::from(l.to_string()))),
            None => lines.push(Line::from("(loading...)")),
        }
    }
    f.render_widget(
        Paragraph::new(Text::from(lines))
            .wrap(Wrap { trim: false })
            .scroll((app.scroll, 0)),
        rest,
    );
}

/// Puts each numbered step of an answer on its own line.
fn split_answer(answer: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let words: Vec<&str> = answer.split(' ').collect();
    for (i, w) in words.iter().enumerate() {
        let step = w.len() >= 2
            && w.ends_with('.')
            && w[..w.len() - 1].bytes().all(|b| b.is_ascii_digit())
            && i > 0;
        if step && !out.last().is_some_and(|l| l.is_empty()) {
            out.push(String::new());
        }
        let cur = out.last_mut().expect("never empty");
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    out
}

fn outcome_cells(e: &Entry) -> (String, Style) {
    match &e.outcome {
        Outcome::Answered(d) => {
            let r = match d.route {
                Route::Local => "LOC",
                Route::Escalate => "ESC",
                Route::Human => "HUM",
            };
            let u = match d.urgency {
                Urgency::Critical => "CRIT",
                Urgency::High => "high",
                Urgency::Normal => "norm",
                Urgency::Low => "low ",
            };
            (format!("{r} {u}"), urgency_style(d.urgency))
        }
        Outcome::Waiting => ("... wait".into(), Style::new()),
        Outcome::Sent => ("... ask ".into(), Style::new()),
        Outcome::Busy => ("BUSY    ".into(), Style::new()),
        Outcome::Failed(_) => ("FAIL    ".into(), Style::new()),
    }
}

fn row(label: String, label_style: Style, text: &str, selected: bool) -> Line<'static> {
    let line = Line::from(vec![
        Span::styled(label, label_style),
        Span::raw(" "),
        Span::raw(text.to_string()),
    ]);
    if selected {
        line.style(Style::new().add_modifier(Modifier::REVERSED))
    } else {
        line
    }
}

fn history(f: &mut Frame, app: &App, area: Rect) {
    if app.entries.is_empty() {
        f.render_widget(
            Paragraph::new("No queries yet in this session.").wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let lines: Vec<Line> = app
        .entries
        .iter()
        .rev()
        .enumerate()
        .map(|(n, e)| {
            let (label, style) = outcome_cells(e);
            row(label, style, &e.text, n == app.selected)
        })
        .collect();
    let skip = app
        .selected
        .saturating_sub(area.height.saturating_sub(1) as usize);
    f.render_widget(Paragraph::new(lines).scroll((skip as u16, 0)), area);
}

fn escalations(f: &mut Frame, app: &App, area: Rect) {
    let uplink = app.status.as_ref().map(|s| s.uplink.as_str());
    let note = match uplink {
        Some("off") => "uplink off: no central answers",
        Some("connecting") => "uplink connecting",
        Some(_) => "uplink connected",
        None => "uplink: unknown",
    };
    let [head, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    f.render_widget(
        Paragraph::new(note).style(Style::new().add_modifier(Modifier::BOLD)),
        head,
    );
    let idx = app.escalations();
    if idx.is_empty() {
        f.render_widget(
            Paragraph::new("No escalated or human-routed queries in this session.")
                .wrap(Wrap { trim: true }),
            list,
        );
        return;
    }
    let lines: Vec<Line> = idx
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let e = &app.entries[i];
            let d = e.decision().expect("escalations are answered");
            let state = match (&e.escalation, d.route) {
                (Some(x), _) => match x.state {
                    crate::api::proto::EscalationState::Queued => "ESC queued",
                    crate::api::proto::EscalationState::Sent => "ESC sent",
                    crate::api::proto::EscalationState::Answered => "ESC answered",
                    crate::api::proto::EscalationState::Expired => "ESC expired",
                    crate::api::proto::EscalationState::Failed => "ESC failed",
                },
                (None, Route::Human) => "HUM person",
                (None, _) => "ESC pending",
            };
            row(
                state.into(),
                urgency_style(d.urgency),
                &e.text,
                n == app.selected,
            )
        })
        .collect();
    let skip = app
        .selected
        .saturating_sub(list.height.saturating_sub(1) as usize);
    f.render_widget(Paragraph::new(lines).scroll((skip as u16, 0)), list);
}

fn status(f: &mut Frame, app: &App, area: Rect) {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let kv =
        |k: &str, v: String| Line::from(vec![Span::styled(format!("{k:<9}"), bold), Span::raw(v)]);
    let mut lines = vec![kv(
        "daemon",
        match &app.link {
            Link::Up { daemon } => format!("up ({daemon})"),
            Link::Connecting => "connecting".into(),
            Link::Down { error } => format!("unavailable, retrying: {error}"),
        },
    )];
    match &app.status {
        Some(s) => lines.extend(status_lines(s).into_iter().map(|(k, v)| kv(k, v))),
        None => lines.push(Line::from("no status yet")),
    }
    if !app.is_up() && app.status.is_some() {
        lines.push(Line::styled("(last known figures)", bold));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
}

fn status_lines(s: &StatusMsg) -> Vec<(&'static str, String)> {
    let ms = |us: u64| us as f64 / 1000.0;
    let short = |h: &str| h.chars().take(8).collect::<String>();
    vec![
        ("uplink", s.uplink.as_str().to_string()),
        ("outbox", format!("{} waiting", s.outbox_depth)),
        ("model", format!("{} {}", s.model, short(&s.model_sha256))),
        (
            "kb",
            format!("{} procs {}", s.kb_procedures, short(&s.kb_hash)),
        ),
        (
            "latency",
            format!("p50 {:.1} ms  p95 {:.1} ms", ms(s.p50_us), ms(s.p95_us)),
        ),
        (
            "answered",
            format!("{}  busy {}  err {}", s.answered, s.busy, s.errors),
        ),
        (
            "queue",
            format!("{}  conns {}", s.queue_depth, s.connections),
        ),
        (
            "uptime",
            format!(
                "{}h {:02}m {:02}s",
                s.uptime_s / 3600,
                s.uptime_s / 60 % 60,
                s.uptime_s % 60
            ),
        ),
        ("version", s.version.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_bar_is_ascii_and_bounded() {
        assert_eq!(confidence_bar(0.5, 10), "[#####-----]  50%");
        assert_eq!(confidence_bar(f32::NAN, 4), "[----]   0%");
        assert_eq!(confidence_bar(7.0, 4), "[####] 100%");
    }

    #[test]
    fn numbered_steps_go_on_their_own_lines() {
        let lines = split_answer("Pump [PUMP-001]: 1. Stop it. 2. Lock out. 10. Done.");
        assert_eq!(
            lines,
            vec![
                "Pump [PUMP-001]:",
                "1. Stop it.",
                "2. Lock out.",
                "10. Done."
            ]
        );
    }
}
