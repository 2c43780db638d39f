//! What the model commands share: the `--model`/`--data` flags, loading both, and turning
//! original user and item ids into indices with an error that shows valid ones.

use std::path::{Path, PathBuf};

use clap::Args;

use super::DataOpts;
use crate::data::{load_dataset, prepare_for_training, Dataset};
use crate::error::{Error, Result};
use crate::memory::{self, Shape};
use crate::runtime::DeviceSpec;
use crate::train::checkpoint::{restore, Checkpoint, LoadedModel};

/// Options shared by the commands that read a model.
#[derive(Debug, Args)]
pub struct ModelOpts {
    /// Checkpoint written by `mclmr train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Dataset directory or event-log file the model was trained on.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub load: DataOpts,
    /// Device: `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value_t)]
    pub device: DeviceSpec,
}

/// Loads the dataset of a command.
pub fn load_data(path: &Path, opts: &DataOpts) -> Result<Dataset> {
    opts.check_loading(path)?;
    let data = load_dataset(path, &opts.load_options())?;
    for n in &data.notes {
        eprintln!("note: {n}");
    }
    Ok(data)
}

pub(crate) fn resolve_user(data: &Dataset, id: &str) -> Result<u32> {
    data.user_index(id).ok_or_else(|| {
        let some: Vec<&str> = data.user_ids.iter().take(5).map(|s| s.as_str()).collect();
        Error::bad_arg(
            "unknown user id",
            id,
            format!(
                "use an original user id of this dataset, e.g. {}",
                some.join(", ")
            ),
        )
    })
}

pub(crate) fn resolve_item(data: &Dataset, id: &str) -> Result<u32> {
    data.item_index(id).ok_or_else(|| {
        let some: Vec<&str> = data.item_ids.iter().take(5).map(|s| s.as_str()).collect();
        Error::bad_arg(
            "unknown item id",
            id,
            format!(
                "use an original item id of this dataset, e.g. {}",
                some.join(", ")
            ),
        )
    })
}

pub(crate) fn open(m: &ModelOpts) -> Result<(Dataset, LoadedModel)> {
    let device = m.device.open()?;
    let data = prepare_for_training(load_data(&m.data, &m.load)?);
    let ck = Checkpoint::load(&m.model)?;
    let size = std::fs::metadata(&m.model).map_or(0, |f| f.len());
    memory::ensure(
        &memory::estimate::evaluation(&Shape::of(&data), &ck.config, size),
        m.load.budget(),
        "retrain with a smaller model.dim or use a machine with more memory",
    )?;
    let model = restore(ck, &m.model, &data, &device)?;
    Ok((data, model))
}
