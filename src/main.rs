//! The `mclmr` binary: parses the command line and hands over to the library.

/// mimalloc instead of the system allocator: training allocates and frees tensors of several
/// MiB per op, which glibc's malloc serves with fresh `mmap`s (page faults and zeroing on every
/// op). Measured with `mclmr bench` on Taobao, buy only, plain LightGCN: 7.98 s per epoch with
/// glibc's malloc, see docs/PERFORMANCE.md for the figure with this one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(mclmr::cli::main());
}
