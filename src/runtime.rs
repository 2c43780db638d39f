//! Process-wide runtime settings for the tensor library.
//!
//! candle 0.11 runs large element-wise ops on its own spinning thread pool, next to rayon's
//! pool (used by the SpMM op, matmul and ranking). On a 2-core machine the two pools spin
//! against each other: measured on the sample data, an MF+MCLMR epoch took 2.23 s with
//! `CANDLE_NUM_THREADS=2` and 0.52 s with `1` (identical results). So unless the user chose a
//! value, candle's element-wise pool is kept to the calling thread; rayon still uses all cores.

use std::sync::Once;

static INIT: Once = Once::new();

/// Sets `CANDLE_NUM_THREADS=1` unless it is already set. Must run before the first tensor op;
/// called by the CLI entry point and by [`crate::model::Net`] constructors.
pub fn init() {
    INIT.call_once(|| {
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
    });
}
