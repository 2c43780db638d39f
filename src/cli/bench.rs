//! `mclmr bench`: performance figures (not pass/fail) for training, graph propagation,
//! full-ranking evaluation, single-user latency and scaling. Each training configuration runs
//! in a child process of the same binary so that its peak RSS is its own.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Var};
use clap::Args;
use serde_json::{json, Value};

use super::child::run_json;
use super::DataOpts;
use crate::analysis::ranking::top_k_scored;
use crate::data::{load_dataset, prepare_for_training, Dataset};
use crate::error::{Error, Result};
use crate::eval::{evaluate, EvalTask, Split};
use crate::explain::explain;
use crate::memory::peak_rss_mib;
use crate::model::graph::normalized_adjacency;
use crate::model::spmm::SparseAdj;
use crate::model::{BackboneKind, Config, Mode, Ranker};
use crate::train::{train, TrainOptions, TrainOutcome};

/// `mclmr bench` arguments.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Dataset to measure on.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub load: DataOpts,
    /// What to measure: all, train, spmm, eval, latency, explorer, scaling.
    #[arg(long, default_value = "all")]
    pub what: String,
    /// Backbones for the training figures (comma separated).
    #[arg(long, value_delimiter = ',', default_value = "mf,lightgcn,cascade")]
    pub backbones: Vec<BackboneKind>,
    /// Epochs per training figure (the mean epoch time is reported).
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Internal: run one training configuration and print its JSON figures.
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

fn child_config(spec: &str, epochs: usize) -> Result<Config> {
    let mut cfg = Config::default();
    let (kind, plain) = match spec.strip_suffix("+plain") {
        Some(k) => (k, true),
        None => (spec, false),
    };
    cfg.model.backbone = kind
        .parse()
        .map_err(|e: String| Error::bad_arg("backbone", kind, e))?;
    cfg.model.mclmr = !plain;
    cfg.train.epochs = epochs;
    cfg.train.eval_every = usize::MAX / 2; // time training only
    Ok(cfg)
}

fn run_child(spec: &str, data: &Dataset, epochs: usize) -> Result<Value> {
    let cfg = child_config(spec, epochs)?;
    let start = Instant::now();
    let out = train(data, &cfg, &Device::Cpu, TrainOptions::default())?;
    let secs: Vec<f64> = out.history.iter().map(|h| h.train_secs).collect();
    Ok(json!({
        "config": spec,
        "epoch_secs": secs.iter().sum::<f64>() / secs.len().max(1) as f64,
        "total_secs": start.elapsed().as_secs_f64(),
        "peak_rss_mib": peak_rss_mib(),
        "batches": out.history.len(),
    }))
}

/// Runs one training configuration (`spec`) on `data` in a child process.
fn spawn_child(args: &BenchArgs, spec: &str, data: &Path, load: &DataOpts) -> Result<Value> {
    let mut cmd = vec![
        "bench".to_string(),
        "--data".into(),
        data.display().to_string(),
    ];
    cmd.extend([
        "--child".into(),
        spec.into(),
        "--epochs".into(),
        args.epochs.to_string(),
    ]);
    cmd.extend(load.to_args());
    run_json(&cmd).map_err(|e| Error::Other(format!("bench child `{spec}` failed: {e}")))
}

fn say(args: &BenchArgs, line: String) {
    if !args.json {
        println!("{line}");
    }
}

/// Runs the benchmark (see the module docs).
pub fn run(args: BenchArgs) -> Result<()> {
    let t0 = Instant::now();
    let data = prepare_for_training(load_dataset(&args.data, &args.load.load_options())?);
    let load_secs = t0.elapsed().as_secs_f64();
    if let Some(spec) = &args.child {
        println!("{}", run_child(spec, &data, args.epochs)?);
        return Ok(());
    }
    let want = |w: &str| args.what == "all" || args.what.split(',').any(|x| x == w);
    let mut report = json!({
        "dataset": data.name, "users": data.n_users(), "items": data.n_items(),
        "pairs": data.behaviors.iter().map(|b| b.len()).sum::<usize>(), "load_secs": load_secs,
        "threads": rayon::current_num_threads(),
    });
    say(
        &args,
        format!(
            "{}: {} users, {} items, loaded in {:.3}s, {} threads",
            data.name,
            data.n_users(),
            data.n_items(),
            load_secs,
            rayon::current_num_threads()
        ),
    );
    if want("train") {
        report["train"] = bench_training(&args)?;
    }
    if want("spmm") {
        let r = bench_spmm(&data)?;
        say(
            &args,
            format!(
                "spmm {} (nnz {}): forward {:.1} ms, forward+backward {:.1} ms per layer",
                r["behavior"],
                r["nnz"],
                r["fwd_ms"].as_f64().unwrap_or(0.0),
                r["fwd_bwd_ms"].as_f64().unwrap_or(0.0)
            ),
        );
        report["spmm"] = r;
    }
    if want("eval") || want("latency") || want("explorer") {
        let mut cfg = Config::default();
        cfg.model.backbone = BackboneKind::LightGcn;
        cfg.train.epochs = 1;
        cfg.train.eval_every = usize::MAX / 2;
        let out = train(&data, &cfg, &Device::Cpu, TrainOptions::default())?;
        let ranker = Ranker::Neural(Box::new(out.net.infer()?));
        if want("explorer") {
            report["explorer"] = bench_explorer(&args, &data, &out)?;
        }
        if want("eval") {
            report["eval"] = bench_eval(&args, &data, &ranker)?;
        }
        if want("latency") {
            report["latency"] = bench_latency(&args, &data, &ranker)?;
        }
    }
    if want("scaling") {
        report["scaling"] = bench_scaling(&args)?;
    }
    if args.json {
        println!("{report}");
    }
    Ok(())
}

/// Seconds per epoch and peak RSS of each backbone, plain and +MCLMR, each in a child process.
fn bench_training(args: &BenchArgs) -> Result<Value> {
    let mut rows = Vec::new();
    for kind in &args.backbones {
        for plain in [true, false] {
            let spec = format!("{}{}", kind.name(), if plain { "+plain" } else { "" });
            let r = spawn_child(args, &spec, &args.data, &args.load)?;
            say(
                args,
                format!(
                    "train {:<18} {:>8.2} s/epoch  peak RSS {:>7.0} MiB",
                    spec,
                    r["epoch_secs"].as_f64().unwrap_or(0.0),
                    r["peak_rss_mib"].as_f64().unwrap_or(0.0)
                ),
            );
            rows.push(r);
        }
    }
    Ok(Value::Array(rows))
}

/// Start-up, user switch, item switch and frame time of the explorer on a 1-epoch model.
fn bench_explorer(args: &BenchArgs, data: &Dataset, out: &TrainOutcome) -> Result<Value> {
    let dir = tempfile_dir()?;
    let path = dir.join("explorer.safetensors");
    crate::train::checkpoint::Checkpoint::from_outcome(out, data, &Device::Cpu)?.save(&path)?;
    let mut opts = crate::ui::ExploreOptions::new(&path, &args.data);
    opts.load = args.load.load_options();
    let startup = crate::ui::bench::startup_ms(&opts)?;
    let app = crate::ui::App::load(&opts)?;
    let user = crate::ui::bench::user_switch_ms(&app);
    let item = crate::ui::bench::item_switch_ms(&app);
    let frame = crate::ui::bench::frame_ms(&app, 120, 40);
    let _ = std::fs::remove_dir_all(&dir);
    say(args, format!("explorer (lightgcn+MCLMR, 1 epoch): start-up {startup:.0} ms, user switch {user:.2} ms, item switch {item:.3} ms, frame {frame:.2} ms at 120×40"));
    Ok(
        json!({"startup_ms": startup, "user_switch_ms": user, "item_switch_ms": item, "frame_ms": frame}),
    )
}

/// Full-ranking evaluation time of the test users.
fn bench_eval(args: &BenchArgs, data: &Dataset, ranker: &Ranker) -> Result<Value> {
    let task = EvalTask::new(data, Split::Test, None);
    let t = Instant::now();
    let r = evaluate(ranker, &task, Mode::Do)?;
    let secs = t.elapsed().as_secs_f64();
    say(
        args,
        format!(
            "eval (lightgcn+MCLMR, do): {} users × {} items in {:.3}s, peak RSS {:.0} MiB",
            r.users,
            data.n_items(),
            secs,
            peak_rss_mib()
        ),
    );
    Ok(json!({"users": r.users, "secs": secs, "peak_rss_mib": peak_rss_mib()}))
}

/// One user's top-10 and one explanation, mean over up to 200 users.
fn bench_latency(args: &BenchArgs, data: &Dataset, ranker: &Ranker) -> Result<Value> {
    let users: Vec<u32> = (0..data.n_users() as u32)
        .step_by((data.n_users() / 200).max(1))
        .collect();
    let mask = data.target_train().user_csr(data.n_users());
    let t = Instant::now();
    let mut first = Vec::new();
    for &u in &users {
        let top = top_k_scored(ranker, u, Mode::Do, 10, mask.row(u as usize))?;
        first.push(top.first().map_or(0, |t| t.0));
    }
    let rec_ms = t.elapsed().as_secs_f64() * 1e3 / users.len() as f64;
    let t = Instant::now();
    for (&u, &i) in users.iter().zip(&first) {
        std::hint::black_box(explain(ranker, data, u, i));
    }
    let exp_ms = t.elapsed().as_secs_f64() * 1e3 / users.len() as f64;
    say(
        args,
        format!(
            "latency: recommend {rec_ms:.2} ms/user, explain {exp_ms:.2} ms/pair (mean of {})",
            users.len()
        ),
    );
    Ok(json!({"recommend_ms": rec_ms, "explain_ms": exp_ms, "users": users.len()}))
}

/// Seconds per epoch and peak RSS of LightGCN+MCLMR on the funnel data at 1×, 4× and 16× users.
fn bench_scaling(args: &BenchArgs) -> Result<Value> {
    let mut rows = Vec::new();
    let dir = tempfile_dir()?;
    for mult in [1usize, 4, 16] {
        let out = dir.join(format!("x{mult}"));
        let cfg = crate::synth::SynthConfig {
            users: 1000 * mult,
            ..Default::default()
        };
        let s = crate::synth::generate(&out, 7, &cfg)?;
        let r = spawn_child(args, "lightgcn", &out, &DataOpts::default())?;
        let pairs = s.views + s.carts + s.buys;
        say(
            args,
            format!(
                "scaling ×{mult:<2} {pairs:>9} pairs: {:>7.2} s/epoch, peak RSS {:>6.0} MiB",
                r["epoch_secs"].as_f64().unwrap_or(0.0),
                r["peak_rss_mib"].as_f64().unwrap_or(0.0)
            ),
        );
        rows.push(json!({"multiple": mult, "pairs": pairs, "epoch_secs": r["epoch_secs"], "peak_rss_mib": r["peak_rss_mib"]}));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Value::Array(rows))
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("mclmr-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// Forward and forward+backward time of one propagation layer on the largest behavior graph.
fn bench_spmm(data: &Dataset) -> Result<Value> {
    crate::runtime::init();
    let beh = data
        .behaviors
        .iter()
        .max_by_key(|b| b.len())
        .ok_or_else(|| Error::Other("no behavior".into()))?;
    let m = normalized_adjacency(data.n_users(), data.n_items(), &beh.pairs);
    let nnz = m.nnz();
    let n = m.rows;
    let adj = SparseAdj::new(m, &Device::Cpu)?;
    let x = Var::from_vec(
        (0..n * 64)
            .map(|k| ((k % 97) as f32) * 0.01)
            .collect::<Vec<f32>>(),
        (n, 64),
        &Device::Cpu,
    )?;
    let reps = 10;
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(adj.matmul(x.as_tensor())?);
    }
    let fwd = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        let y = adj.matmul(x.as_tensor())?;
        let g = y.sqr()?.sum_all()?.backward()?;
        std::hint::black_box(g.get(x.as_tensor()).is_some());
    }
    let fb = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
    Ok(json!({"behavior": beh.name, "nodes": n, "nnz": nnz, "fwd_ms": fwd, "fwd_bwd_ms": fb}))
}
