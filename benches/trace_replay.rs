//! Trace replay through the whole model: the scale benchmark's workload (DESIGN §6, issue 12;
//! `benches/scale/gen_trace.rs`) at a tenth of its size per node count, so it runs in well
//! under a second: 100 nodes of 64 cores / 256 GiB, 10,000 pods arriving uniformly over 10 h,
//! requests uniform in 1–8 cores and 1–16 GiB, durations uniform in 60–7,200 s; a 12 h run.
//! The trace files are written once into a temporary folder; each iteration loads the
//! scenario and replays it (reading the CSV files lazily, as `kubesim run` does).
//!
//! Run: `cargo bench --bench trace_replay -- --noplot`

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubesim::experiment::{Limits, run};
use kubesim::scenario::load_path;
use rand::{RngExt, SeedableRng};

const GIB: u64 = 1024 * 1024 * 1024;

/// Write `nodes.csv`, `pods.csv` and `scenario.yaml` for `nodes` nodes and `pods` pods
/// (the neutral format, as `gen-trace` writes them).
fn write_trace(dir: &Path, nodes: u64, pods: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut w = BufWriter::new(fs::File::create(dir.join("nodes.csv"))?);
    writeln!(w, "name,cpu,memory,pods")?;
    for i in 0..nodes {
        writeln!(w, "node-{i:05},64000,{},110", 256 * GIB)?;
    }
    w.flush()?;
    let window_ms: u64 = 10 * 3600 * 1000;
    let mut arrivals: Vec<u64> = (0..pods).map(|_| rng.random_range(0..window_ms)).collect();
    arrivals.sort_unstable();
    let mut w = BufWriter::new(fs::File::create(dir.join("pods.csv"))?);
    writeln!(w, "id,arrival,cpu,memory,duration")?;
    for (i, at) in arrivals.iter().enumerate() {
        let cpu = rng.random_range(1..=8u64) * 1000;
        let mem = rng.random_range(1..=16u64) * GIB;
        let dur = rng.random_range(60..=7200u64);
        writeln!(w, "p{i},{}.{:03},{cpu},{mem},{dur}", at / 1000, at % 1000)?;
    }
    w.flush()?;
    fs::write(
        dir.join("scenario.yaml"),
        format!(
            "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: trace-bench}}\n\
             spec: {{seed: {seed}, duration: 12h, sampleEvery: 60s}}\n---\n\
             apiVersion: kubesim.dev/v1alpha1\nkind: Trace\nmetadata: {{name: bench}}\n\
             spec:\n  format: neutral\n  files: {{nodes: nodes.csv, pods: pods.csv}}\n"
        ),
    )
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let pods = 10_000;
    write_trace(dir.path(), 100, pods, 1).expect("trace files written");
    let path = dir.path().join("scenario.yaml");
    let mut g = c.benchmark_group("trace_replay");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pods));
    g.bench_function("10k_pods_100_nodes", |b| {
        b.iter(|| {
            let loaded = load_path(&path).unwrap_or_else(|e| panic!("{e}"));
            let r = run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
            assert!(r.partial.is_none() && r.input_error.is_none());
            r.output.store.resource_version
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
