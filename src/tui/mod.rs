//! `slmd tui`: the technicians' full-screen client of the local socket.
//!
//! Three parts, as in other responsive terminal UIs: a thread that reads
//! keys, a thread that owns the connection to the daemon (and reconnects),
//! and the main loop, which applies each event to [`app::App`] and redraws.
//! Redraws happen only when an event arrives; there is no tick.

pub mod app;
pub mod ui;

use crate::api::client::{Client, ClientError};
use crate::api::proto::{bounded, Query, Request};
use app::{App, AppEvent, NetCmd, NetEvent};
use ratatui::crossterm::event::{self, Event};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events waiting for the UI thread; key input blocks when it is full.
const EVENT_QUEUE: usize = 256;
/// Requests waiting for the connection task.
const CMD_QUEUE: usize = 64;
/// Wait for a reply frame to complete once its first byte has arrived.
const FRAME_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait between reconnection attempts.
const RETRY_MAX: Duration = Duration::from_secs(5);
/// A status request keeps the connection from idling out and the figures
/// fresh.
const STATUS_EVERY: Duration = Duration::from_secs(20);

/// Runs the UI until the user quits. The terminal is restored on return and
/// on panic.
pub fn run(socket: PathBuf) -> anyhow::Result<()> {
    // One bounded queue carries keys (sent from a plain thread) and network
    // events (sent from the connection task) to the UI thread.
    let (ev_tx, ev_rx) = mpsc::channel::<AppEvent>(EVENT_QUEUE);
    let (cmd_tx, cmd_rx) = mpsc::channel::<NetCmd>(CMD_QUEUE);

    let net_events = ev_tx.clone();
    std::thread::Builder::new()
        .name("slmd-tui-net".into())
        .spawn(move || connection_thread(socket, cmd_rx, net_events))?;

    // ratatui::try_init enters raw mode and the alternate screen, and installs
    // a panic hook that restores the terminal before the panic is printed.
    let mut terminal =
        ratatui::try_init().map_err(|e| anyhow::anyhow!("cannot set up the terminal: {e}"))?;
    std::thread::Builder::new()
        .name("slmd-tui-keys".into())
        .spawn(move || key_thread(ev_tx))?;
    let result = event_loop(&mut terminal, ev_rx, cmd_tx);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut events: mpsc::Receiver<AppEvent>,
    cmds: mpsc::Sender<NetCmd>,
) -> anyhow::Result<()> {
    let mut app = App::new();
    terminal.draw(|f| ui::render(f, &app))?;
    while let Some(ev) = events.blocking_recv() {
        let mut pending = vec![ev];
        // Apply everything already queued before drawing once: on a slow
        // link, a burst of keys costs one redraw.
        while let Ok(ev) = events.try_recv() {
            pending.push(ev);
        }
        for ev in pending {
            for cmd in app.handle(ev) {
                if cmds.try_send(cmd).is_err() {
                    app.notice = Some("too many requests in flight; try again".into());
                }
            }
        }
        if app.quit {
            break;
        }
        terminal.draw(|f| ui::render(f, &app))?;
    }
    Ok(())
}

fn key_thread(tx: mpsc::Sender<AppEvent>) {
    loop {
        let ev = match event::read() {
            Ok(Event::Key(k)) => AppEvent::Key(k),
            Ok(Event::Resize(..)) => AppEvent::Resize,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the terminal");
                return;
            }
        };
        if tx.blocking_send(ev).is_err() {
            return;
        }
    }
}

fn connection_thread(
    socket: PathBuf,
    cmds: mpsc::Receiver<NetCmd>,
    events: mpsc::Sender<AppEvent>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = events.blocking_send(AppEvent::Net(NetEvent::Disconnected {
                error: format!("cannot start the I/O runtime: {e}"),
            }));
            return;
        }
    };
    rt.block_on(connection(socket, cmds, events));
}

/// Keeps one connection to the daemon up, forwarding requests and replies.
async fn connection(
    socket: PathBuf,
    mut cmds: mpsc::Receiver<NetCmd>,
    events: mpsc::Sender<AppEvent>,
) {
    // False once the UI has gone.
    let send = |ev: NetEvent| {
        let events = events.clone();
        async move { events.send(AppEvent::Net(ev)).await.is_ok() }
    };
    let mut retry = Duration::from_millis(250);
    loop {
        let client = match Client::connect(&socket, "slmd-tui", FRAME_TIMEOUT).await {
            Ok(c) => c,
            Err(e) => {
                if !send(NetEvent::Disconnected {
                    error: short_error(&e),
                })
                .await
                {
                    return;
                }
                // Requests made while down are the UI's to resend.
                while cmds.try_recv().is_ok() {}
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        retry = Duration::from_millis(250);
        let daemon = client.server().agent.to_string();
        let (mut rd, mut wr) = client.into_split();
        if !send(NetEvent::Connected { daemon }).await {
            return;
        }
        let (reply_tx, mut replies) = mpsc::channel(16);
        let reader = tokio::spawn(async move {
            loop {
                let r = rd.recv(Duration::from_secs(3600)).await;
                let stop = r.is_err();
                if reply_tx.send(r).await.is_err() || stop {
                    return;
                }
            }
        });
        let mut poll = tokio::time::interval(STATUS_EVERY);
        poll.tick().await;
        let error = loop {
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else {
                        reader.abort();
                        return;
                    };
                    if let Err(e) = wr.send(&request(cmd)).await {
                        break short_error(&e);
                    }
                }
                _ = poll.tick() => {
                    if let Err(e) = wr.send(&Request::Status).await {
                        break short_error(&e);
                    }
                }
                r = replies.recv() => match r {
                    Some(Ok(resp)) => {
                        if !send(NetEvent::Reply(Box::new(resp))).await {
                            reader.abort();
                            return;
                        }
                    }
                    Some(Err(e)) => break short_error(&e),
                    None => break "connection closed".into(),
                },
            }
        };
        reader.abort();
        if !send(NetEvent::Disconnected { error }).await {
            return;
        }
    }
}

fn request(cmd: NetCmd) -> Request {
    match cmd {
        NetCmd::Query { id, text } => Request::Query(Box::new(Query {
            id: bounded(&id),
            // The UI refuses over-long text before it gets here.
            text: bounded(&text),
            deadline_ms: None,
            no_egress: false,
        })),
        NetCmd::Status => Request::Status,
        NetCmd::Procedure { id } => Request::Procedure { id: bounded(&id) },
    }
}

fn short_error(e: &ClientError) -> String {
    match e {
        ClientError::Connect { source, .. } => format!("cannot connect: {source}"),
        other => other.to_string(),
    }
}
