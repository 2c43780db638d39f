//! `mclmr train`: a backbone (plain or +MCLMR) through [`crate::train::train_to_checkpoint`],
//! with a progress bar, Ctrl-C to cancel and `--resume`; a rule baseline or EASE in one step.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use serde_json::json;

use super::model_cmd::load_data;
use super::DataOpts;
use crate::data::{prepare_for_training, Dataset};
use crate::error::{Error, Result};
use crate::memory::{self, peak_rss_mib, Shape};
use crate::model::{BackboneKind, Config};
use crate::runtime::DeviceSpec;
use crate::train::checkpoint::Checkpoint;
use crate::train::{self, Destination, ResumeState, Status, TrainEvent, TrainJob, TrainOutcome};

/// `mclmr train`
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Dataset directory or event-log file.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub load: DataOpts,
    /// Backbone: mf, lightgcn, cascade, or a baseline: rule-view-cart, rule-cart-view,
    /// rule-conversion, ease (default from config).
    #[arg(long)]
    pub backbone: Option<BackboneKind>,
    /// Train the plain backbone, without the MCLMR modules.
    #[arg(long)]
    pub plain: bool,
    /// Model/training config (TOML); `mclmr config --default` prints the commented defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Maximum epochs (overrides the config).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed (overrides the config).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Learning rate (overrides the config).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Device: `cpu`, `cuda` or `cuda:N` (CUDA needs a build with `--features cuda`).
    #[arg(long, default_value_t)]
    pub device: DeviceSpec,
    /// Where to write the checkpoint (.safetensors); written atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run stored in `--out` (after Ctrl-C or with a larger --epochs).
    #[arg(long)]
    pub resume: bool,
    /// Print the run summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `mclmr config --default`
pub fn print_default_config() {
    print!("{}", crate::model::config::DEFAULT_TOML);
}

/// Effective config of a train command: file, then flags.
pub fn effective_config(args: &TrainArgs) -> Result<Config> {
    let mut cfg = match &args.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    if let Some(b) = args.backbone {
        cfg.model.backbone = b;
    }
    if args.plain {
        cfg.model.mclmr = false;
    }
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    if let Some(s) = args.seed {
        cfg.train.seed = s;
    }
    if let Some(lr) = args.lr {
        cfg.train.lr = lr;
    }
    cfg.validate()?;
    Ok(cfg)
}

/// The config and resume state of `--resume`: the stored run's, with a new `--epochs`.
fn resumed_config(args: &TrainArgs, data: &Dataset) -> Result<(Config, ResumeState)> {
    let ck = Checkpoint::load(&args.out)?;
    ck.check_dataset(&args.out, data)?;
    let mut cfg = ck.config.clone();
    if let Some(e) = args.epochs {
        cfg.train.epochs = e;
    }
    let r = ck.resume.ok_or_else(|| Error::BadCheckpoint {
        file: args.out.clone(),
        problem: "holds no resume state".into(),
        fix: "train again without --resume".into(),
    })?;
    Ok((cfg, r))
}

/// `mclmr train`
pub fn run_train(args: TrainArgs) -> Result<()> {
    let device = args.device.open()?;
    let data = prepare_for_training(load_data(&args.data, &args.load)?);
    let (config, resume) = if args.resume {
        let (c, r) = resumed_config(&args, &data)?;
        (c, Some(r))
    } else {
        (effective_config(&args)?, None)
    };
    if config.model.backbone == BackboneKind::Ease {
        return train_ease(&args, &config, &data);
    }
    for n in train::trainer::setup_notes(&data, &config) {
        eprintln!("note: {n}");
    }
    if config.model.backbone.is_rule() {
        return save_rule(&args, &config, &data);
    }
    if !args.quiet && !args.json {
        eprintln!("effective config:\n{}", config.to_toml());
    }
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let c = cancel.clone();
        // A second handler cannot be installed (tests call this twice in one process): ignore.
        let _ = ctrlc::set_handler(move || c.store(true, Ordering::SeqCst));
    }
    let job = TrainJob {
        data: Arc::new(data),
        config,
        device,
        budget: args.load.budget(),
        memory_fix: "lower model.dim or model.layers (or train.batch_size), drop a behavior \
                     with --behaviors",
        cancel,
        resume,
    };
    let hidden = args.quiet || args.json;
    let mut progress = Progress::new(hidden);
    let saved = train::train_to_checkpoint(job, &Destination::File(args.out.clone()), |ev| {
        progress.on_event(ev)
    })?;
    progress.bar.finish_and_clear();
    report_outcome(&args, &saved.outcome)
}

/// Prints the summary of a finished run and turns a cancelled or diverged run into its error.
fn report_outcome(args: &TrainArgs, outcome: &TrainOutcome) -> Result<()> {
    let mean_epoch = if outcome.history.is_empty() {
        0.0
    } else {
        outcome.history.iter().map(|h| h.train_secs).sum::<f64>() / outcome.history.len() as f64
    };
    let summary = json!({
        "status": outcome.status.label(),
        "best_epoch": outcome.best_epoch,
        "epochs_run": outcome.resume.epoch,
        "valid_NDCG@10": outcome.best_valid,
        "seconds": outcome.seconds,
        "mean_epoch_secs": mean_epoch,
        "peak_rss_mib": peak_rss_mib(),
        "out": args.out.display().to_string(),
    });
    if args.json {
        println!("{summary}");
    } else if !args.quiet {
        eprintln!(
            "{}: best epoch {} of {} (valid NDCG@10 {}), {:.1}s ({:.2}s/epoch); saved {}",
            outcome.status.label(),
            outcome.best_epoch,
            outcome.resume.epoch,
            outcome
                .best_valid
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|| "n/a".into()),
            outcome.seconds,
            mean_epoch,
            args.out.display()
        );
    }
    match &outcome.status {
        Status::Cancelled => {
            eprintln!(
                "cancelled: continue with `mclmr train --resume --out {}` and the same --data",
                args.out.display()
            );
            Err(Error::Cancelled)
        }
        Status::Diverged { epoch, batch, what } => Err(Error::Diverged {
            epoch: *epoch,
            batch: *batch,
            what: what.clone(),
        }),
        _ => Ok(()),
    }
}

/// The one-line JSON summary of a run that has no epochs (a rule or EASE).
fn stepless_summary(status: &str, seconds: f64, args: &TrainArgs) -> serde_json::Value {
    json!({"status": status, "best_epoch": 0, "epochs_run": 0, "valid_NDCG@10": null,
           "seconds": seconds, "mean_epoch_secs": 0.0, "peak_rss_mib": peak_rss_mib(),
           "out": args.out.display().to_string()})
}

/// `mclmr train --backbone rule-…`: nothing to learn; the checkpoint names the rule.
fn save_rule(args: &TrainArgs, config: &Config, data: &Dataset) -> Result<()> {
    memory::ensure(
        &memory::estimate::training(&Shape::of(data), config),
        args.load.budget(),
        "lower model.dim or model.layers (or train.batch_size), drop a behavior with --behaviors",
    )?;
    Checkpoint::rule(config, data).save(&args.out)?;
    if args.json {
        println!("{}", stepless_summary("rule", 0.0, args));
    } else if !args.quiet {
        eprintln!(
            "saved rule baseline `{}` to {}",
            config.model.backbone.name(),
            args.out.display()
        );
    }
    Ok(())
}

/// `mclmr train --backbone ease`: the closed-form solve, then the checkpoint.
fn train_ease(args: &TrainArgs, config: &Config, data: &Dataset) -> Result<()> {
    memory::ensure(
        &memory::estimate::training(&Shape::of(data), config),
        args.load.budget(),
        "EASE holds items × items matrices: use it on a smaller catalogue (filter rare items \
         out of the data) or a machine with more memory; the other baselines and backbones \
         grow with the interactions instead",
    )?;
    let start = std::time::Instant::now();
    let weights = config.ease.weights_for(data.n_behaviors())?;
    let model = crate::model::EaseRanker::fit(data, &config.ease)?;
    let secs = start.elapsed().as_secs_f64();
    Checkpoint::ease(config, data, model.b, secs)?.save(&args.out)?;
    if args.json {
        println!("{}", stepless_summary("closed-form", secs, args));
    } else if !args.quiet {
        let named: Vec<String> = data
            .behavior_names()
            .iter()
            .zip(&weights)
            .map(|(b, w)| format!("{b} ×{w}"))
            .collect();
        eprintln!(
            "fitted EASE (λ = {}, {}) on {} items in {secs:.1}s; saved {}",
            config.ease.lambda,
            named.join(", "),
            data.n_items(),
            args.out.display()
        );
    }
    Ok(())
}

/// The progress bar of a run, and the epoch lines above it.
struct Progress {
    bar: indicatif::ProgressBar,
    quiet: bool,
    first_epoch: usize,
}

impl Progress {
    fn new(hidden: bool) -> Self {
        let bar = if hidden {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            {
                bar.set_style(style);
            }
            bar
        };
        Progress {
            bar,
            quiet: hidden,
            first_epoch: 1,
        }
    }

    fn on_event(&mut self, ev: TrainEvent) {
        match ev {
            TrainEvent::Started {
                first_epoch,
                epochs,
                batches,
                params,
            } => {
                self.first_epoch = first_epoch;
                let steps = (epochs.saturating_sub(first_epoch) + 1) as u64 * batches as u64;
                self.bar.set_length(steps);
                self.bar.set_message(format!("{params} parameters"));
            }
            TrainEvent::Batch {
                epoch,
                batch,
                batches,
                loss,
                eta_secs,
            } => {
                let done = (epoch - self.first_epoch) * batches + batch;
                self.bar.set_position(done as u64);
                self.bar.set_message(format!(
                    "epoch {epoch} batch {batch}/{batches} loss {loss:.4} eta≤{eta_secs:.0}s"
                ));
            }
            TrainEvent::Epoch(r) => self.say(epoch_line(&r)),
            TrainEvent::Stopped { reason } => self.say(format!("stopped: {reason}")),
        }
    }

    /// Prints a line above the bar, or to stderr when there is no bar (not a terminal).
    fn say(&self, line: String) {
        if self.quiet {
            return;
        }
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

/// `epoch   3  loss … (target … aux … cl … bal …)  1.23s valid NDCG@10 …  best 3`
fn epoch_line(r: &train::EpochReport) -> String {
    let v = r
        .valid_ndcg10
        .map(|v| format!(" valid NDCG@10 {v:.4}"))
        .unwrap_or_default();
    let l = &r.loss;
    let mut extra = String::new();
    for (name, v) in [("tier", l.tier), ("orth", l.orth), ("conv", l.conv)] {
        if v != 0.0 {
            extra.push_str(&format!(" {name} {v:.4}"));
        }
    }
    format!(
        "epoch {:>3}  loss {:.4} (target {:.4} aux {:.4} cl {:.4} bal {:.4}{extra})  {:.2}s{v}{raw}  best {}",
        r.epoch,
        l.total,
        l.target,
        l.aux,
        l.cl,
        l.bal,
        r.train_secs,
        r.best_epoch,
        raw = r
            .valid_ndcg10_raw
            .map(|v| format!(" (raw {v:.4})"))
            .unwrap_or_default(),
    )
}
