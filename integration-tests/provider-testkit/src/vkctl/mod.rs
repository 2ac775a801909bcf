//! `vkctl`: a small CLI over the provider API for people debugging a backend.

mod commands;
mod output;
pub mod quantity;
pub mod resolve;
mod streams;

use std::path::PathBuf;

use vk_proto::Scope;

use crate::connect::{ConnectArgs, ConnectError, Connection};
pub use output::Format;

/// Talk to a provider backend (vk.provider.v1) directly, without Kubernetes.
#[derive(Debug, clap::Parser)]
#[command(name = "vkctl", version)]
pub struct Cli {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Cluster id of the scope to act for.
    #[arg(long, env = "VK_CLUSTER_ID", default_value = "vkctl", global = true)]
    pub cluster_id: String,
    /// Node name of the scope to act for.
    #[arg(long, env = "VK_NODE_NAME", default_value = "vkctl-node", global = true)]
    pub node_name: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table", global = true)]
    pub output: Format,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// vkctl's commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the scope's pods.
    List,
    /// Show one pod.
    Get {
        /// Pod UID.
        uid: String,
    },
    /// Create a pod from a Kubernetes pod manifest (YAML), resolved the simple way: literal
    /// environment values only; a UID is generated unless metadata.uid is set.
    Create {
        /// The manifest (`-` for stdin).
        #[arg(short = 'f', long)]
        file: PathBuf,
    },
    /// Delete a pod.
    Delete {
        /// Pod UID.
        uid: String,
    },
    /// Stream the scope's pods: the snapshot, then changes and bookmarks.
    Watch {
        /// Ask for a bookmark after this many quiet seconds (0: the server's choice).
        #[arg(long, default_value_t = 0)]
        bookmark_seconds: u32,
    },
    /// Print a container's log.
    Logs(streams::LogsArgs),
    /// Run a command in a container: `vkctl exec UID [-c NAME] [-i] [-t] -- CMD ARGS...`.
    /// Exits with the command's exit code.
    Exec(streams::ExecArgs),
    /// Attach to a container's main process.
    Attach(streams::AttachArgs),
    /// Describe the node this scope represents.
    NodeInfo,
    /// Print the stats summary (JSON).
    Stats,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum VkctlError {
    /// Connecting failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// An rpc failed.
    #[error("{operation} failed: {code:?}: {message}")]
    Rpc {
        /// The rpc.
        operation: &'static str,
        /// gRPC code.
        code: tonic::Code,
        /// The backend's message.
        message: String,
    },
    /// Reading a file failed.
    #[error("reading {path} failed: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifest could not be turned into a pod.
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    /// Terminal input or output failed.
    #[error("terminal input/output failed: {0}")]
    Io(#[from] std::io::Error),
    /// The pod has no such container (or none at all).
    #[error("choosing a container failed: {0}")]
    Container(String),
    /// A session ended with an error frame.
    #[error("the session failed: {0}")]
    Session(String),
}

impl VkctlError {
    fn rpc(operation: &'static str) -> impl FnOnce(tonic::Status) -> Self {
        move |status| Self::Rpc { operation, code: status.code(), message: status.message().to_owned() }
    }
}

/// Runs a command; returns the process exit code (exec passes the remote one through).
pub async fn run(cli: Cli) -> Result<i32, VkctlError> {
    let connection = Connection::open(&cli.connect)?;
    let scope = Scope::new(cli.cluster_id.clone(), cli.node_name.clone());
    let client = connection.provider(&scope)?;
    let format = cli.output;
    match cli.command {
        Command::List => commands::list(client, format).await,
        Command::Get { uid } => commands::get(client, &uid, format).await,
        Command::Create { file } => commands::create(client, &file, format).await,
        Command::Delete { uid } => commands::delete(client, &uid, format).await,
        Command::Watch { bookmark_seconds } => streams::watch(client, bookmark_seconds, format).await,
        Command::Logs(args) => streams::logs(client, args).await,
        Command::Exec(args) => streams::exec(client, args).await,
        Command::Attach(args) => streams::attach(client, args).await,
        Command::NodeInfo => commands::node_info(client, format).await,
        Command::Stats => commands::stats(client).await,
    }
}
