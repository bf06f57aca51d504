//! `lineage`: a signal's ancestors and descendants from the query crate, as two indented trees
//! or one JSON object ([`Lineage::to_json`], the same text the server answers).

use std::io::IsTerminal;

use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::SignalRecord;
use signal_ledger_query::{Catalog, Lineage, LineageLimits, LineageNode};

use crate::args::{GlobalArgs, LineageArgs, LineageFormat};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::wiring;

/// Runs `lineage`.
pub fn run(global: &GlobalArgs, args: &LineageArgs) -> CliResult<()> {
    let catalog = Catalog::open(wiring::ledger_dir(global)?)?;
    let limits = LineageLimits {
        max_depth: args.depth.0,
        max_nodes: args.max_nodes.0,
    };
    let Some(lineage) = catalog.lineage(&args.signal_id, limits)? else {
        return Err(CliError::new(format!(
            "signal_id {:?} is not in the ledger",
            args.signal_id
        )));
    };
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        LineageFormat::Tree
    } else {
        LineageFormat::Json
    });
    match format {
        LineageFormat::Json => output::println(&output::json(&lineage)?),
        LineageFormat::Tree => output::print(&lineage_text(&lineage)),
    }
}

/// One line about a record: id, seq, source, ticker, direction, conviction, timestamp.
fn record_line(record: &SignalRecord) -> String {
    let s = &record.signal;
    format!(
        "{}  seq {}  {} {} {} {:.2} {}",
        s.signal_id,
        record.seq,
        s.source_module,
        s.ticker,
        s.direction,
        s.conviction,
        format_rfc3339_ns(s.timestamp_ns)
    )
}

/// The signal, then its ancestors and descendants as indented trees.
pub fn lineage_text(lineage: &Lineage) -> String {
    let mut out = record_line(&lineage.signal);
    out.push('\n');
    for (title, tree) in [
        ("parents (ancestors)", &lineage.ancestors),
        ("derived signals (descendants)", &lineage.descendants),
    ] {
        out.push_str(&format!("{title}: {}", tree.node_count));
        if tree.truncated {
            out.push_str(" (cut at the depth or node limit)");
        }
        out.push('\n');
        nodes_text(&tree.nodes, "", &mut out);
    }
    out
}

fn nodes_text(nodes: &[LineageNode], indent: &str, out: &mut String) {
    for (i, node) in nodes.iter().enumerate() {
        let last = i + 1 == nodes.len();
        out.push_str(indent);
        out.push_str(if last { "└── " } else { "├── " });
        match &node.record {
            Some(record) => out.push_str(&record_line(record)),
            None => out.push_str(&format!("{}  (not in the ledger)", node.signal_id)),
        }
        if node.expanded_above {
            out.push_str("  (links shown above)");
        }
        out.push('\n');
        let deeper = format!("{indent}{}", if last { "    " } else { "│   " });
        nodes_text(&node.links, &deeper, out);
    }
}
