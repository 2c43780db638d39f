//! The only mutator of the explorer's state (STYLE.md 1): `update(&mut App, Action)`.
//!
//! Cheap work (one user's two rankings, one explanation) is done here, synchronously and timed;
//! anything slower is queued as a [`Job`] for the runner to launch, and its result comes back
//! as another [`Action`].

mod train;

use std::time::Instant;

use crate::analysis::ranking::top_k_scored;
use crate::analysis::{jaccard, rbo};
use crate::explain::explain;
use crate::model::Mode;

use super::action::{Action, BiasResult, CacheNote, Screen};
use super::app::{App, SearchState};
use super::load::Load;
use super::search::{search, MAX_MATCHES};
use super::theme::Meaning;
use super::user_view::{UserView, RBO_P};
use super::view::tab_at;
use super::whatif_view::{compute, history_items, WhatIfState};
use super::worker::Job;

/// Top-K lengths offered by `+` / `-`.
pub const K_STEPS: [usize; 5] = [5, 10, 20, 30, 50];

/// Applies one action to the state.
pub fn update(app: &mut App, action: Action) {
    match action {
        Action::Goto(s) => goto(app, s),
        Action::NextScreen => goto(app, Screen::at(app.screen.index() + 1)),
        Action::PrevScreen => goto(app, Screen::at(app.screen.index() + Screen::ALL.len() - 1)),
        Action::ToggleHelp => app.help = if app.help.is_some() { None } else { Some(0) },
        Action::Quit => {
            if app.training_running() {
                app.confirm_quit = true;
            } else {
                app.should_quit = true;
            }
        }
        Action::Confirm => {
            if app.confirm_quit {
                train::cancel(app);
                app.should_quit = true;
            }
        }
        Action::Back => back(app),
        Action::NextUser => step_user(app, 1),
        Action::PrevUser => step_user(app, -1),
        Action::OpenSearch => {
            app.screen = Screen::User;
            app.help = None;
            let matches = search(&app.ctx.data.user_ids, "", MAX_MATCHES);
            app.user.search = Some(SearchState {
                matches,
                ..SearchState::default()
            });
        }
        Action::SearchInput(c) => edit_search(app, |q| q.push(c)),
        Action::SearchBackspace => edit_search(app, |q| {
            q.pop();
        }),
        Action::SearchSubmit => submit_search(app),
        Action::Up => vertical(app, -1),
        Action::Down => vertical(app, 1),
        Action::Left => horizontal(app, -1),
        Action::Right => horizontal(app, 1),
        Action::Enter => {
            if app.screen == Screen::User && app.selected_item().is_some() {
                app.screen = Screen::Why;
            }
        }
        Action::MoreK => change_k(app, 1),
        Action::LessK => change_k(app, -1),
        Action::Toggle => {
            if app.screen == Screen::Training && !app.training_running() {
                app.training.form.toggle();
            }
        }
        Action::StartTraining => train::start(app),
        Action::CancelTraining => train::cancel(app),
        Action::Evaluate => request_evaluations(app),
        Action::PrevHistory => step_history(app, -1),
        Action::NextHistory => step_history(app, 1),
        Action::ToggleHistory => toggle_history(app),
        Action::RestoreHistory => {
            if !app.user.whatif.dropped.is_empty() {
                app.user.whatif.dropped.clear();
                recompute_whatif(app);
            }
        }
        Action::SwapModel => swap_models(app),
        Action::ToggleTimings => app.show_timings = !app.show_timings,
        Action::Click { column, row } => {
            if row == 0 {
                if let Some(s) = tab_at(column) {
                    goto(app, s);
                }
            }
        }
        Action::Resize(_, _) => {}
        Action::FrameTime(ms) => app.timings.frame_ms = Some(ms),
        Action::AlignmentDone { model, result } => {
            if let Some(slot) = slot_mut(app, model) {
                slot.alignment = Load::from_result(result);
            }
        }
        Action::Evaluated { model, result } => {
            if let Some(slot) = slot_mut(app, model) {
                slot.eval = Load::from_result(result);
            }
        }
        Action::BiasProgress { model, done, total } => {
            if let Some(slot) = slot_mut(app, model) {
                if slot.bias.is_loading() && total > 0 {
                    slot.bias = Load::Loading {
                        progress: Some(done as f64 / total as f64),
                    };
                }
            }
        }
        Action::BiasDone { model, result } => {
            if let Ok(BiasResult {
                cache: CacheNote::NotWritten(why),
                ..
            }) = result.as_deref()
            {
                app.status = Some((Meaning::Alert, format!("bias cache not written: {why}")));
            }
            if let Some(slot) = slot_mut(app, model) {
                slot.bias = Load::from_result(result);
            }
        }
        Action::GroupsDone { model, result } => {
            if let Some(slot) = slot_mut(app, model) {
                slot.groups = Load::from_result(result);
            }
        }
        Action::Train { run, msg } => train::on_message(app, run, msg),
    }
}

fn slot_mut(app: &mut App, id: u64) -> Option<&mut super::session::ModelSlot> {
    if app.active.id == id {
        Some(&mut app.active)
    } else {
        app.other.as_mut().filter(|o| o.id == id)
    }
}

fn goto(app: &mut App, s: Screen) {
    app.screen = s;
    app.help = None;
    app.user.search = None;
    match s {
        Screen::Alignment => request_alignment(app),
        Screen::Training => request_evaluations(app),
        Screen::Bias => request_bias(app),
        _ => {}
    }
}

/// Queues the bias analysis of the active model unless it is done or running (or the model has
/// no confounder terms: the screen says so instead).
pub fn request_bias(app: &mut App) {
    if app.active.ranker().has_causal() && app.active.bias.needs_start() {
        app.active.bias = Load::loading();
        app.jobs.push(Job::Bias {
            model: app.active.id,
            loaded: app.active.model.clone(),
            data: app.ctx.data.clone(),
            cache_dir: app.cache_dir.clone(),
        });
    }
}

fn step_history(app: &mut App, dir: i64) {
    let n = app.user.view.ready().map_or(0, |v| history_items(v).len());
    if n > 0 {
        let w = &mut app.user.whatif;
        w.cursor = (w.cursor as i64 + dir).clamp(0, n as i64 - 1) as usize;
    }
}

fn toggle_history(app: &mut App) {
    let cursor = app.user.whatif.cursor;
    let Some((b, i, _)) = app
        .user
        .view
        .ready()
        .and_then(|v| history_items(v).get(cursor).copied())
    else {
        return;
    };
    let w = &mut app.user.whatif;
    match w.dropped.iter().position(|&x| x == (b, i)) {
        Some(p) => {
            w.dropped.remove(p);
        }
        None => w.dropped.push((b, i)),
    }
    recompute_whatif(app);
}

/// Re-ranks the selected user with the toggled-out history (the focused list's mode, following
/// the selected item).
fn recompute_whatif(app: &mut App) {
    let mode = if app.user.raw_focus {
        Mode::Raw
    } else {
        Mode::Do
    };
    let item = app.selected_item();
    app.user.whatif.result = compute(
        &app.active,
        &app.ctx.data,
        app.user.user,
        &app.user.whatif.dropped,
        item,
        app.user.k,
        mode,
    );
}

fn back(app: &mut App) {
    if app.confirm_quit {
        app.confirm_quit = false;
    } else if app.help.is_some() {
        app.help = None;
    } else if app.user.search.is_some() {
        app.user.search = None;
    } else if app.screen == Screen::Why {
        app.screen = Screen::User;
    }
}

fn step_user(app: &mut App, dir: i64) {
    let n = app.ctx.data.n_users() as i64;
    if n == 0 {
        return;
    }
    let u = (i64::from(app.user.user) + dir).rem_euclid(n) as u32;
    select_user(app, u);
}

fn edit_search(app: &mut App, f: impl FnOnce(&mut String)) {
    let ids = &app.ctx.data.user_ids;
    if let Some(s) = app.user.search.as_mut() {
        f(&mut s.query);
        s.matches = search(ids, &s.query, MAX_MATCHES);
        s.sel = 0;
    }
}

fn submit_search(app: &mut App) {
    let Some(s) = app.user.search.take() else {
        return;
    };
    match s.matches.get(s.sel) {
        Some(&u) => select_user(app, u),
        None => app.status = Some((Meaning::Alert, format!("no user id matches `{}`", s.query))),
    }
}

/// Selects user `u`: both rankings, history, routing (timed), then the item under the cursor.
pub fn select_user(app: &mut App, u: u32) {
    let t0 = Instant::now();
    if u != app.user.user {
        app.user.whatif = WhatIfState::default();
    }
    app.user.user = u;
    app.user.view = Load::from_result(UserView::compute(&app.ctx, &app.active, u, app.user.k));
    app.model_overlap = other_overlap(app);
    app.timings.user_switch_ms = Some(t0.elapsed().as_secs_f64() * 1e3);
    let len = list_len(app);
    app.user.cursor = app.user.cursor.min(len.saturating_sub(1));
    explain_selected(app);
}

/// `(Jaccard, RBO)` of the selected user's `do` lists under the two checkpoints.
fn other_overlap(app: &App) -> Option<(f64, f64)> {
    let other = app.other.as_ref()?;
    let view = app.user.view.ready()?;
    let u = app.user.user;
    let theirs = top_k_scored(other.ranker(), u, Mode::Do, app.user.k, app.ctx.mask(u)).ok()?;
    let a: Vec<u32> = view.do_list.iter().map(|x| x.0).collect();
    let b: Vec<u32> = theirs.iter().map(|x| x.0).collect();
    Some((jaccard(&a, &b), rbo(&a, &b, RBO_P)))
}

fn list_len(app: &App) -> usize {
    app.user.view.ready().map_or(0, |v| {
        if app.user.raw_focus {
            v.raw_list.len()
        } else {
            v.do_list.len()
        }
    })
}

/// Recomputes the explanation of the selected item (timed).
fn explain_selected(app: &mut App) {
    let t0 = Instant::now();
    app.why = match app.selected_item() {
        Some(i) => Load::Ready(explain(
            app.active.ranker(),
            &app.ctx.data,
            app.user.user,
            i,
        )),
        None => Load::Idle,
    };
    recompute_whatif(app);
    app.timings.item_switch_ms = Some(t0.elapsed().as_secs_f64() * 1e3);
}

fn vertical(app: &mut App, dir: i64) {
    if let Some(h) = app.help.as_mut() {
        *h = if dir < 0 {
            h.saturating_sub(1)
        } else {
            h.saturating_add(1).min(200)
        };
        return;
    }
    if let Some(s) = app.user.search.as_mut() {
        let n = s.matches.len();
        if n > 0 {
            s.sel = (s.sel as i64 + dir).clamp(0, n as i64 - 1) as usize;
        }
        return;
    }
    match app.screen {
        Screen::User | Screen::Why => {
            let n = list_len(app);
            if n > 0 {
                let c = (app.user.cursor as i64 + dir).clamp(0, n as i64 - 1) as usize;
                if c != app.user.cursor {
                    app.user.cursor = c;
                    explain_selected(app);
                }
            }
        }
        Screen::Alignment => {
            let n = app.active.alignment.ready().map_or(0, |r| r.rows.len());
            if n > 0 {
                app.align_row = (app.align_row as i64 + dir).clamp(0, n as i64 - 1) as usize;
            }
        }
        Screen::Training => {
            if !app.training_running() {
                let n = super::training_state::Field::ALL.len() as i64;
                let f = &mut app.training.form.field;
                *f = (*f as i64 + dir).rem_euclid(n) as usize;
            }
        }
        Screen::Bias => {
            let n = app.active.bias.ready().map_or(0, |r| {
                if app.bias_exposure {
                    r.analysis.exposure_gain.len()
                } else {
                    r.analysis.most_pushed.len()
                }
            });
            if n > 0 {
                app.bias_row = (app.bias_row as i64 + dir).clamp(0, n as i64 - 1) as usize;
            }
        }
        Screen::Graph => {}
    }
}

fn horizontal(app: &mut App, dir: i32) {
    match app.screen {
        Screen::User | Screen::Why => {
            let raw = dir > 0;
            if raw != app.user.raw_focus {
                app.user.raw_focus = raw;
                let len = list_len(app);
                app.user.cursor = app.user.cursor.min(len.saturating_sub(1));
                explain_selected(app);
            }
        }
        Screen::Training if !app.training_running() => app.training.form.adjust(dir),
        Screen::Bias if app.bias_exposure != (dir > 0) => {
            app.bias_exposure = dir > 0;
            app.bias_row = 0;
        }
        _ => {}
    }
}

fn change_k(app: &mut App, dir: i32) {
    let k = app.user.k;
    let next = if dir > 0 {
        K_STEPS.iter().copied().find(|&s| s > k)
    } else {
        K_STEPS.iter().rev().copied().find(|&s| s < k)
    };
    if let Some(k) = next {
        app.user.k = k;
        let u = app.user.user;
        select_user(app, u);
    }
}

/// Queues the alignment report of the active model unless it is done or running.
pub fn request_alignment(app: &mut App) {
    if app.active.alignment.needs_start() {
        app.active.alignment = Load::loading();
        app.jobs.push(Job::Alignment {
            model: app.active.id,
            loaded: app.active.model.clone(),
        });
    }
}

/// Queues full evaluations of both checkpoints (those not done or running) and the active one's
/// per-stratum metrics.
pub fn request_evaluations(app: &mut App) {
    let data = app.ctx.data.clone();
    let mut jobs = Vec::new();
    for slot in std::iter::once(&mut app.active).chain(app.other.as_mut()) {
        if slot.eval.needs_start() {
            slot.eval = Load::loading();
            jobs.push(Job::Evaluate {
                model: slot.id,
                loaded: slot.model.clone(),
                data: data.clone(),
            });
        }
    }
    // Per-stratum metrics of the active checkpoint only (a second full ranking).
    if app.active.groups.needs_start() {
        app.active.groups = Load::loading();
        jobs.push(Job::Groups {
            model: app.active.id,
            loaded: app.active.model.clone(),
            data,
        });
    }
    app.jobs.extend(jobs);
}

fn swap_models(app: &mut App) {
    let Some(other) = app.other.take() else {
        app.status = Some((
            Meaning::Alert,
            "no other checkpoint yet: retrain one on the Training screen (5, then s)".into(),
        ));
        return;
    };
    let previous = std::mem::replace(&mut app.active, other);
    app.other = Some(previous);
    app.status = Some((
        Meaning::Ok,
        format!(
            "now exploring {} ({})",
            app.active.label, app.active.summary
        ),
    ));
    let u = app.user.user;
    select_user(app, u);
    request_alignment(app);
    if app.screen == Screen::Bias {
        request_bias(app);
    }
}
