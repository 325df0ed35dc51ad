#![deny(unsafe_code)]

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use slmd::cli::{self, client_cmds, serve::ServeOptions};
use slmd::config::DEFAULT_TOML;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// Keeps glibc from raising its mmap threshold as the model's transient
/// copies are freed during optimisation; otherwise those pages stay in the
/// heap and resident (about 25 MiB measured with `slmd bench`). And caps
/// the malloc arenas at two: with one per thread, what a reload frees on
/// one thread is not reused by the next reload on another, and the daemon
/// grew about 3 MiB per remote configuration applied (`slmd soak`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn pin_mmap_threshold() {
    // SAFETY: mallopt only tunes the allocator; it is called first thing in
    // main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn pin_mmap_threshold() {}

/// slmd: on-device triage of field-service queries, grounded in approved procedures.
#[derive(Parser)]
#[command(name = "slmd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon on the local socket.
    Serve(ServeArgs),
    /// Ask the daemon one question.
    Ask {
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// The text must not leave the device.
        #[arg(long)]
        no_egress: bool,
        /// Wait up to SECS for the central answer of an escalated query.
        #[arg(long, value_name = "SECS")]
        wait: Option<u64>,
        /// The query (words are joined with spaces).
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Triage JSON lines {"id": …, "text": …} from stdin, one result line each.
    Triage {
        /// Read JSON lines (the only input format).
        #[arg(long, required = true)]
        jsonl: bool,
        #[arg(long, conflicts_with = "in_process")]
        socket: Option<PathBuf>,
        /// Run the daemon's pipeline in this process instead of asking a daemon.
        #[arg(long)]
        in_process: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Knowledge-base index tools.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Escalation outbox tools.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Model tools.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Board profiles: list them, or show one and how this machine differs from it.
    Board {
        /// A board name or a profile path; none lists the shipped boards.
        name: Option<String>,
        /// Print JSON: the profile and this machine's differences.
        #[arg(long)]
        json: bool,
    },
    /// Print or check configuration.
    Config {
        /// Print the default configuration with a comment on every key.
        #[arg(long)]
        default: bool,
        /// Validate a configuration file.
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
    /// Run the daemon's pipeline over labelled JSON lines and print quality metrics.
    Eval {
        /// Lines of {text, category, urgency, in_scope, expect_route}.
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also list every item whose urgency, category or scope the
        /// pipeline got wrong, with what it decided.
        #[arg(long, conflicts_with = "tune")]
        misses: bool,
        /// Instead of one report, try a grid of `triage.retrieval_weight`,
        /// `policy.in_scope_min` and `policy.local_threshold` and print the
        /// setting to use (tune on a development split, not the test split).
        #[arg(long)]
        tune: bool,
        /// With --tune: the category accuracy local answers must reach.
        #[arg(long, value_name = "P", default_value_t = 0.92, requires = "tune")]
        target_accuracy: f64,
        /// With --tune: the share of in-scope low/normal items to answer locally.
        #[arg(long, value_name = "P", default_value_t = 0.70, requires = "tune")]
        target_coverage: f64,
        /// With --tune: the largest calibration error (ECE) to accept.
        #[arg(long, value_name = "E", default_value_t = 0.05, requires = "tune")]
        target_ece: f64,
        /// With --tune: then refine each category's own threshold
        /// (`[policy.thresholds]`) from the chosen setting. Off by default:
        /// on held-out templates the refined thresholds answered more
        /// locally but less accurately than one threshold for all.
        #[arg(long, requires = "tune")]
        per_category: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Full-screen terminal UI for technicians (a client of the daemon).
    Tui {
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// Measure encoder, end-to-end and load figures (and ONNX Runtime's, side by side).
    Bench(slmd::cli::bench::BenchArgs),
    /// Run the device path (broker, gateway, LLM stand-in, daemon) under
    /// queries, escalations, restarts and config changes, and check memory,
    /// escalations and connections.
    Soak(slmd::cli::soak::SoakArgs),
    /// The central gateway: answers escalations with an OpenAI-compatible LLM service.
    Gateway(GatewayArgs),
    /// Fleet operators' view over MQTT: device status, telemetry, remote config.
    Fleet {
        /// The fleet's broker (mqtt://HOST:PORT).
        #[arg(long, value_name = "URL")]
        broker: String,
        #[command(subcommand)]
        cmd: FleetCmd,
    },
}

#[derive(Subcommand)]
enum FleetCmd {
    /// A table of devices from their retained status and latest telemetry.
    Status {
        /// Seconds to listen for status and telemetry.
        #[arg(long, default_value_t = 2)]
        wait_s: u64,
    },
    /// Print telemetry and status messages as they arrive (Ctrl-C stops).
    Watch,
    /// Remote configuration.
    Config {
        #[command(subcommand)]
        cmd: FleetConfigCmd,
    },
}

#[derive(Subcommand)]
enum FleetConfigCmd {
    /// Publish a new configuration version to DEVICE (retained) and wait for its ack.
    Set {
        device: String,
        /// key=value pairs, e.g. policy.local_threshold=0.6
        #[arg(required = true)]
        pairs: Vec<String>,
        /// Seconds to wait for the device's acknowledgement.
        #[arg(long, default_value_t = 10)]
        wait_s: u64,
    },
}

#[derive(Args)]
struct GatewayArgs {
    /// MQTT 5 broker the devices escalate through (mqtt://HOST:PORT or mqtts://…).
    #[arg(long, value_name = "URL")]
    broker: String,
    /// Base URL of the OpenAI-compatible service (…/v1/chat/completions is appended).
    #[arg(long, value_name = "URL")]
    llm_url: String,
    /// Model name to ask for.
    #[arg(long, value_name = "NAME")]
    llm_model: String,
    /// Environment variable holding the API key.
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,
    /// File holding the API key.
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Seconds one LLM call may take.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
    /// LLM calls in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Retries of a failed LLM call (with back-off).
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// MQTT client id (default: slmd-gateway-<pid>).
    #[arg(long)]
    client_id: Option<String>,
    /// Config file for the broker's TLS files and credentials ([uplink]).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long)]
    socket: Option<PathBuf>,
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// MQTT 5 broker (mqtt://HOST:PORT or mqtts://HOST:PORT); turns the uplink on.
    #[arg(long, value_name = "URL")]
    broker: Option<String>,
    /// This device's id in MQTT topics (default: the config's, else the host name).
    #[arg(long, value_name = "ID")]
    device_id: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

/// Where the model and index come from (default: bundled).
#[derive(Args, Clone)]
struct DataArgs {
    #[arg(long)]
    config: Option<PathBuf>,
    /// Board profile (rpi4, rpi5, rpi-zero-2w, jetson-orin-nano, or a .toml path);
    /// its defaults lie beneath the config file.
    #[arg(long, value_name = "NAME")]
    board: Option<String>,
    #[arg(long)]
    model_dir: Option<PathBuf>,
    #[arg(long)]
    kb_index: Option<PathBuf>,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Check an outbox file whole, repairing it after an unclean stop.
    /// Exits 0 when sound, 10 when repaired, 11 when it is not a usable
    /// outbox, 12 when another process has it open, 13 on any other error
    /// (the reason on stderr). The daemon runs this in a child
    /// process before it opens an existing file.
    Check {
        /// redb's page cache while checking, in bytes.
        #[arg(long, default_value_t = slmd::outbox::OutboxConfig::default().cache_bytes)]
        cache_bytes: usize,
        /// Open without verifying every page (what `verify_on_open = false` does).
        #[arg(long)]
        no_verify: bool,
        /// The outbox file (outbox.redb in the state directory).
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Embed the procedures and write the index.
    Build {
        #[arg(long)]
        model_dir: Option<PathBuf>,
        #[arg(long)]
        kb_dir: Option<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the index matches the model and the procedures.
    Check {
        #[arg(long)]
        model_dir: Option<PathBuf>,
        #[arg(long)]
        kb_dir: Option<PathBuf>,
        #[arg(long)]
        index: Option<PathBuf>,
    },
    /// Show the nearest procedures for a text.
    Search {
        #[arg(long)]
        model_dir: Option<PathBuf>,
        #[arg(long)]
        index: Option<PathBuf>,
        #[arg(short, default_value_t = 5)]
        k: usize,
        text: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Verify hashes, load the model and print its manifest summary.
    Verify {
        #[arg(long)]
        model_dir: Option<PathBuf>,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = if cores <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores.min(4))
            .enable_all()
            .build()
    };
    rt.context("cannot start the async runtime")
}

fn main() -> anyhow::Result<()> {
    pin_mmap_threshold();
    let cli = Cli::parse();
    if let Command::Tui { socket } = cli.command {
        // No log lines on stderr: they would scribble over the screen.
        let socket = cli::socket(socket, &slmd::config::Config::default_config());
        return slmd::tui::run(socket);
    }
    cli::init_logging();
    match cli.command {
        Command::Serve(a) => {
            // An existing outbox is checked by `slmd outbox check` in a
            // child process, so damage that aborts the store is an error.
            match std::env::current_exe() {
                Ok(exe) => {
                    slmd::outbox::check_with_program(exe);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "own executable unknown; the outbox is checked in process")
                }
            }
            let mut config =
                cli::load_config_on(a.data.config.as_deref(), a.data.board.as_deref())?;
            if let Some(b) = a.broker {
                slmd::uplink::Broker::parse(&b).map_err(anyhow::Error::msg)?;
                config.uplink.broker = Some(b);
            }
            if let Some(id) = a.device_id {
                anyhow::ensure!(
                    slmd::config::valid_device_id(&id),
                    "--device-id {id:?} must be 1 to 64 of A-Z a-z 0-9 - _ ."
                );
                config.escalation.device_id = Some(id);
            }
            let opts = ServeOptions {
                socket: cli::socket(a.socket, &config),
                state_dir: a
                    .state_dir
                    .or_else(|| config.state_dir.clone())
                    .unwrap_or_else(slmd::paths::default_state_dir),
                model_dir: cli::model_dir(a.data.model_dir, &config),
                kb_index: cli::kb_index(a.data.kb_index, &config),
                config,
            };
            runtime()?.block_on(cli::serve::serve(opts, CancellationToken::new(), true))
        }
        Command::Ask {
            socket,
            json,
            no_egress,
            wait,
            text,
        } => {
            let socket = cli::socket(socket, &slmd::config::Config::default_config());
            runtime()?.block_on(client_cmds::ask(
                &socket,
                &text.join(" "),
                json,
                no_egress,
                wait.map(std::time::Duration::from_secs),
            ))
        }
        Command::Triage {
            jsonl: _,
            socket,
            in_process,
            data,
        } => {
            let config = cli::load_config_on(data.config.as_deref(), data.board.as_deref())?;
            let stdin = std::io::stdin().lock();
            let stdout = std::io::stdout().lock();
            if in_process {
                let pipeline = slmd::pipeline::Pipeline::load(
                    &cli::model_dir(data.model_dir, &config),
                    &cli::kb_index(data.kb_index, &config),
                    &config,
                )?;
                runtime()?.block_on(client_cmds::triage_jsonl(
                    client_cmds::Backend::InProcess(&pipeline),
                    stdin,
                    stdout,
                ))
            } else {
                let socket = cli::socket(socket, &config);
                runtime()?.block_on(client_cmds::triage_jsonl(
                    client_cmds::Backend::Socket(&socket),
                    stdin,
                    stdout,
                ))
            }
        }
        Command::Kb { command } => {
            let cfg = slmd::config::Config::default_config();
            match command {
                KbCommand::Build {
                    model_dir,
                    kb_dir,
                    out,
                } => cli::kb::build(
                    &cli::model_dir(model_dir, &cfg),
                    &kb_dir.unwrap_or_else(slmd::paths::bundled_kb_dir),
                    &out.unwrap_or_else(slmd::paths::bundled_kb_index),
                ),
                KbCommand::Check {
                    model_dir,
                    kb_dir,
                    index,
                } => cli::kb::check(
                    &cli::model_dir(model_dir, &cfg),
                    &kb_dir.unwrap_or_else(slmd::paths::bundled_kb_dir),
                    &cli::kb_index(index, &cfg),
                ),
                KbCommand::Search {
                    model_dir,
                    index,
                    k,
                    text,
                } => cli::kb::search(
                    &cli::model_dir(model_dir, &cfg),
                    &cli::kb_index(index, &cfg),
                    &text.join(" "),
                    k,
                ),
            }
        }
        Command::Outbox {
            command:
                OutboxCommand::Check {
                    cache_bytes,
                    no_verify,
                    file,
                },
        } => {
            let cfg = slmd::outbox::OutboxConfig {
                cache_bytes,
                verify_on_open: !no_verify,
                ..slmd::outbox::OutboxConfig::default()
            };
            // The daemon reads this line to know the check reached the file.
            println!("{}{}", slmd::outbox::CHECK_STARTED, file.display());
            let code = match slmd::outbox::Outbox::check_file(&file, &cfg) {
                Ok(false) => {
                    println!("{}: sound", file.display());
                    slmd::outbox::EXIT_SOUND
                }
                Ok(true) => {
                    println!("{}: repaired after an unclean stop", file.display());
                    slmd::outbox::EXIT_REPAIRED
                }
                Err(e) => {
                    eprintln!("slmd: {e}");
                    slmd::outbox::exit_code(&e)
                }
            };
            std::process::exit(code)
        }
        Command::Model {
            command: ModelCommand::Verify { model_dir },
        } => {
            let dir = cli::model_dir(model_dir, &slmd::config::Config::default_config());
            let e = slmd::engine::Engine::load(&dir)?;
            let m = e.manifest();
            println!(
                "{}: {} v{} ({}), dim {}, max {} tokens, model sha256 {}, loaded in {} ms",
                dir.display(),
                m.name,
                m.version,
                m.quantization,
                m.embedding_dim,
                m.max_seq_len,
                e.model_sha256(),
                e.load_time().as_millis()
            );
            Ok(())
        }
        Command::Config { default, check } => {
            if let Some(path) = check {
                slmd::config::Config::from_file(&path)?;
                println!("{}: valid", path.display());
            } else if default {
                print!("{DEFAULT_TOML}");
            } else {
                anyhow::bail!("say --default to print the defaults, or --check FILE");
            }
            Ok(())
        }
        Command::Board { name, json } => {
            use slmd::board::{Board, Observed};
            let Some(name) = name else {
                for n in Board::known() {
                    let b = Board::load(n)?;
                    println!("{:<18} {:<32} {}", b.name, b.target, b.description);
                }
                return Ok(());
            };
            let board = Board::load(&name)?;
            let seen = Observed::this_machine();
            let differences = board.differences(&seen);
            if json {
                let out = serde_json::json!({
                    "board": board,
                    "this_machine": seen,
                    "differences": differences,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", toml::to_string(&board)?);
                println!();
                if differences.is_empty() {
                    println!("# this machine matches the profile");
                }
                for d in differences {
                    println!("# differs: {d}");
                }
            }
            Ok(())
        }
        Command::Bench(args) => slmd::cli::bench::run(args),
        Command::Soak(args) => slmd::cli::soak::run(args),
        Command::Fleet { broker, cmd } => {
            let broker = slmd::uplink::Broker::parse(&broker).map_err(anyhow::Error::msg)?;
            let rt = runtime()?;
            match cmd {
                FleetCmd::Status { wait_s } => rt.block_on(slmd::cli::fleet::status(
                    &broker,
                    std::time::Duration::from_secs(wait_s),
                )),
                FleetCmd::Watch => rt.block_on(slmd::cli::fleet::watch(&broker)),
                FleetCmd::Config {
                    cmd:
                        FleetConfigCmd::Set {
                            device,
                            pairs,
                            wait_s,
                        },
                } => rt.block_on(slmd::cli::fleet::config_set(
                    &broker,
                    &device,
                    &pairs,
                    std::time::Duration::from_secs(wait_s),
                )),
            }
        }
        Command::Gateway(a) => {
            use slmd::gateway::llm::{ApiKey, LlmClient, LlmConfig};
            let config = cli::load_config(a.config.as_deref())?;
            let broker = slmd::uplink::Broker::parse(&a.broker).map_err(anyhow::Error::msg)?;
            let mut llm = LlmConfig::new(a.llm_url, a.llm_model);
            llm.api_key = ApiKey::resolve(a.api_key_env.as_deref(), a.api_key_file.as_deref())?;
            llm.timeout = std::time::Duration::from_secs(a.timeout_s.max(1));
            llm.max_retries = a.retries;
            let llm = LlmClient::new(llm)?;
            let cfg = slmd::gateway::GatewayConfig {
                broker,
                client_id: a
                    .client_id
                    .unwrap_or_else(|| format!("slmd-gateway-{}", std::process::id())),
                concurrency: a.concurrency.clamp(1, 256),
                backoff_min: config.uplink.backoff_min,
                backoff_max: config.uplink.backoff_max,
                uplink: config.uplink,
            };
            runtime()?.block_on(async move {
                let stop = CancellationToken::new();
                let s2 = stop.clone();
                tokio::spawn(async move {
                    let _ = tokio::signal::ctrl_c().await;
                    s2.cancel();
                });
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                let s3 = stop.clone();
                tokio::spawn(async move {
                    term.recv().await;
                    s3.cancel();
                });
                tracing::info!(endpoint = %llm.endpoint(), "gateway starting");
                slmd::gateway::run(cfg, llm, stop).await;
                anyhow::Ok(())
            })
        }
        Command::Eval {
            file,
            json,
            misses,
            tune,
            target_accuracy,
            target_coverage,
            target_ece,
            per_category,
            data,
        } => {
            let config = cli::load_config_on(data.config.as_deref(), data.board.as_deref())?;
            let pipeline = slmd::pipeline::Pipeline::load(
                &cli::model_dir(data.model_dir, &config),
                &cli::kb_index(data.kb_index, &config),
                &config,
            )?;
            if tune {
                let targets = slmd::eval::TuneTargets {
                    accuracy: target_accuracy,
                    coverage: target_coverage,
                    ece: target_ece,
                };
                return cli::eval::tune(&pipeline, &file, json, targets, per_category);
            }
            cli::eval::run(
                &pipeline,
                &file,
                json,
                misses,
                config.triage.similarity_floor,
            )
        }
        Command::Tui { .. } => unreachable!("handled before logging starts"),
    }
}
