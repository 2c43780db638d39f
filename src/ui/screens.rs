//! The six screens. Each exposes `render(&App, Rect, &mut Buffer)` and only reads the state.

pub mod alignment;
pub mod bias;
pub mod graph;
pub mod graph_draw;
pub mod search;
pub mod training;
pub mod training_charts;
pub mod user;
pub mod whatif;
pub mod why;
