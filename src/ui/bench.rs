//! Timing functions for benchmarks and the speed checks of the explorer: user switch (both
//! rankings, history, routing), item switch (one explanation), frame rendering, start-up.
//! Each returns milliseconds and leaves the state untouched.

use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::error::Result;
use crate::explain::explain;

use super::app::{App, ExploreOptions};
use super::user_view::UserView;

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median ms to compute the User screen of `runs` successive users after the selected one.
pub fn user_switch_ms_n(app: &App, runs: usize) -> f64 {
    let n = app.data().n_users().max(1) as u32;
    let times = (1..=runs as u32)
        .map(|k| {
            let u = (app.user.user + k) % n;
            let t = Instant::now();
            let _ = UserView::compute(&app.ctx, &app.active, u, app.user.k);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(times)
}

/// Median ms of a user switch (see [`user_switch_ms_n`], 9 users).
pub fn user_switch_ms(app: &App) -> f64 {
    user_switch_ms_n(app, 9)
}

/// Median ms to explain each item of the selected user's `do` list (an item switch).
pub fn item_switch_ms(app: &App) -> f64 {
    let Some(view) = app.user.view.ready() else {
        return 0.0;
    };
    let times = view
        .do_list
        .iter()
        .map(|&(i, _)| {
            let t = Instant::now();
            let _ = explain(app.active.ranker(), app.data(), app.user.user, i);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(times)
}

/// Median ms to render the current screen into a `width × height` buffer (9 frames).
pub fn frame_ms(app: &App, width: u16, height: u16) -> f64 {
    let area = Rect::new(0, 0, width, height);
    let times = (0..9)
        .map(|_| {
            let mut buf = Buffer::empty(area);
            let t = Instant::now();
            app.render(area, &mut buf);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(times)
}

/// Ms to load the dataset and checkpoint and build the first screen (start-up without the
/// terminal).
pub fn startup_ms(opts: &ExploreOptions) -> Result<f64> {
    let t = Instant::now();
    let _app = App::load(opts)?;
    Ok(t.elapsed().as_secs_f64() * 1e3)
}
