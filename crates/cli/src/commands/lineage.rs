//! `lineage`: a signal's ancestors and descendants from the query crate, as two indented trees
//! or one JSON object.

use std::io::IsTerminal;

use signal_ledger_engine::record::json::{push_json_str, write_record_json};
use signal_ledger_engine::timefmt::format_rfc3339_ns;
use signal_ledger_engine::SignalRecord;
use signal_ledger_query::{Catalog, Lineage, LineageLimits, LineageNode, Tree};

use crate::args::{GlobalArgs, LineageArgs, LineageFormat};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::wiring;

/// Runs `lineage`.
pub fn run(global: &GlobalArgs, args: &LineageArgs) -> CliResult<()> {
    let catalog = Catalog::open(wiring::ledger_dir(global)?)?;
    let limits = LineageLimits {
        max_depth: usize::from(args.depth),
        max_nodes: args.max_nodes,
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
        LineageFormat::Json => output::println(&lineage_json(&lineage)),
        LineageFormat::Tree => output::print(&lineage_text(&lineage)),
    }
}

/// `{"signal": record, "ancestors": tree, "descendants": tree}`, a tree being
/// `{"node_count", "truncated", "nodes": [node]}` and a node
/// `{"signal_id", "found", "expanded_above", "record": record or null, "links": [node]}`
/// (links: parents among ancestors, children among descendants).
pub fn lineage_json(lineage: &Lineage) -> String {
    let mut out = String::from("{\"signal\":");
    write_record_json(&lineage.signal, &mut out);
    out.push_str(",\"ancestors\":");
    tree_json(&lineage.ancestors, &mut out);
    out.push_str(",\"descendants\":");
    tree_json(&lineage.descendants, &mut out);
    out.push('}');
    out
}

fn tree_json(tree: &Tree, out: &mut String) {
    out.push_str(&format!(
        "{{\"node_count\":{},\"truncated\":{},\"nodes\":",
        tree.node_count, tree.truncated
    ));
    nodes_json(&tree.nodes, out);
    out.push('}');
}

fn nodes_json(nodes: &[LineageNode], out: &mut String) {
    out.push('[');
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"signal_id\":");
        push_json_str(out, &node.signal_id);
        out.push_str(&format!(
            ",\"found\":{},\"expanded_above\":{},\"record\":",
            node.record.is_some(),
            node.expanded_above
        ));
        match &node.record {
            Some(record) => write_record_json(record, out),
            None => out.push_str("null"),
        }
        out.push_str(",\"links\":");
        nodes_json(&node.links, out);
        out.push('}');
    }
    out.push(']');
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
