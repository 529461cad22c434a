//! Compiles the DMTF CIM Schema 2.49 (fetched by scripts/fetch-cim-schema)
//! ten times and prints the minimum and median wall time of one compile.
//! Run with `cargo bench -p openwmi-mof`.

use openwmi_cim::Repository;
use openwmi_mof::{Compiler, Options, SourceLoader};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Serves files read once beforehand, so the timing is of the compiler, not the disk.
struct Preloaded {
    files: HashMap<String, String>,
    root: PathBuf,
}

impl SourceLoader for Preloaded {
    fn load(&self, including: Option<&Path>, name: &str) -> std::io::Result<(PathBuf, String)> {
        let _ = including;
        let rel = Path::new(name)
            .strip_prefix(&self.root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| name.to_owned());
        let text = self
            .files
            .get(&rel)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, rel.clone()))?;
        Ok((PathBuf::from(rel), text.clone()))
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/fetch-cim-schema"))
        .output()
        .expect("run scripts/fetch-cim-schema");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());

    let mut files = HashMap::new();
    let mut bytes = 0;
    for entry in walk(&dir) {
        let rel = entry
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&entry).unwrap();
        bytes += text.len();
        files.insert(rel, text);
    }
    let loader = Preloaded { files, root: dir };
    let loader: &'static Preloaded = Box::leak(Box::new(loader));

    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    for _ in 0..10 {
        let mut repo = Repository::new();
        let mut compiler = Compiler::with_loader(Options::default(), Box::new(Shared(loader)));
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        let summary = compiler
            .compile_file(&mut repo, Path::new("cim_schema_2.49.0.mof"))
            .unwrap_or_else(|e| panic!("{}", e[0]));
        times.push(start.elapsed());
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
            cpu_times.push(Duration::from_nanos(b.saturating_sub(a)));
        }
        assert_eq!(summary.classes, 1631);
        drop(repo);
    }
    if std::env::var_os("OPENWMI_BENCH_EACH").is_some() {
        eprintln!(
            "each run (ms): {:.1?}",
            times
                .iter()
                .map(|d| d.as_secs_f64() * 1e3)
                .collect::<Vec<_>>()
        );
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "compile CIM Schema 2.49 ({} MiB, 1631 classes): min {:.1} ms, median {:.1} ms over {} runs",
        bytes as f64 / (1 << 20) as f64,
        ms(times[0]),
        ms(times[times.len() / 2]),
        times.len()
    );
    // On a shared machine wall time includes waiting for a core; the time
    // this thread spent on a CPU is the figure to compare across runs.
    if !cpu_times.is_empty() {
        cpu_times.sort();
        println!(
            "  on-CPU time: min {:.1} ms, median {:.1} ms",
            ms(cpu_times[0]),
            ms(cpu_times[cpu_times.len() / 2])
        );
    }
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

struct Shared(&'static Preloaded);

impl SourceLoader for Shared {
    fn load(&self, including: Option<&Path>, name: &str) -> std::io::Result<(PathBuf, String)> {
        self.0.load(including, name)
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "mof") {
            out.push(p);
        }
    }
    out
}
