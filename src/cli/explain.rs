//! `kubesim explain SCENARIO --pod NAME [--at T] [--json]`: why a pod landed where it did (or
//! stayed Pending). The cluster records the attempts of the asked pod
//! ([`crate::cluster::scheduler::explain`]); this command runs the scenario, picks one attempt
//! and prints it as a table, or as JSON with the documented shape.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde_json::{Map, Value, json};

use super::EXIT_BAD_INPUT;
use crate::cluster::scheduler::explain::Explanation;
use crate::cluster::world::{World, WorldOptions};
use crate::engine::{SimDuration, SimTime};
use crate::scenario;

/// Arguments of `kubesim explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Scenario file (.yaml, several documents allowed) or folder of such files.
    pub scenario: PathBuf,
    /// The pod: `namespace/name` or `name`, or a prefix of either (the first matching pod the
    /// scheduler tries is followed). Pod names are in the `object` column of events.csv
    /// (`Pod default/web-7c9d8b6f5-x2x9k`); a Deployment's name alone follows its first pod.
    #[arg(long)]
    pub pod: String,
    /// Explain the last attempt at or before this simulated time (e.g. 90s, 2m) instead of the
    /// pod's last attempt in the run.
    #[arg(long)]
    pub at: Option<String>,
    /// Print JSON: {"pod", "at_s", "selected", "nodes": [{"node", "feasible", "reasons",
    /// "scores": {plugin: {"raw", "normalized", "weighted"}}, "total"}]}.
    #[arg(long)]
    pub json: bool,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The size limits the scenario is checked against.
    #[command(flatten)]
    pub limits: super::run::SizeLimitArgs,
}

/// The JSON form of one attempt (the shape `--json` documents).
pub fn explanation_json(e: &Explanation) -> Value {
    let nodes: Vec<Value> = e
        .nodes
        .iter()
        .map(|n| {
            let mut scores = Map::new();
            for s in &n.scores {
                scores.insert(
                    s.plugin.clone(),
                    json!({"raw": s.raw, "normalized": s.normalized, "weighted": s.weighted}),
                );
            }
            json!({
                "node": n.node,
                "feasible": n.feasible,
                "reasons": n.reasons,
                "scores": scores,
                "total": n.total,
            })
        })
        .collect();
    json!({
        "pod": e.pod,
        "at_s": e.at.as_secs_f64(),
        "selected": e.selected,
        "nodes": nodes,
    })
}

/// The terminal table of one attempt.
pub fn explanation_table(e: &Explanation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Pod {}: scheduling attempt at {} ({:.3}s)",
        e.pod,
        e.at,
        e.at.as_secs_f64()
    );
    match (&e.selected, &e.message) {
        (Some(n), _) => {
            let _ = writeln!(out, "Selected node: {n}");
        }
        (None, Some(m)) => {
            let _ = writeln!(out, "Not scheduled: {m}");
        }
        (None, None) => {
            let _ = writeln!(out, "Not scheduled");
        }
    }
    let mut plugins: Vec<&str> = Vec::new();
    for n in &e.nodes {
        for s in &n.scores {
            if !plugins.contains(&s.plugin.as_str()) {
                plugins.push(&s.plugin);
            }
        }
    }
    let node_w = e
        .nodes
        .iter()
        .map(|n| n.node.len())
        .max()
        .unwrap_or(4)
        .max(4)
        + 1;
    let _ = write!(
        out,
        "\n{:<node_w$}  {:<8}  {:>6}",
        "NODE", "FEASIBLE", "TOTAL"
    );
    for p in &plugins {
        let _ = write!(out, "  {p}");
    }
    let _ = writeln!(out, "  REASONS");
    for n in &e.nodes {
        let mark = if e.selected.as_deref() == Some(n.node.as_str()) {
            "*"
        } else {
            ""
        };
        let _ = write!(
            out,
            "{:<node_w$}  {:<8}  {:>6}",
            format!("{}{mark}", n.node),
            if n.feasible { "yes" } else { "no" },
            if n.feasible {
                n.total.to_string()
            } else {
                "-".into()
            }
        );
        for p in &plugins {
            let cell = n
                .scores
                .iter()
                .find(|s| s.plugin == *p)
                .map(|s| format!("{}/{}x={}", s.raw, s.normalized, s.weighted))
                .unwrap_or_else(|| "-".into());
            let _ = write!(out, "  {cell:>w$}", w = p.len());
        }
        let _ = writeln!(out, "  {}", n.reasons.join("; "));
    }
    let _ = writeln!(
        out,
        "\nScore cells are raw/normalized x weight = weighted; * marks the selected node. \
         Only the nodes the attempt evaluated are listed (percentageOfNodesToScore)."
    );
    out
}

/// `kubesim explain`.
pub fn explain(args: ExplainArgs) -> u8 {
    let mut loaded = match super::run::load_with_limits(&args.scenario, &args.limits.limits()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if let Some(seed) = args.seed {
        loaded.spec.seed = seed;
    }
    let at = match &args.at {
        None => None,
        Some(t) => match scenario::duration::parse_duration(t) {
            Ok(ns) => Some(SimTime::ZERO + SimDuration::from_nanos(ns)),
            Err(e) => {
                eprintln!("error: --at: {e}");
                return EXIT_BAD_INPUT;
            }
        },
    };
    let spec = Arc::new(loaded.spec);
    let options = WorldOptions {
        registry: None,
        explain: Some(args.pod.clone()),
    };
    let mut world = match World::with_options(Arc::clone(&spec), &options) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    // Run until --at, or until the pod is bound (its last attempt), or the end.
    let until = at.unwrap_or(world.end()).min(world.end());
    let step = SimDuration::from_secs(1);
    while world.now() < until {
        let next = (world.now() + step).min(until);
        world.advance(next, u64::MAX);
        let bound = world
            .state()
            .recorder
            .explanations
            .last()
            .is_some_and(|e| e.selected.is_some());
        if at.is_none() && bound {
            break;
        }
    }
    let attempts = &world.state().recorder.explanations;
    let chosen = match at {
        Some(t) => attempts.iter().rev().find(|e| e.at <= t),
        None => attempts.last(),
    };
    let Some(e) = chosen else {
        let when = match at {
            Some(t) => format!("at or before {t}"),
            None => "during the run".to_string(),
        };
        eprintln!(
            "error: --pod {:?}: no scheduling attempt of a matching pod {when}; pod names are in the object column of events.csv from `kubesim run` (e.g. Pod default/web-7c9d8b6f5-x2x9k), and a Deployment's name matches its first pod",
            args.pod
        );
        return EXIT_BAD_INPUT;
    };
    let text = if args.json {
        format!("{}\n", explanation_json(e))
    } else {
        explanation_table(e)
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    0
}
