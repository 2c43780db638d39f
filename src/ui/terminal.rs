//! The real terminal: raw mode and the alternate screen through `ratatui::try_init` /
//! `ratatui::try_restore`, mouse capture, a panic hook and SIGINT/SIGTERM/SIGHUP handling that
//! always give the terminal back, and the event loop (crossterm events polled with a timeout,
//! worker results drained between them, a redraw only when something changed).

use std::io::stdout;
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind, MouseEventKind,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::LeaveAlternateScreen;
use ratatui::DefaultTerminal;

use crate::error::{Error, Result};

use super::action::Action;
use super::app::{App, ExploreOptions};
use super::keymap::action_for;
use super::update::update;
use super::view::draw;
use super::worker::Workers;

fn io_err(e: std::io::Error) -> Error {
    Error::Other(format!("terminal: {e}"))
}

/// Opens the explorer in the terminal and runs it until the user quits or a signal arrives.
pub fn run(opts: ExploreOptions) -> Result<()> {
    let t0 = Instant::now();
    // Load before touching the terminal: load errors print like any other command's.
    let mut app = App::load(&opts)?;
    let loaded = format!("loaded in {:.0} ms", t0.elapsed().as_secs_f64() * 1e3);
    let note = match app.data().notes.first() {
        Some(n) => format!("{loaded} · note: {n}"),
        None => format!("{loaded} · press ? for keys"),
    };
    if !matches!(app.status, Some((super::theme::Meaning::Alert, _))) {
        app.status = Some((super::theme::Meaning::Muted, note));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    {
        let (stop, done) = (stop.clone(), done.clone());
        // Fails only when a handler exists already (then that one decides): fine either way.
        let _ = ctrlc::set_handler(move || on_signal(&stop, &done));
    }
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            // Undo whatever part of the set-up succeeded (raw mode, alternate screen).
            restore_terminal();
            return Err(Error::Other(format!(
                "cannot open the terminal ({e}); the explorer needs an interactive terminal"
            )));
        }
    };
    install_panic_hook();
    let _ = execute!(stdout(), EnableMouseCapture);
    let result = event_loop(&mut terminal, app, &stop);
    if !done.swap(true, Ordering::SeqCst) {
        restore_terminal();
    }
    result
}

/// Gives the terminal back: mouse capture off, then `ratatui::try_restore` (raw mode off,
/// alternate screen left). Errors are ignored on purpose: `ratatui::restore` prints them with
/// `eprintln!`, which panics when the terminal is gone (SIGHUP), and there is nothing left to do
/// about a terminal that cannot be written to.
fn restore_terminal() {
    let _ = execute!(stdout(), DisableMouseCapture);
    if ratatui::try_restore().is_err() {
        let _ = execute!(stdout(), LeaveAlternateScreen);
    }
}

/// SIGINT/SIGTERM/SIGHUP (on ctrlc's own thread, not in signal context): ask the event loop to
/// stop, and if it has not finished within half a second, restore the terminal and exit from
/// here. Why: when the terminal itself goes away (SIGHUP), crossterm's reader spins on the
/// closed tty and never returns to the loop (measured: 100% CPU, no exit), so the loop cannot be
/// relied on to notice the flag.
fn on_signal(stop: &AtomicBool, done: &AtomicBool) {
    stop.store(true, Ordering::SeqCst);
    for _ in 0..20 {
        if done.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    if !done.swap(true, Ordering::SeqCst) {
        restore_terminal();
        std::process::exit(130);
    }
}

/// ratatui's hook (installed by `try_init`) restores the terminal and prints the panic. Worker
/// threads catch their own panics and report them in their panel, so for them the terminal is
/// left alone and nothing is printed over the screen.
fn install_panic_hook() {
    let ui_thread = std::thread::current().id();
    let restore_and_report = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            let _ = execute!(stdout(), DisableMouseCapture);
            restore_and_report(info);
        }
    }));
}

fn event_loop(terminal: &mut DefaultTerminal, mut app: App, stop: &AtomicBool) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let workers = Workers::new(tx);
    let mut dirty = true;
    loop {
        for job in app.take_jobs() {
            workers.launch(job);
        }
        if dirty {
            let t = Instant::now();
            terminal.draw(|f| draw(f, &app)).map_err(io_err)?;
            update(&mut app, Action::FrameTime(t.elapsed().as_secs_f64() * 1e3));
            dirty = false;
        }
        let signalled = stop.load(Ordering::SeqCst);
        if signalled || app.should_quit {
            if let Some(c) = &app.training.cancel {
                c.store(true, Ordering::SeqCst);
            }
            // A signal ends the process like Ctrl-C ends `mclmr train`: status 130.
            return if signalled {
                Err(Error::Cancelled)
            } else {
                Ok(())
            };
        }
        while let Ok(a) = rx.try_recv() {
            update(&mut app, a);
            dirty = true;
        }
        let timeout = if workers.running() > 0 {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(250)
        };
        if !event::poll(timeout).map_err(io_err)? {
            continue;
        }
        // Drain every pending event before the next frame (fast typing, resize storms).
        loop {
            let action = match event::read().map_err(io_err)? {
                Event::Key(k) if k.kind != KeyEventKind::Release => action_for(&app, &k),
                Event::Mouse(m) => match m.kind {
                    MouseEventKind::Down(_) => Some(Action::Click {
                        column: m.column,
                        row: m.row,
                    }),
                    MouseEventKind::ScrollUp => Some(Action::Up),
                    MouseEventKind::ScrollDown => Some(Action::Down),
                    _ => None,
                },
                Event::Resize(w, h) => Some(Action::Resize(w, h)),
                _ => None,
            };
            if let Some(a) = action {
                update(&mut app, a);
                dirty = true;
            }
            if !event::poll(Duration::ZERO).map_err(io_err)? {
                break;
            }
        }
    }
}
