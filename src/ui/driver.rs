//! A headless runner for tests and benchmarks: the same keymap, `update` and workers as the
//! terminal loop, with rendering into a fixed-size [`TestBackend`] and a `settle` that waits for
//! background jobs. Nothing here touches the real terminal.

use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::action::Action;
use super::app::App;
use super::keymap::action_for;
use super::update::update;
use super::view::draw;
use super::worker::Workers;

/// An app plus its workers, driven by injected keys and actions.
pub struct Driver {
    /// The state under test.
    pub app: App,
    workers: Option<Workers>,
    rx: Receiver<Action>,
}

impl Driver {
    /// A driver whose background jobs really run (on threads).
    pub fn new(app: App) -> Self {
        let (tx, rx) = mpsc::channel();
        let mut d = Driver {
            app,
            workers: Some(Workers::new(tx)),
            rx,
        };
        d.launch();
        d
    }

    /// A driver that drops background jobs (their panels stay "computing"); for fuzzing.
    pub fn without_workers(app: App) -> Self {
        let (_tx, rx) = mpsc::channel();
        let mut d = Driver {
            app,
            workers: None,
            rx,
        };
        d.launch();
        d
    }

    fn launch(&mut self) {
        for job in self.app.take_jobs() {
            if let Some(w) = &self.workers {
                w.launch(job);
            }
        }
    }

    /// Applies an action (and launches the jobs it queues).
    pub fn dispatch(&mut self, action: Action) {
        update(&mut self.app, action);
        self.launch();
    }

    /// Presses a key event through the keymap; returns true when it mapped to an action.
    pub fn press(&mut self, ev: KeyEvent) -> bool {
        match action_for(&self.app, &ev) {
            Some(a) => {
                self.dispatch(a);
                true
            }
            None => false,
        }
    }

    /// Presses a key without modifiers.
    pub fn key(&mut self, code: KeyCode) -> bool {
        self.press(KeyEvent::new(code, KeyModifiers::NONE))
    }

    /// Types each character of `s` as a key press.
    pub fn keys(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Applies the worker results available now; returns how many.
    pub fn pump(&mut self) -> usize {
        let mut n = 0;
        while let Ok(a) = self.rx.try_recv() {
            self.dispatch(a);
            n += 1;
        }
        n
    }

    /// Applies worker results until no job is running (or `timeout`); true when settled.
    pub fn settle(&mut self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            self.pump();
            let running = self.workers.as_ref().map_or(0, Workers::running);
            if running == 0 {
                // A job may have sent its last message right before finishing.
                self.pump();
                if self.workers.as_ref().map_or(0, Workers::running) == 0 {
                    return true;
                }
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            if let Ok(a) = self
                .rx
                .recv_timeout((end - now).min(Duration::from_millis(20)))
            {
                self.dispatch(a);
            }
        }
    }

    /// Renders the app into a `width × height` test terminal.
    pub fn render(&self, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(width, height))
            .unwrap_or_else(|e: std::convert::Infallible| match e {});
        let _ = t.draw(|f| draw(f, &self.app));
        t
    }
}
