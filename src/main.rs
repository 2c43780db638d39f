//! The `mclmr` binary: parses the command line and hands over to the library.

use std::any::Any;

/// mimalloc instead of the system allocator: training allocates and frees tensors of several
/// MiB per op, which glibc's malloc serves with fresh `mmap`s (page faults and zeroing on every
/// op). Measured with `mclmr bench` on Taobao, buy only, plain LightGCN: 7.98 s per epoch with
/// glibc's malloc, see docs/PERFORMANCE.md for the figure with this one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Whether a panic is `println!` failing because the reader of stdout went away
/// (`mclmr eval … | head`). Rust ignores SIGPIPE, so the write fails with `EPIPE` and
/// `println!` panics; the crate forbids the `unsafe` that restoring the signal would need.
fn is_broken_pipe(text: Option<&str>) -> bool {
    text.is_some_and(|t| t.starts_with("failed printing to stdout") && t.contains("Broken pipe"))
}

/// The message of a panic caught by `catch_unwind`.
fn message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
}

fn main() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload_as_str()) {
            default_hook(info);
        }
    }));
    // A closed pipe ends the command quietly, as it does for `grep` or `sort`; any other panic
    // keeps its message and exit code.
    match std::panic::catch_unwind(mclmr::cli::main) {
        Ok(code) => std::process::exit(code),
        Err(payload) if is_broken_pipe(message(&*payload)) => std::process::exit(0),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}
