//! The cases, grouped by the part of the contract they check.

mod exec;
mod logs;
mod pods;
mod scope;
mod standard;
mod watch;

use super::runner::Case;

macro_rules! case {
    ($module:ident :: $name:ident) => {
        Case { name: stringify!($name), run: |context| Box::pin($module::$name(context)) }
    };
}

/// Every case, in run order.
pub fn all() -> Vec<Case> {
    vec![
        case!(standard::health),
        case!(standard::reflection),
        case!(standard::scope_is_required),
        case!(standard::authentication),
        case!(standard::node_info),
        case!(standard::stats_summary),
        case!(pods::create_is_idempotent),
        case!(pods::get_returns_the_pod_as_given),
        case!(pods::delete_is_idempotent),
        case!(pods::pod_reaches_running),
        case!(pods::exit_codes_follow_restart_policy_never),
        case!(pods::invalid_pods_list_every_problem),
        case!(pods::update_pod),
        case!(scope::list_pods_is_scoped),
        case!(scope::list_pods_pages),
        case!(watch::watch_snapshot_then_changes),
        case!(watch::watch_resyncs_after_reconnect),
        case!(watch::watch_bookmarks),
        case!(logs::logs_all),
        case!(logs::logs_tail_lines),
        case!(logs::logs_timestamps),
        case!(logs::logs_since),
        case!(logs::logs_limit_bytes),
        case!(logs::logs_follow),
        case!(logs::logs_previous),
        case!(logs::logs_errors_come_first),
        case!(exec::exec_frames_and_arguments),
        case!(exec::exec_exit_code_and_stderr),
        case!(exec::exec_stdin),
        case!(exec::exec_tty_size),
        case!(exec::exec_errors),
        case!(exec::attach),
        case!(exec::cancellation),
    ]
}
