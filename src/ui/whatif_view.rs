//! What-if toggles of the User and Why screens: items of the selected user's history are taken
//! out (and put back) and the user is re-ranked by [`analysis::whatif::what_if`], the function
//! of `mclmr whatif`, so the screen and the command say the same, including what is
//! approximated.
//!
//! [`analysis::whatif::what_if`]: crate::analysis::whatif::what_if

use crate::analysis::whatif::{what_if, Edit, Query, WhatIf};
use crate::analysis::{rank_moves, Move};
use crate::data::Dataset;
use crate::model::Mode;

use super::load::Load;
use super::session::ModelSlot;
use super::user_view::UserView;

/// The history toggles of the selected user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WhatIfState {
    /// Selected entry of [`history_items`].
    pub cursor: usize,
    /// `(behavior, item)` interactions taken out, in the order they were toggled.
    pub dropped: Vec<(usize, u32)>,
    /// The re-ranking with those interactions dropped (Idle while nothing is dropped).
    pub result: Load<WhatIf>,
}

impl WhatIfState {
    /// True when `(behavior, item)` is toggled out.
    pub fn is_dropped(&self, behavior: usize, item: u32) -> bool {
        self.dropped.contains(&(behavior, item))
    }
}

/// The toggleable history entries `(behavior, item, count)`: the items each behavior row of the
/// User screen lists, weakest behavior first.
pub fn history_items(view: &UserView) -> Vec<(usize, u32, u32)> {
    view.history
        .iter()
        .enumerate()
        .flat_map(|(b, h)| h.first.iter().map(move |&(i, c)| (b, i, c)))
        .collect()
}

/// Re-ranks `user` with `dropped` taken out of the history: top-`k` in `mode`, following `item`.
pub fn compute(
    slot: &ModelSlot,
    data: &Dataset,
    user: u32,
    dropped: &[(usize, u32)],
    item: Option<u32>,
    k: usize,
    mode: Mode,
) -> Load<WhatIf> {
    if dropped.is_empty() {
        return Load::Idle;
    }
    let q = Query {
        user,
        edits: dropped
            .iter()
            .map(|&(behavior, item)| Edit {
                behavior,
                item,
                add: false,
            })
            .collect(),
        item,
        k,
        mode,
    };
    let backbone = slot.model.checkpoint.config.model.backbone;
    Load::from_result(what_if(slot.ranker(), backbone, data, &q).map_err(|e| e.to_string()))
}

/// A what-if list as `(item, score)` with dense indices (ids the dataset does not know are
/// left out; what_if only returns the dataset's own).
pub fn dense(data: &Dataset, list: &[crate::analysis::whatif::Ranked]) -> Vec<(u32, f32)> {
    list.iter()
        .filter_map(|r| data.item_index(&r.item).map(|i| (i, r.score)))
        .collect()
}

/// The before and after lists with their moves: a `before` item's move is where it goes after
/// the edits (`Down(2)`: two ranks lower; `Absent`: pushed out), an `after` item's where it
/// came from (`Absent`: new).
pub struct Lists {
    /// Top-K before the edits.
    pub before: Vec<(u32, f32)>,
    /// Moves of `before`'s items (to their rank after).
    pub before_moves: Vec<Move>,
    /// Top-K after the edits.
    pub after: Vec<(u32, f32)>,
    /// Moves of `after`'s items (from their rank before).
    pub after_moves: Vec<Move>,
}

/// [`Lists`] of a what-if result.
pub fn lists(data: &Dataset, w: &WhatIf) -> Lists {
    let before = dense(data, &w.before);
    let after = dense(data, &w.after);
    let b: Vec<u32> = before.iter().map(|x| x.0).collect();
    let a: Vec<u32> = after.iter().map(|x| x.0).collect();
    let flip = |m: Move| match m {
        Move::Up(n) => Move::Down(n),
        Move::Down(n) => Move::Up(n),
        other => other,
    };
    Lists {
        before_moves: rank_moves(&b, &a).into_iter().map(flip).collect(),
        after_moves: rank_moves(&a, &b),
        before,
        after,
    }
}
