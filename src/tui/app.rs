//! The terminal UI's state and its reaction to events. Pure: no terminal, no
//! socket. Every event returns the requests to send, so tests can drive it
//! key by key.

use crate::api::proto::{DecisionMsg, ErrorMsg, ProcedureMsg, Response, StatusMsg};
use crate::labels::Route;
use crate::limits::MAX_TEXT;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::collections::VecDeque;

/// Queries kept in the session history; older ones are dropped.
pub const HISTORY_MAX: usize = 200;
/// Procedure texts kept for display.
const PROCEDURE_CACHE: usize = 8;

/// The four screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Ask,
    History,
    Escalations,
    Status,
}

impl View {
    pub const ALL: [View; 4] = [View::Ask, View::History, View::Escalations, View::Status];

    /// Full and short titles (the short one fits 40 columns).
    pub fn titles(self) -> (&'static str, &'static str) {
        match self {
            View::Ask => ("Ask", "Ask"),
            View::History => ("History", "Hist"),
            View::Escalations => ("Escalations", "Esc"),
            View::Status => ("Status", "Stat"),
        }
    }
}

/// Where typed keys go on the Ask screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Keys edit the query line.
    Input,
    /// Keys are commands (single letters).
    Answer,
}

/// The connection to the daemon, as the UI sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Connecting,
    Up { daemon: String },
    Down { error: String },
}

/// Events the UI reacts to.
#[derive(Debug)]
pub enum AppEvent {
    Key(KeyEvent),
    Resize,
    Net(NetEvent),
}

/// What the connection task reports.
#[derive(Debug)]
pub enum NetEvent {
    Connected { daemon: String },
    Disconnected { error: String },
    Reply(Box<Response>),
}

/// What the UI asks the connection task to send.
#[derive(Debug, Clone, PartialEq)]
pub enum NetCmd {
    Query { id: String, text: String },
    Status,
    Procedure { id: String },
}

/// The state of one query.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not yet sent (the daemon is unavailable); sent on reconnect.
    Waiting,
    /// Sent; no reply yet.
    Sent,
    Answered(Box<DecisionMsg>),
    /// The daemon's queue was full.
    Busy,
    Failed(String),
}

/// One query of this session.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub text: String,
    pub outcome: Outcome,
    /// The escalation's latest state, as the daemon reported it.
    pub escalation: Option<Box<crate::api::proto::EscalationMsg>>,
}

impl Entry {
    pub fn decision(&self) -> Option<&DecisionMsg> {
        match &self.outcome {
            Outcome::Answered(d) => Some(d),
            _ => None,
        }
    }

    /// Whether this query went (or would go) beyond the device.
    pub fn is_escalation(&self) -> bool {
        self.decision()
            .is_some_and(|d| matches!(d.route, Route::Escalate | Route::Human))
    }
}

/// The whole UI state; `ui::render` draws it.
#[derive(Debug)]
pub struct App {
    pub view: View,
    pub focus: Focus,
    pub input: String,
    /// A one-line message under the input (refusals, errors).
    pub notice: Option<String>,
    /// Newest last.
    pub entries: VecDeque<Entry>,
    /// Index into `entries` of the query shown on the Ask screen.
    pub shown: Option<usize>,
    /// Selected row on the History and Escalations screens.
    pub selected: usize,
    /// First line of the answer pane.
    pub scroll: u16,
    pub show_why: bool,
    pub link: Link,
    pub status: Option<StatusMsg>,
    procedures: VecDeque<ProcedureMsg>,
    pub quit: bool,
    next_id: u64,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    pub fn new() -> App {
        App {
            view: View::Ask,
            focus: Focus::Input,
            input: String::new(),
            notice: None,
            entries: VecDeque::new(),
            shown: None,
            selected: 0,
            scroll: 0,
            show_why: false,
            link: Link::Connecting,
            status: None,
            procedures: VecDeque::new(),
            quit: false,
            next_id: 1,
        }
    }

    pub fn is_up(&self) -> bool {
        matches!(self.link, Link::Up { .. })
    }

    /// The query shown on the Ask screen.
    pub fn shown_entry(&self) -> Option<&Entry> {
        self.shown.and_then(|i| self.entries.get(i))
    }

    /// A cached procedure text.
    pub fn procedure(&self, id: &str) -> Option<&ProcedureMsg> {
        self.procedures.iter().find(|p| p.id.as_str() == id)
    }

    /// Indices of the escalated or human-routed queries, newest first.
    pub fn escalations(&self) -> Vec<usize> {
        (0..self.entries.len())
            .rev()
            .filter(|&i| self.entries[i].is_escalation())
            .collect()
    }

    /// Reacts to one event; returns what to send to the daemon.
    pub fn handle(&mut self, ev: AppEvent) -> Vec<NetCmd> {
        match ev {
            AppEvent::Key(k) => self.key(k),
            AppEvent::Resize => Vec::new(),
            AppEvent::Net(n) => self.net(n),
        }
    }

    fn net(&mut self, ev: NetEvent) -> Vec<NetCmd> {
        match ev {
            NetEvent::Connected { daemon } => {
                self.link = Link::Up { daemon };
                // Queries typed while the daemon was away, or lost with the
                // connection before their reply, are sent (again) now.
                let mut out = Vec::new();
                for e in self.entries.iter_mut() {
                    if matches!(e.outcome, Outcome::Waiting | Outcome::Sent) {
                        e.outcome = Outcome::Sent;
                        out.push(NetCmd::Query {
                            id: e.id.clone(),
                            text: e.text.clone(),
                        });
                    }
                }
                out.push(NetCmd::Status);
                if let Some(id) = self.wanted_procedure() {
                    out.push(NetCmd::Procedure { id });
                }
                out
            }
            NetEvent::Disconnected { error } => {
                self.link = Link::Down { error };
                for e in self.entries.iter_mut() {
                    if e.outcome == Outcome::Sent {
                        e.outcome = Outcome::Waiting;
                    }
                }
                Vec::new()
            }
            NetEvent::Reply(r) => self.reply(*r),
        }
    }

    fn reply(&mut self, r: Response) -> Vec<NetCmd> {
        match r {
            Response::Decision(d) => {
                let Some(i) = self.position(d.id.as_str()) else {
                    return Vec::new();
                };
                self.entries[i].outcome = Outcome::Answered(d);
                if self.shown == Some(i) {
                    self.scroll = 0;
                }
                // The status screen's counters moved; the cited procedure
                // is wanted for display.
                let mut out = vec![NetCmd::Status];
                if self.shown == Some(i) {
                    out.extend(self.wanted_procedure().map(|id| NetCmd::Procedure { id }));
                }
                out
            }
            Response::Busy { id } => {
                if let Some(i) = self.position(id.as_str()) {
                    self.entries[i].outcome = Outcome::Busy;
                }
                Vec::new()
            }
            Response::Error(ErrorMsg { id, code, message }) => {
                let text = format!("{code:?}: {message}");
                match id.and_then(|id| self.position(id.as_str())) {
                    Some(i) if self.entries[i].decision().is_none() => {
                        self.entries[i].outcome = Outcome::Failed(text);
                    }
                    _ => self.notice = Some(text),
                }
                Vec::new()
            }
            Response::Status(s) => {
                self.status = Some(s);
                Vec::new()
            }
            Response::Escalation(e) => {
                if let Some(i) = self.position(e.id.as_str()) {
                    self.entries[i].escalation = Some(e);
                }
                Vec::new()
            }
            Response::Procedure(p) => {
                self.procedures.retain(|q| q.id != p.id);
                if self.procedures.len() == PROCEDURE_CACHE {
                    self.procedures.pop_front();
                }
                self.procedures.push_back(*p);
                Vec::new()
            }
            Response::Hello(_) => Vec::new(),
        }
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.entries.iter().rposition(|e| e.id == id)
    }

    /// The cited procedure of the shown answer, when it is not cached yet.
    fn wanted_procedure(&self) -> Option<String> {
        let src = self.shown_entry()?.decision()?.sources.first()?;
        (self.procedure(src.id.as_str()).is_none()).then(|| src.id.to_string())
    }

    fn key(&mut self, k: KeyEvent) -> Vec<NetCmd> {
        if k.kind == KeyEventKind::Release {
            return Vec::new();
        }
        // Ctrl-C always quits, even though no chord is ever needed.
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            self.quit = true;
            return Vec::new();
        }
        // F-keys work everywhere, including while typing.
        match k.code {
            KeyCode::F(1) => return self.go(View::Ask),
            KeyCode::F(2) => return self.go(View::History),
            KeyCode::F(3) => return self.go(View::Escalations),
            KeyCode::F(4) => return self.go(View::Status),
            KeyCode::F(10) => {
                self.quit = true;
                return Vec::new();
            }
            _ => {}
        }
        if self.view == View::Ask && self.focus == Focus::Input {
            return self.edit(k);
        }
        match k.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('a') | KeyCode::Char('i') => {
                self.view = View::Ask;
                self.focus = Focus::Input;
            }
            KeyCode::Char('h') => return self.go(View::History),
            KeyCode::Char('e') => return self.go(View::Escalations),
            KeyCode::Char('s') => return self.go(View::Status),
            KeyCode::Char('r') if self.view == View::Status => return vec![NetCmd::Status],
            KeyCode::Char('w') if self.view == View::Ask => {
                self.show_why = !self.show_why;
                self.scroll = 0;
            }
            KeyCode::Esc => {
                if self.view != View::Ask {
                    self.view = View::Ask;
                }
                self.focus = Focus::Input;
            }
            KeyCode::Down | KeyCode::Char('j') => self.down(1),
            KeyCode::Up | KeyCode::Char('k') => self.up(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.down(8),
            KeyCode::PageUp | KeyCode::Char('b') => self.up(8),
            KeyCode::Enter => return self.open_selected(),
            _ => {}
        }
        Vec::new()
    }

    fn go(&mut self, view: View) -> Vec<NetCmd> {
        self.view = view;
        self.selected = 0;
        match view {
            View::Ask => {
                self.focus = Focus::Input;
                Vec::new()
            }
            View::Status if self.is_up() => vec![NetCmd::Status],
            _ => Vec::new(),
        }
    }

    fn rows(&self) -> usize {
        match self.view {
            View::History => self.entries.len(),
            View::Escalations => self.escalations().len(),
            _ => 0,
        }
    }

    fn down(&mut self, n: usize) {
        match self.view {
            View::Ask => self.scroll = self.scroll.saturating_add(n as u16),
            _ => self.selected = (self.selected + n).min(self.rows().saturating_sub(1)),
        }
    }

    fn up(&mut self, n: usize) {
        match self.view {
            View::Ask => self.scroll = self.scroll.saturating_sub(n as u16),
            _ => self.selected = self.selected.saturating_sub(n),
        }
    }

    /// Opens the selected History or Escalations row on the Ask screen.
    fn open_selected(&mut self) -> Vec<NetCmd> {
        let index = match self.view {
            // History lists newest first.
            View::History => self.entries.len().checked_sub(self.selected + 1),
            View::Escalations => self.escalations().get(self.selected).copied(),
            View::Ask => {
                self.focus = Focus::Input;
                return Vec::new();
            }
            View::Status => None,
        };
        let Some(i) = index else {
            return Vec::new();
        };
        self.shown = Some(i);
        self.view = View::Ask;
        self.focus = Focus::Answer;
        self.scroll = 0;
        self.show_why = false;
        match self.wanted_procedure() {
            Some(id) if self.is_up() => vec![NetCmd::Procedure { id }],
            _ => Vec::new(),
        }
    }

    fn edit(&mut self, k: KeyEvent) -> Vec<NetCmd> {
        match k.code {
            KeyCode::Char(c) => {
                self.input.push(c);
                self.notice = None;
            }
            KeyCode::Backspace => {
                self.input.pop();
                self.notice = None;
            }
            KeyCode::Esc => self.focus = Focus::Answer,
            KeyCode::Enter => return self.submit(),
            KeyCode::PageDown => self.down(8),
            KeyCode::PageUp => self.up(8),
            KeyCode::Down => self.down(1),
            KeyCode::Up => self.up(1),
            _ => {}
        }
        Vec::new()
    }

    /// Sends the input line as a query, or refuses it with a notice.
    fn submit(&mut self) -> Vec<NetCmd> {
        let text = self.input.trim().to_string();
        if text.is_empty() {
            self.notice = Some("type a question first".into());
            return Vec::new();
        }
        if text.len() > MAX_TEXT {
            self.notice = Some(format!(
                "too long: {}/{MAX_TEXT} bytes; shorten it",
                text.len()
            ));
            return Vec::new();
        }
        let id = format!("t{}", self.next_id);
        self.next_id += 1;
        if self.entries.len() == HISTORY_MAX {
            self.entries.pop_front();
        }
        let up = self.is_up();
        self.entries.push_back(Entry {
            id: id.clone(),
            text: text.clone(),
            outcome: if up { Outcome::Sent } else { Outcome::Waiting },
            escalation: None,
        });
        self.shown = Some(self.entries.len() - 1);
        self.input.clear();
        self.notice = None;
        self.focus = Focus::Answer;
        self.scroll = 0;
        self.show_why = false;
        if up {
            vec![NetCmd::Query { id, text }]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::proto::{bounded, ErrorCode};

    fn key(c: KeyCode) -> AppEvent {
        AppEvent::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn typed(app: &mut App, s: &str) -> Vec<NetCmd> {
        let mut out = Vec::new();
        for c in s.chars() {
            out.extend(app.handle(key(KeyCode::Char(c))));
        }
        out
    }

    fn up(app: &mut App) {
        app.handle(AppEvent::Net(NetEvent::Connected {
            daemon: "slmd".into(),
        }));
    }

    #[test]
    fn enter_sends_the_typed_line_as_a_query() {
        let mut app = App::new();
        up(&mut app);
        assert!(typed(&mut app, "P-101 noisy").is_empty());
        let out = app.handle(key(KeyCode::Enter));
        assert_eq!(
            out,
            vec![NetCmd::Query {
                id: "t1".into(),
                text: "P-101 noisy".into()
            }]
        );
        assert_eq!(app.focus, Focus::Answer);
        assert!(app.input.is_empty());
    }

    #[test]
    fn letters_are_text_while_typing_and_commands_after() {
        let mut app = App::new();
        up(&mut app);
        typed(&mut app, "hes");
        assert_eq!(app.view, View::Ask);
        assert_eq!(app.input, "hes");
        app.handle(key(KeyCode::Esc));
        app.handle(key(KeyCode::Char('h')));
        assert_eq!(app.view, View::History);
        app.handle(key(KeyCode::Char('q')));
        assert!(app.quit);
    }

    #[test]
    fn over_long_input_is_refused_not_cut() {
        let mut app = App::new();
        up(&mut app);
        app.input = "x".repeat(MAX_TEXT + 1);
        assert!(app.handle(key(KeyCode::Enter)).is_empty());
        assert_eq!(app.input.len(), MAX_TEXT + 1);
        assert!(app.notice.as_deref().unwrap().contains("too long"));
        assert!(app.entries.is_empty());
    }

    #[test]
    fn queries_typed_while_the_daemon_is_away_are_sent_on_reconnect() {
        let mut app = App::new();
        app.handle(AppEvent::Net(NetEvent::Disconnected {
            error: "no socket".into(),
        }));
        typed(&mut app, "ATS will not transfer");
        assert!(app.handle(key(KeyCode::Enter)).is_empty());
        assert_eq!(app.entries[0].outcome, Outcome::Waiting);
        let out = app.handle(AppEvent::Net(NetEvent::Connected {
            daemon: "slmd".into(),
        }));
        assert!(out.contains(&NetCmd::Query {
            id: "t1".into(),
            text: "ATS will not transfer".into()
        }));
        assert_eq!(app.entries[0].outcome, Outcome::Sent);
    }

    #[test]
    fn an_error_for_a_query_marks_only_that_query() {
        let mut app = App::new();
        up(&mut app);
        typed(&mut app, "x");
        app.handle(key(KeyCode::Enter));
        app.handle(AppEvent::Net(NetEvent::Reply(Box::new(Response::Error(
            ErrorMsg::new(Some(bounded("t1")), ErrorCode::DeadlineExceeded, "late"),
        )))));
        assert!(matches!(app.entries[0].outcome, Outcome::Failed(_)));
        assert!(app.notice.is_none());
    }
}
