//! The terminal explorer (`mclmr explore`, or `mclmr` alone): six screens over one loaded
//! checkpoint — causal graph, user, why this item, alignment, training, bias — built as one state
//! ([`app::App`]), one message type ([`action::Action`]), one mutator ([`update::update`]) and
//! views that only read ([`view`]). Keys are data ([`keymap`]); slow work runs on threads
//! ([`worker`]); [`driver`] runs the same machinery headless for tests, [`bench`] times it.
//!
//! The model code never imports this module; it only reads model types.

pub mod action;
pub mod app;
pub mod bench;
pub mod bias_cache;
pub mod driver;
pub mod keymap;
pub mod load;
pub mod screens;
pub mod search;
pub mod session;
pub mod terminal;
pub mod theme;
pub mod training_state;
pub mod update;
pub mod user_view;
pub mod view;
pub mod whatif_view;
pub mod widgets;
pub mod worker;

pub use action::{Action, Screen};
pub use app::{App, ExploreOptions, DEFAULT_DATA, DEFAULT_MODEL};
pub use driver::Driver;
pub use terminal::run;

#[cfg(test)]
mod tests {
    /// Model handles cross to worker threads.
    #[test]
    fn shared_model_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::train::checkpoint::LoadedModel>();
        check::<crate::data::Dataset>();
        check::<super::Action>();
    }
}
