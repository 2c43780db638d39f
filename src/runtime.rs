//! Process-wide runtime settings for the tensor library, the device a command names and the
//! seeded random streams.
//!
//! candle 0.11 runs large element-wise ops on its own spinning thread pool, next to rayon's
//! pool (used by the SpMM op, matmul and ranking). On a 2-core machine the two pools spin
//! against each other: measured on the sample data, an MF+MCLMR epoch took 2.23 s with
//! `CANDLE_NUM_THREADS=2` and 0.52 s with `1` (identical results). So unless the user chose a
//! value, candle's element-wise pool is kept to the calling thread; rayon still uses all cores.

use std::sync::Once;

use candle_core::Device;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::error::{Error, Result};

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

/// The device a command runs on: `cpu`, `cuda` (= `cuda:0`) or `cuda:N`. Parsing only checks the
/// name; [`DeviceSpec::open`] finds out whether the device exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    #[default]
    Cpu,
    Cuda(usize),
}

const DEVICE_FIX: &str = "use --device cpu, or cuda:N with a build made with `--features cuda` \
                          on a machine with an NVIDIA GPU";

impl std::str::FromStr for DeviceSpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let unknown = || format!("unknown device `{s}`\n  fix: {DEVICE_FIX}");
        match s {
            "cpu" => Ok(DeviceSpec::Cpu),
            _ => match s.strip_prefix("cuda") {
                Some("") => Ok(DeviceSpec::Cuda(0)),
                Some(rest) => rest
                    .strip_prefix(':')
                    .and_then(|n| n.parse::<usize>().ok())
                    .map(DeviceSpec::Cuda)
                    .ok_or_else(unknown),
                None => Err(unknown()),
            },
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceSpec {
    /// The candle device; a CUDA device that this build or machine lacks is a bad argument.
    pub fn open(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Cuda(n) => Device::new_cuda(n).map_err(|e| {
                Error::bad_arg(
                    format!("CUDA device unavailable ({e})"),
                    self.to_string(),
                    DEVICE_FIX,
                )
            }),
        }
    }

    /// Parses and opens a device name (the explorer's form holds names as text).
    pub fn open_named(name: &str) -> Result<Device> {
        let spec: DeviceSpec = name
            .parse()
            .map_err(|_| Error::bad_arg("unknown device", name, DEVICE_FIX))?;
        spec.open()
    }
}

/// The seeded RNG of one stream (`epoch`) of a run: the sampler draws epoch `e` from stream
/// `e`, and the validation carve from stream `usize::MAX`.
pub fn epoch_rng(seed: u64, epoch: usize) -> StdRng {
    StdRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

#[cfg(test)]
mod tests {
    use super::DeviceSpec;

    #[test]
    fn device_names_round_trip() {
        for (s, d) in [
            ("cpu", DeviceSpec::Cpu),
            ("cuda", DeviceSpec::Cuda(0)),
            ("cuda:3", DeviceSpec::Cuda(3)),
        ] {
            assert_eq!(s.parse::<DeviceSpec>(), Ok(d));
        }
        assert_eq!(DeviceSpec::Cuda(0).to_string(), "cuda:0");
        for bad in ["tpu", "cuda:", "cuda:x", "cuda0", "CPU"] {
            let e = bad.parse::<DeviceSpec>().unwrap_err();
            assert!(
                e.contains(bad) && e.contains("fix: use --device cpu"),
                "{e}"
            );
        }
    }
}
