//! Seeded generator of the trace-replay scale benchmark (DESIGN §6, issue 12):
//! N nodes of 64 cores / 256 GiB; P pods arriving uniformly over 10 h, requests uniform in
//! 1–8 cores and 1–16 GiB (whole cores and GiB), durations uniform in 60–7,200 s (whole
//! seconds). Writes `nodes.csv`, `pods.csv` (the neutral format) and `scenario.yaml` (a 12 h
//! run replaying them) into the output folder.
//!
//! ```text
//! cargo run --release --example gen-trace -- --pods 100000 --nodes 1000 --seed 1 --out /tmp/t100k
//! /usr/bin/time -v target/release/kubesim run /tmp/t100k/scenario.yaml --out /tmp/t100k/out --no-report
//! ```
//!
//! The same seed always writes the same bytes (ChaCha8, portable).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use rand::{RngExt, SeedableRng};

fn main() -> std::io::Result<()> {
    let mut pods: u64 = 100_000;
    let mut nodes: u64 = 1_000;
    let mut seed: u64 = 1;
    let mut out = PathBuf::from("trace-bench");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--pods" => pods = v.parse().expect("--pods N"),
            "--nodes" => nodes = v.parse().expect("--nodes N"),
            "--seed" => seed = v.parse().expect("--seed N"),
            "--out" => out = PathBuf::from(v),
            other => panic!("unknown argument {other}; use --pods --nodes --seed --out"),
        }
    }
    fs::create_dir_all(&out)?;
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    const GIB: u64 = 1024 * 1024 * 1024;
    let mut w = BufWriter::new(fs::File::create(out.join("nodes.csv"))?);
    writeln!(w, "name,cpu,memory,pods")?;
    for i in 0..nodes {
        writeln!(w, "node-{i:05},64000,{},110", 256 * GIB)?;
    }
    w.flush()?;
    // Arrivals uniform over 10 h: draw them, then sort (the neutral format is in arrival order).
    let window_ms: u64 = 10 * 3600 * 1000;
    let mut arrivals: Vec<u64> = (0..pods).map(|_| rng.random_range(0..window_ms)).collect();
    arrivals.sort_unstable();
    let mut w = BufWriter::new(fs::File::create(out.join("pods.csv"))?);
    writeln!(w, "id,arrival,cpu,memory,duration")?;
    for (i, at) in arrivals.iter().enumerate() {
        let cpu = rng.random_range(1..=8u64) * 1000;
        let mem = rng.random_range(1..=16u64) * GIB;
        let dur = rng.random_range(60..=7200u64);
        writeln!(w, "p{i},{}.{:03},{cpu},{mem},{dur}", at / 1000, at % 1000)?;
    }
    w.flush()?;
    fs::write(
        out.join("scenario.yaml"),
        format!(
            "# Trace-replay scale benchmark: {nodes} nodes, {pods} pods (seed {seed}).\n\
             apiVersion: kubesim.dev/v1alpha1\n\
             kind: Scenario\n\
             metadata: {{name: trace-bench}}\n\
             spec: {{seed: {seed}, duration: 12h, sampleEvery: 60s}}\n\
             ---\n\
             apiVersion: kubesim.dev/v1alpha1\n\
             kind: Trace\n\
             metadata: {{name: bench}}\n\
             spec:\n  format: neutral\n  files: {{nodes: nodes.csv, pods: pods.csv}}\n"
        ),
    )?;
    Ok(())
}
