//! Command-line interface (clap derive). Every subcommand is a thin wrapper over a library
//! function; errors are printed once, with their fix, and mapped to exit codes (2 = bad input).

pub mod bench;
mod causal_cmd;
mod child;
mod data_cmd;
mod export;
pub mod grid;
pub mod model_cmd;
pub mod query_cmd;
pub mod train_cmd;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::data::{LoadOptions, ValidPolicy};
use crate::error::Result;
use crate::memory::Budget;
use crate::runtime::DeviceSpec;
use crate::ui::{self, ExploreOptions};

/// Causal multi-behavior recommenders (MCLMR): train, evaluate, explain, explore.
#[derive(Debug, Parser)]
#[command(name = "mclmr", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without a subcommand the explorer opens on the shipped sample data.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect or validate a dataset.
    #[command(subcommand)]
    Data(DataCommand),
    /// Generate a confounded synthetic dataset with ground truth (METHOD.md §8).
    Synth(SynthArgs),
    /// Train a backbone, plain or +MCLMR, or save a rule baseline.
    Train(train_cmd::TrainArgs),
    /// Full-ranking evaluation of a checkpoint (do and raw, bias diagnostics).
    Eval(query_cmd::EvalArgs),
    /// Top-K items for one user.
    Recommend(query_cmd::RecommendArgs),
    /// Explain the score of one (user, item) pair.
    Explain(query_cmd::ExplainArgs),
    /// Export top-K lists of all users to CSV, JSON or Parquet.
    Export(query_cmd::ExportArgs),
    /// Items the confounders push, exposure by popularity, do/raw overlap per user stratum.
    Bias(causal_cmd::BiasArgs),
    /// One user's top-K after dropping or adding interactions of their history.
    ///
    /// Exact for the evidence and conversion terms, the target mask and the user side of the
    /// routing and confounder terms (habit and routing features, gate, fused Z_u, habit stratum
    /// by the nearest trained centroid, c^U(u)). Kept at their trained values, and said in the
    /// output: the propagation of the graph backbones (the user's P^b), the population
    /// statistics, and the edited item's own side.
    Whatif(causal_cmd::WhatifArgs),
    /// Write a self-contained HTML or Markdown report (metrics, bias charts, explanations).
    Report(causal_cmd::ReportArgs),
    /// Open the terminal explorer (also what `mclmr` without a subcommand does).
    Explore(ExploreArgs),
    /// Performance figures: training, propagation, evaluation, latency, scaling.
    Bench(bench::BenchArgs),
    /// Train and evaluate an experiment grid (TOML) into JSON rows; `--report` prints its tables
    Grid(grid::GridArgs),
    /// Print the configuration.
    Config {
        /// Print the commented default TOML.
        #[arg(long)]
        default: bool,
        /// Print the commented reference of `dataset.toml` (every key of the data loader).
        #[arg(long)]
        dataset: bool,
    },
}

/// `mclmr data …`
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Print a statistics card of a dataset.
    Stats {
        /// Dataset directory or event-log file.
        dir: PathBuf,
        #[command(flatten)]
        load: DataOpts,
        /// Print machine-readable JSON instead of the card.
        #[arg(long)]
        json: bool,
    },
    /// Check a dataset and exit 0 when it is usable (2 with the problem otherwise).
    Validate {
        /// Dataset directory or event-log file.
        dir: PathBuf,
        #[command(flatten)]
        load: DataOpts,
    },
}

/// Options shared by every command that reads a dataset.
#[derive(Debug, Args, Clone, Default)]
pub struct DataOpts {
    /// Behavior order, weakest → target, comma separated (e.g. `view,cart,buy`); overrides the
    /// dataset config and the layout's default.
    #[arg(long, value_delimiter = ',')]
    pub behaviors: Option<Vec<String>>,
    /// Dataset config (TOML) to use instead of `DIR/dataset.toml`.
    #[arg(long = "data-config")]
    pub data_config: Option<PathBuf>,
    /// What to do with a validation split that overlaps the training target pairs:
    /// `holdout` (remove them from training), `keep` (train on them too) or `skip` (ignore it).
    #[arg(long, value_parser = parse_valid_policy)]
    pub valid: Option<ValidPolicy>,
    /// Memory this run may use (`512M`, `2G`, `1.5GiB` or bytes; binary units) instead of the
    /// detected available memory: loading, training and evaluation stop early, with an
    /// estimate of what they need, when they would need more.
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = crate::memory::parse_size)]
    pub max_memory: Option<u64>,
}

impl DataOpts {
    /// The loader options these flags describe.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            behaviors: self.behaviors.clone(),
            config: self.data_config.clone(),
            valid_policy: self.valid,
        }
    }

    /// The memory budget these flags give (`--max-memory`, else the detected memory).
    pub fn budget(&self) -> Budget {
        Budget::from_flag(self.max_memory)
    }

    /// The flags that give these options to a child `mclmr` process.
    pub fn to_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = &self.behaviors {
            out.extend(["--behaviors".to_string(), b.join(",")]);
        }
        if let Some(c) = &self.data_config {
            out.extend(["--data-config".to_string(), c.display().to_string()]);
        }
        if let Some(v) = self.valid {
            out.extend(["--valid".to_string(), v.name().to_string()]);
        }
        if let Some(m) = self.max_memory {
            out.extend(["--max-memory".to_string(), m.to_string()]);
        }
        out
    }

    /// Fails early when reading the dataset at `path` would need more memory than the budget.
    pub fn check_loading(&self, path: &std::path::Path) -> Result<()> {
        match crate::memory::estimate::loading(path) {
            Some(est) => crate::memory::ensure(
                &est,
                self.budget(),
                "split the data or move the files of unused behaviors out of the directory",
            ),
            None => Ok(()),
        }
    }
}

fn parse_valid_policy(s: &str) -> std::result::Result<ValidPolicy, String> {
    s.parse()
}

/// `mclmr explore …`
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// Checkpoint to explore.
    #[arg(long, default_value = ui::DEFAULT_MODEL)]
    pub model: PathBuf,
    /// Dataset directory or event-log file the model was trained on.
    #[arg(long, default_value = ui::DEFAULT_DATA)]
    pub data: PathBuf,
    /// Loader options (behavior order, dataset config, validation policy).
    #[command(flatten)]
    pub load: DataOpts,
    /// Device for retraining from the explorer: `cpu` or `cuda:N`.
    #[arg(long, default_value_t)]
    pub device: DeviceSpec,
}

impl ExploreArgs {
    /// The explorer options these flags describe.
    pub fn options(&self) -> ExploreOptions {
        let mut o = ExploreOptions::new(&self.model, &self.data);
        o.load = self.load.load_options();
        o.device = self.device;
        o
    }
}

/// `mclmr synth …`
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output directory (created; files inside are overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Which generator: `funnel` (confounded conversion of views, `sample_data/`), `routing`
    /// (users whose purchases follow carts, repeat views or popularity) or `exposure`
    /// (confounding on the purchase itself, purchases outside views).
    #[arg(long, value_enum, default_value_t = Generator::Funnel)]
    pub generator: Generator,
    /// Number of users [default: 1000 for funnel, 2500 otherwise].
    #[arg(long)]
    pub users: Option<usize>,
    /// Number of items [default: 600 for funnel, 1200 otherwise].
    #[arg(long)]
    pub items: Option<usize>,
    /// Confounder strength γ of the exposure generator (0 = none) [default: 1].
    #[arg(long)]
    pub confounding: Option<f64>,
    /// Purchase-score boost of a viewed item in the exposure generator (0 = history does not
    /// matter) [default: 1.5].
    #[arg(long = "history-boost")]
    pub history_boost: Option<f64>,
    /// Multiplies the mean views and purchases per user (routing, exposure) [default: 1].
    #[arg(long)]
    pub density: Option<f64>,
    /// Instead of a causal dataset, write a headerless UserBehavior-style event log of this
    /// many rows (`events.csv` and its `dataset.toml`), for load and size tests.
    #[arg(long, value_name = "ROWS")]
    pub event_log: Option<u64>,
}

/// The generators behind `mclmr synth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Generator {
    /// Confounded conversion of views (METHOD.md §8, `sample_data/`).
    Funnel,
    /// Per-user routing ground truth.
    Routing,
    /// Confounding on the purchase itself.
    Exposure,
}

impl SynthArgs {
    /// Refuses a knob that the chosen generator does not have.
    fn refuse(&self, flags: &[(&str, bool)]) -> Result<()> {
        match flags.iter().find(|f| f.1) {
            Some((flag, _)) => Err(crate::error::Error::bad_arg(
                format!(
                    "{flag} is not a knob of the {} generator",
                    format!("{:?}", self.generator).to_lowercase()
                ),
                flag,
                "drop it, or pick the generator that has it (--generator exposure takes \
                 --confounding, --history-boost and --density; routing takes --density)",
            )),
            None => Ok(()),
        }
    }

    /// Generates the data these flags describe and prints the summary.
    fn run(&self) -> Result<()> {
        if let Some(rows) = self.event_log {
            let d = crate::synth::SynthConfig::default();
            let summary = crate::synth::events::write_event_log(
                &self.out,
                rows,
                self.users.unwrap_or(d.users),
                self.items.unwrap_or(d.items),
                self.seed,
            )?;
            println!("{summary}");
            return Ok(());
        }
        let (c, h, d) = (
            self.confounding.is_some(),
            self.history_boost.is_some(),
            self.density.is_some(),
        );
        match self.generator {
            Generator::Funnel => {
                self.refuse(&[
                    ("--confounding", c),
                    ("--history-boost", h),
                    ("--density", d),
                ])?;
                let d = crate::synth::SynthConfig::default();
                let cfg = crate::synth::SynthConfig {
                    users: self.users.unwrap_or(d.users),
                    items: self.items.unwrap_or(d.items),
                    ..d
                };
                println!("{}", crate::synth::generate(&self.out, self.seed, &cfg)?);
            }
            Generator::Routing => {
                self.refuse(&[("--confounding", c), ("--history-boost", h)])?;
                let d = crate::synth::RoutingConfig::default();
                let density = self.density.unwrap_or(1.0);
                let cfg = crate::synth::RoutingConfig {
                    users: self.users.unwrap_or(d.users),
                    items: self.items.unwrap_or(d.items),
                    mean_views: d.mean_views * density,
                    mean_extra_buys: d.mean_extra_buys * density,
                    ..d
                };
                println!(
                    "{}",
                    crate::synth::generate_routing(&self.out, self.seed, &cfg)?
                );
            }
            Generator::Exposure => {
                let d = crate::synth::ExposureConfig::default();
                let cfg = crate::synth::ExposureConfig {
                    users: self.users.unwrap_or(d.users),
                    items: self.items.unwrap_or(d.items),
                    confounding: self.confounding.unwrap_or(d.confounding),
                    history_boost: self.history_boost.unwrap_or(d.history_boost),
                    density: self.density.unwrap_or(d.density),
                    ..d
                };
                println!(
                    "{}",
                    crate::synth::generate_exposure(&self.out, self.seed, &cfg)?
                );
            }
        }
        Ok(())
    }
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> i32 {
    crate::runtime::init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => crate::ui::run(ExploreOptions::default()),
        Some(Command::Explore(a)) => crate::ui::run(a.options()),
        Some(Command::Data(cmd)) => data_cmd::run(cmd),
        Some(Command::Bench(a)) => bench::run(a),
        Some(Command::Grid(a)) => grid::run(a),
        Some(Command::Train(a)) => train_cmd::run_train(a),
        Some(Command::Eval(a)) => query_cmd::run_eval(a),
        Some(Command::Recommend(a)) => query_cmd::run_recommend(a),
        Some(Command::Explain(a)) => query_cmd::run_explain(a),
        Some(Command::Export(a)) => query_cmd::run_export(a),
        Some(Command::Bias(a)) => causal_cmd::run_bias(a),
        Some(Command::Whatif(a)) => causal_cmd::run_whatif(a),
        Some(Command::Report(a)) => causal_cmd::run_report(a),
        Some(Command::Config { dataset: true, .. }) => {
            print!("{}", crate::data::config::DEFAULT_DATASET_TOML);
            Ok(())
        }
        Some(Command::Config { .. }) => {
            train_cmd::print_default_config();
            Ok(())
        }
        Some(Command::Synth(args)) => args.run(),
    }
}
