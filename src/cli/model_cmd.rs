//! `mclmr train | eval | recommend | explain | export | config`: thin shells over the library.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use candle_core::Device;
use clap::Args;

use super::DataOpts;
use crate::data::{load_dataset, Dataset};
use crate::error::{Error, Result};
use crate::eval::{self, metrics::KS};
use crate::explain::explain;
use crate::memory::{self, Shape};
use crate::model::{BackboneKind, Config, Mode, Ranker};
use crate::train::checkpoint::{restore, Checkpoint, LoadedModel};
use crate::train::{self, Status, TrainEvent, TrainOptions};

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
    #[arg(long, default_value = "cpu")]
    pub device: String,
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
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// `mclmr eval`
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Print JSON: {"do":{"HR@10":…},"raw":{…},"bias":{…},"interventional":{…},"routing":{…}}.
    #[arg(long)]
    pub json: bool,
    /// Also write every user's expert gates and effective evidence weights to this TSV file.
    #[arg(long, value_name = "FILE")]
    pub gates: Option<PathBuf>,
    /// Metrics per group instead: `stratum` (user habit strata, item strata, popularity buckets).
    #[arg(long, value_enum)]
    pub by: Option<super::causal_cmd::By>,
}

/// `mclmr recommend`
#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Original user id.
    #[arg(long)]
    pub user: String,
    /// Number of items.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Ranking: `do` (debiased, default) or `raw` (observational).
    #[arg(long, default_value = "do")]
    pub mode: Mode,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mclmr explain`
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Original user id.
    #[arg(long)]
    pub user: String,
    /// Original item id.
    #[arg(long)]
    pub item: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mclmr export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub m: ModelOpts,
    /// Output file: `.csv`, `.json` or `.parquet` (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Items per user.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Ranking: `do` or `raw`.
    #[arg(long, default_value = "do")]
    pub mode: Mode,
}

/// Parses `cpu`, `cuda`, `cuda:N`.
pub fn parse_device(s: &str) -> Result<Device> {
    let fix = "use --device cpu, or cuda:N with a build made with `--features cuda` on a machine with an NVIDIA GPU";
    match s {
        "cpu" => Ok(Device::Cpu),
        _ => {
            let n = match s.strip_prefix("cuda") {
                Some("") => 0,
                Some(rest) => rest
                    .strip_prefix(':')
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| Error::bad_arg("unknown device", s, fix))?,
                None => return Err(Error::bad_arg("unknown device", s, fix)),
            };
            Device::new_cuda(n)
                .map_err(|e| Error::bad_arg(format!("CUDA device unavailable ({e})"), s, fix))
        }
    }
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
    let device = parse_device(&m.device)?;
    let data = load_data(&m.data, &m.load)?;
    let data = prepare_for_training(data);
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

/// The dataset as training sees it: without a validation split, one is carved out. The carve
/// is a fixed function of the data (seed 0, not the training seed) so that `eval`, `explore`
/// and `train --resume` see the same split as the training run did.
pub fn prepare_for_training(data: Dataset) -> Dataset {
    match train::trainer::carve_validation(&data, 0) {
        Some(d) => d,
        None => data,
    }
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

/// `mclmr train`
pub fn run_train(args: TrainArgs) -> Result<()> {
    let device = parse_device(&args.device)?;
    let data = prepare_for_training(load_data(&args.data, &args.load)?);
    let (config, resume) = if args.resume {
        let ck = Checkpoint::load(&args.out)?;
        ck.check_dataset(&args.out, &data)?;
        let mut cfg = ck.config.clone();
        if let Some(e) = args.epochs {
            cfg.train.epochs = e;
        }
        let r = ck.resume.ok_or_else(|| Error::BadCheckpoint {
            file: args.out.clone(),
            problem: "holds no resume state".into(),
            fix: "train again without --resume".into(),
        })?;
        (cfg, Some(r))
    } else {
        (effective_config(&args)?, None)
    };
    if config.model.backbone == BackboneKind::Ease {
        memory::ensure(
            &memory::estimate::training(&Shape::of(&data), &config),
            args.load.budget(),
            "EASE holds items × items matrices: use it on a smaller catalogue (filter rare items \
             out of the data) or a machine with more memory; the other baselines and backbones \
             grow with the interactions instead",
        )?;
        return train_ease(&args, &config, &data);
    }
    memory::ensure(
        &memory::estimate::training(&Shape::of(&data), &config),
        args.load.budget(),
        "lower model.dim or model.layers (or train.batch_size), drop a behavior with --behaviors",
    )?;
    for n in train::trainer::setup_notes(&data, &config) {
        eprintln!("note: {n}");
    }
    if config.model.backbone.is_rule() {
        Checkpoint::rule(&config, &data).save(&args.out)?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"status": "rule", "best_epoch": 0, "epochs_run": 0, "valid_NDCG@10": null, "seconds": 0.0, "mean_epoch_secs": 0.0, "peak_rss_mib": crate::bench::peak_rss_mib(), "out": args.out.display().to_string()})
            );
        } else if !args.quiet {
            eprintln!(
                "saved rule baseline `{}` to {}",
                config.model.backbone.name(),
                args.out.display()
            );
        }
        return Ok(());
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
    let (tx, rx) = std::sync::mpsc::channel();
    let data = Arc::new(data);
    let worker = {
        let (data, config, device, cancel) =
            (data.clone(), config.clone(), device.clone(), cancel.clone());
        std::thread::spawn(move || {
            train::train(
                &data,
                &config,
                &device,
                TrainOptions {
                    cancel,
                    events: Some(tx),
                    resume,
                },
            )
        })
    };
    let bar = progress(args.quiet || args.json);
    let mut first = 1;
    for ev in rx {
        match ev {
            TrainEvent::Started {
                first_epoch,
                epochs,
                batches,
                params,
            } => {
                first = first_epoch;
                bar.set_length((epochs.saturating_sub(first_epoch) + 1) as u64 * batches as u64);
                bar.set_message(format!("{params} parameters"));
            }
            TrainEvent::Batch {
                epoch,
                batch,
                batches,
                loss,
                eta_secs,
            } => {
                bar.set_position(((epoch - first) * batches + batch) as u64);
                bar.set_message(format!(
                    "epoch {epoch} batch {batch}/{batches} loss {loss:.4} eta≤{:.0}s",
                    eta_secs
                ));
            }
            TrainEvent::Epoch(r) => {
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
                let line = format!(
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
                );
                say(&bar, args.quiet || args.json, line);
            }
            TrainEvent::Stopped { reason } => {
                say(&bar, args.quiet || args.json, format!("stopped: {reason}"))
            }
        }
    }
    bar.finish_and_clear();
    let outcome = worker
        .join()
        .map_err(|_| Error::Other("the training thread panicked".into()))??;
    let ck = Checkpoint::from_outcome(&outcome, &data, &device)?;
    ck.save(&args.out)?;
    let mean_epoch = if outcome.history.is_empty() {
        0.0
    } else {
        outcome.history.iter().map(|h| h.train_secs).sum::<f64>() / outcome.history.len() as f64
    };
    let summary = serde_json::json!({
        "status": outcome.status.label(),
        "best_epoch": outcome.best_epoch,
        "epochs_run": outcome.resume.epoch,
        "valid_NDCG@10": outcome.best_valid,
        "seconds": outcome.seconds,
        "mean_epoch_secs": mean_epoch,
        "peak_rss_mib": crate::bench::peak_rss_mib(),
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
    match outcome.status {
        Status::Cancelled => {
            eprintln!(
                "cancelled: continue with `mclmr train --resume --out {}` and the same --data",
                args.out.display()
            );
            Err(Error::Cancelled)
        }
        Status::Diverged { epoch, batch, what } => Err(Error::Diverged { epoch, batch, what }),
        _ => Ok(()),
    }
}

/// `mclmr train --backbone ease`: the closed-form solve, then the checkpoint.
fn train_ease(args: &TrainArgs, config: &Config, data: &Dataset) -> Result<()> {
    let start = std::time::Instant::now();
    let weights = config.ease.weights_for(data.n_behaviors())?;
    let model = crate::model::EaseRanker::fit(data, &config.ease)?;
    let secs = start.elapsed().as_secs_f64();
    Checkpoint::ease(config, data, model.b, secs)?.save(&args.out)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"status": "closed-form", "best_epoch": 0, "epochs_run": 0, "valid_NDCG@10": null, "seconds": secs, "mean_epoch_secs": 0.0, "peak_rss_mib": crate::bench::peak_rss_mib(), "out": args.out.display().to_string()})
        );
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

/// Prints a line above the progress bar, or to stderr when there is no bar (not a terminal).
fn say(bar: &indicatif::ProgressBar, quiet: bool, line: String) {
    if quiet {
        return;
    }
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn progress(hidden: bool) -> indicatif::ProgressBar {
    if hidden {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar
}

/// `mclmr eval`
pub fn run_eval(args: EvalArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    if args.by.is_some() {
        return super::causal_cmd::print_groups(&model.ranker, &data, args.json);
    }
    let report = eval::full_report(&model.ranker, &data)?;
    let routing = match &model.ranker {
        Ranker::Neural(inf) => {
            if let Some(path) = &args.gates {
                crate::analysis::routing::write_gates(inf, &data, path)?;
            }
            crate::analysis::routing::summary(inf, &data)
        }
        Ranker::Rule(_) | Ranker::Ease(_) => None,
    };
    if args.json {
        let mut v = serde_json::to_value(&report).map_err(|e| Error::Other(e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "peak_rss_mib".into(),
                serde_json::json!(crate::bench::peak_rss_mib()),
            );
            if let Some(r) = &routing {
                o.insert("routing".into(), serde_json::json!(r));
            }
        }
        println!("{v}");
        return Ok(());
    }
    println!(
        "{} on {} ({} test users, {:.2}s)",
        args.m.model.display(),
        data.name,
        report.users,
        report.seconds
    );
    let mut keys = Vec::new();
    for k in KS {
        keys.extend([
            format!("HR@{k}"),
            format!("Recall@{k}"),
            format!("NDCG@{k}"),
        ]);
    }
    println!("{:<12}{:>10}{:>10}", "metric", "do", "raw");
    for k in &keys {
        println!(
            "{:<12}{:>10.4}{:>10.4}",
            k,
            report.do_.get(k).unwrap_or(&0.0),
            report.raw.get(k).unwrap_or(&0.0)
        );
    }
    for (mode, b) in &report.bias {
        println!("bias {mode:<4} mean popularity {:.1}  coverage {:.3}  gini {:.3}  long-tail HR@10 {:.4}", b.mean_popularity, b.coverage, b.gini, b.longtail_hr10);
    }
    if let Some(r) = &routing {
        println!(
            "routing over {} users (mean ± sd, 5th–95th percentile):",
            r.users
        );
        for (what, rows) in [("gate", &r.gates), ("evidence w", &r.evidence)] {
            for s in rows {
                println!(
                    "  {what:<10} {:<10} {:.3} ± {:.3}  [{:.3}, {:.3}]",
                    s.name, s.mean, s.sd, s.p5, s.p95
                );
            }
        }
    }
    if let Some(iv) = &report.interventional {
        for (mode, m) in iv {
            println!(
                "interventional {mode:<4} HR@10 {:.4}  NDCG@10 {:.4}",
                m.get("HR@10").unwrap_or(&0.0),
                m.get("NDCG@10").unwrap_or(&0.0)
            );
        }
    }
    Ok(())
}

/// Top-`k` (item index, score) of one user in a mode, masking training target items.
pub fn recommend(
    model: &LoadedModel,
    data: &Dataset,
    u: u32,
    k: usize,
    mode: Mode,
) -> Result<Vec<(u32, f32)>> {
    let scores = model.ranker.score_users(&[u], mode)?;
    let mask = data.target_train().user_items(u);
    let top = eval::metrics::top_k(&scores, k, &mask);
    Ok(top.into_iter().map(|i| (i, scores[i as usize])).collect())
}

/// `mclmr recommend`
pub fn run_recommend(args: RecommendArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let u = resolve_user(&data, &args.user)?;
    let list = recommend(&model, &data, u, args.k, args.mode)?;
    if args.json {
        let items: Vec<_> = list
            .iter()
            .enumerate()
            .map(|(r, &(i, s))| {
                let mut row = serde_json::json!({"rank": r + 1, "item": data.item_ids[i as usize], "score": s});
                let meta: serde_json::Map<String, serde_json::Value> = data
                    .item_meta
                    .fields(i)
                    .into_iter()
                    .map(|(c, v)| (c.to_string(), serde_json::Value::from(v)))
                    .collect();
                if !meta.is_empty() {
                    row["meta"] = serde_json::Value::Object(meta);
                }
                row
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"user": args.user, "mode": args.mode.name(), "items": items})
        );
    } else {
        println!(
            "top {} for user {} ({}):",
            args.k,
            args.user,
            args.mode.name()
        );
        for (r, (i, s)) in list.iter().enumerate() {
            let meta = data.item_meta.describe(*i).unwrap_or_default();
            let line = format!(
                "{:>4}  {:<12} {:>9.4}  {meta}",
                r + 1,
                data.item_ids[*i as usize],
                s
            );
            println!("{}", line.trim_end());
        }
    }
    Ok(())
}

/// `mclmr explain`
pub fn run_explain(args: ExplainArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let u = resolve_user(&data, &args.user)?;
    let i = resolve_item(&data, &args.item)?;
    let e = explain(&model.ranker, &data, u, i);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&e).map_err(|e| Error::Other(e.to_string()))?
        );
        return Ok(());
    }
    println!(
        "user {} · item {}: do {:.4}, raw {:.4} (raw − do {:+.4})",
        e.user, e.item, e.score_do, e.score_raw, e.raw_minus_do
    );
    if let Some(m) = data.item_meta.describe(i) {
        println!("  item: {m}");
    }
    println!("  target term            {:+.4}", e.target_term);
    for x in &e.experts {
        println!("  expert {:<12} g={:.3} {:+.4}", x.name, x.gate, x.term);
    }
    for x in &e.evidence {
        println!(
            "  evidence {:<10} n={} g={:.3} w={:.3} {:+.4}",
            x.behavior, x.count, x.gate, x.weight, x.term
        );
    }
    if let (Some(d), Some(r), Some((su, si))) = (e.confounders_do, e.confounders_raw, e.strata) {
        println!("  confounders (habit stratum {su}, item stratum {si}):   do        raw");
        println!(
            "    user habit           {:+.4}   {:+.4}",
            d.user_habit, r.user_habit
        );
        println!(
            "    item distribution    {:+.4}   {:+.4}",
            d.item_distribution, r.item_distribution
        );
        println!(
            "    item bias            {:+.4}   {:+.4}",
            d.item_bias, r.item_bias
        );
        println!(
            "    conversion evidence  {:+.4}   {:+.4}",
            d.conversion, r.conversion
        );
    }
    for n in &e.nearest {
        let items: Vec<String> = n
            .items
            .iter()
            .map(|(id, c)| format!("{id} ({c:.2})"))
            .collect();
        println!("  nearest {:<10} {}", n.behavior, items.join(", "));
    }
    Ok(())
}

/// `mclmr export`
pub fn run_export(args: ExportArgs) -> Result<()> {
    let (data, model) = open(&args.m)?;
    let users: Vec<u32> = (0..data.n_users() as u32).collect();
    let mask = data.target_train().user_csr(data.n_users());
    let lists = eval::rank_users(&model.ranker, &users, args.mode, args.k, &mask)?;
    super::export::write_recommendations(&args.out, &data, &lists)
}
