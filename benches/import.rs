//! Task-list import speed and memory on a 100,000-row list, CSV and xlsx.
//!
//! `cargo bench --bench import` generates both files in a temporary directory, times `load`
//! (best of several runs) and measures the xlsx import's peak RSS in a fresh process, so that
//! the generator's own memory does not count. Targets: CSV ≤ 300 ms, xlsx ≤ 2 s, xlsx peak RSS
//! < 300 MB.

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use weekbell::config::TasksConfig;
use weekbell::people::{Directory, Person};
use weekbell::tasks::{TaskList, load};

/// The same allocator as the `weekbell` binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 100_000;
const RUNS: usize = 5;

const HEADERS: [&str; 10] = [
    "序号",
    "问题类别",
    "问题描述",
    "责任单位",
    "包保领导",
    "责任人",
    "整改时限",
    "整改进展",
    "完成进度",
    "备注",
];
const CATEGORIES: [&str; 6] = [
    "大气污染",
    "水污染",
    "土壤污染",
    "固体废物",
    "农村人居环境",
    "耕地保护",
];
const UNITS: [&str; 12] = [
    "县城管局",
    "首山镇",
    "县生态环境分局",
    "刘二堡镇",
    "小北河镇",
    "县自然资源局",
    "唐马寨镇",
    "县卫健局",
    "穆家镇",
    "柳壕镇",
    "黄泥洼镇",
    "县农业农村局",
];
const LEADERS: [&str; 5] = ["张明远", "刘晓芳", "陈建国", "王丽华", "赵志刚"];
const OWNERS: [&str; 12] = [
    "孙强", "周敏", "吴涛", "郑洁", "冯磊", "何静", "许斌", "韩雪", "邓超", "曹阳", "彭亮", "曾琳",
];
const STATUSES: [&str; 6] = ["整改中", "未开始", "已完成", "受阻", "整改中", "长期坚持"];

struct Row {
    id: usize,
    category: &'static str,
    title: String,
    unit: &'static str,
    leader: &'static str,
    owners: String,
    /// Either a date (written as a date cell in xlsx) or text such as 2026年12月底前.
    due: Due,
    status: &'static str,
    progress: Option<u8>,
    notes: String,
}

enum Due {
    Date(NaiveDate),
    Text(&'static str),
}

fn row(i: usize) -> Row {
    let base = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default();
    let due = match i % 10 {
        0 => Due::Text("2026年12月底前"),
        1 => Due::Text("长期坚持"),
        2 => Due::Text("12月底前"),
        _ => Due::Date(base + chrono::Duration::days((i % 240) as i64)),
    };
    let owners = if i.is_multiple_of(7) {
        format!(
            "{}、{}",
            OWNERS[i % OWNERS.len()],
            OWNERS[(i + 5) % OWNERS.len()]
        )
    } else {
        OWNERS[i % OWNERS.len()].to_string()
    };
    Row {
        id: i + 1,
        category: CATEGORIES[i % CATEGORIES.len()],
        title: format!(
            "{}第{}号问题：{}辖区内排查发现的突出问题整改",
            CATEGORIES[i % CATEGORIES.len()],
            i + 1,
            UNITS[i % UNITS.len()]
        ),
        unit: UNITS[(i / 3) % UNITS.len()],
        leader: LEADERS[i % LEADERS.len()],
        owners,
        due,
        status: STATUSES[i % STATUSES.len()],
        progress: i.is_multiple_of(3).then_some((i % 101) as u8),
        notes: if i.is_multiple_of(4) {
            format!("已完成 {} 处，剩余 {} 处", i % 50, i % 13)
        } else {
            String::new()
        },
    }
}

fn write_csv(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = String::with_capacity(ROWS * 200);
    out.push_str("某县生态环境突出问题整改清单（基准测试数据）,,,,,,,,,\n");
    out.push_str(&HEADERS.join(","));
    out.push('\n');
    for i in 0..ROWS {
        let r = row(i);
        let due = match r.due {
            Due::Date(d) => d.format("%Y-%m-%d").to_string(),
            Due::Text(t) => t.to_string(),
        };
        let progress = r.progress.map(|p| format!("{p}%")).unwrap_or_default();
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            r.id, r.category, r.title, r.unit, r.leader, r.owners, due, r.status, progress, r.notes
        )?;
    }
    std::fs::write(path, out)?;
    Ok(())
}

fn write_xlsx(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("问题清单")?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let pct = Format::new().set_num_format("0%");
    ws.merge_range(
        0,
        0,
        0,
        9,
        "某县生态环境突出问题整改清单（基准测试数据）",
        &bold,
    )?;
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    for i in 0..ROWS {
        let r = row(i);
        let n = (i + 2) as u32;
        ws.write_number(n, 0, r.id as f64)?;
        ws.write_string(n, 1, r.category)?;
        ws.write_string(n, 2, &r.title)?;
        ws.write_string(n, 3, r.unit)?;
        ws.write_string(n, 4, r.leader)?;
        ws.write_string(n, 5, &r.owners)?;
        match r.due {
            Due::Date(d) => {
                use chrono::Datelike;
                let d = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                ws.write_datetime_with_format(n, 6, d, &date)?;
            }
            Due::Text(t) => {
                ws.write_string(n, 6, t)?;
            }
        }
        ws.write_string(n, 7, r.status)?;
        if let Some(p) = r.progress {
            ws.write_number_with_format(n, 8, f64::from(p) / 100.0, &pct)?;
        }
        if !r.notes.is_empty() {
            ws.write_string(n, 9, &r.notes)?;
        }
    }
    wb.save(path)?;
    Ok(())
}

fn people() -> Directory {
    let mut list = Vec::new();
    for (i, name) in LEADERS.iter().chain(OWNERS.iter()).enumerate() {
        // 许斌 stays unknown so that the warning path is part of the measurement.
        if *name == "许斌" {
            continue;
        }
        list.push(Person {
            id: format!("p{i:03}"),
            name: name.to_string(),
            unit: None,
            mobile: None,
            email: None,
            handles: BTreeMap::new(),
            admin: false,
        });
    }
    Directory::new(list)
}

fn config(path: &Path) -> TasksConfig {
    TasksConfig {
        source: path.to_path_buf(),
        sheet: None,
        columns: BTreeMap::new(),
        status_values: BTreeMap::new(),
        encoding: None,
        max_unpacked_size: weekbell::config::DEFAULT_MAX_UNPACKED_SIZE,
        date_order: None,
        locale: weekbell::config::Locale::ZhCn,
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default()
}

fn load_once(path: &Path, people: &Directory) -> Result<TaskList, Box<dyn std::error::Error>> {
    Ok(load(&config(path), people, today())?)
}

fn best_of(
    path: &Path,
    people: &Directory,
) -> Result<(Duration, TaskList), Box<dyn std::error::Error>> {
    let mut best = Duration::MAX;
    let mut last = TaskList::default();
    for _ in 0..RUNS {
        let start = Instant::now();
        let list = std::hint::black_box(load_once(path, people)?);
        best = best.min(start.elapsed());
        last = list;
    }
    Ok((best, last))
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Child mode: load the xlsx once and report this process's peak RSS.
fn peak_child(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let before = vm_hwm_kib().unwrap_or(0);
    let people = people();
    let list = load_once(path, &people)?;
    let after = vm_hwm_kib().unwrap_or(0);
    println!(
        "tasks={} hwm_before_kib={before} hwm_kib={after}",
        list.tasks.len()
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--xlsx-peak") {
        let path = args.get(pos + 1).ok_or("--xlsx-peak needs a path")?;
        return peak_child(Path::new(path));
    }
    // For profiling: `--generate DIR` writes the two files, `--load PATH N` loads one N times.
    if let Some(pos) = args.iter().position(|a| a == "--generate") {
        let dir = Path::new(args.get(pos + 1).ok_or("--generate needs a directory")?);
        write_csv(&dir.join("tasks.csv"))?;
        return write_xlsx(&dir.join("tasks.xlsx"));
    }
    if let Some(pos) = args.iter().position(|a| a == "--load") {
        let path = Path::new(args.get(pos + 1).ok_or("--load needs a path")?);
        let n: usize = args.get(pos + 2).and_then(|n| n.parse().ok()).unwrap_or(1);
        let people = people();
        for _ in 0..n {
            let start = Instant::now();
            let list = load_once(path, &people)?;
            println!(
                "{} tasks in {:.1} ms",
                list.tasks.len(),
                start.elapsed().as_secs_f64() * 1e3
            );
        }
        return Ok(());
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not, and generating 100,000
    // rows in a debug build there would only slow the test run down.
    if !args.iter().any(|a| a == "--bench") {
        println!("import bench: run it with `cargo bench --bench import`");
        return Ok(());
    }

    let dir = tempfile::tempdir()?;
    let csv: PathBuf = dir.path().join("tasks.csv");
    let xlsx: PathBuf = dir.path().join("tasks.xlsx");
    let t = Instant::now();
    write_csv(&csv)?;
    write_xlsx(&xlsx)?;
    println!(
        "generated {ROWS} rows: csv {:.1} MB, xlsx {:.1} MB in {:.1} s",
        std::fs::metadata(&csv)?.len() as f64 / 1e6,
        std::fs::metadata(&xlsx)?.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let people = people();
    let (csv_time, csv_list) = best_of(&csv, &people)?;
    let (xlsx_time, xlsx_list) = best_of(&xlsx, &people)?;
    assert_eq!(csv_list.tasks.len(), ROWS);
    assert_eq!(xlsx_list.tasks.len(), ROWS);

    let out = Command::new(std::env::current_exe()?)
        .arg("--xlsx-peak")
        .arg(&xlsx)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "peak-memory child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let child = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Option<u64> {
        child
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    };
    let peak_mb = field("hwm_kib").unwrap_or(0) as f64 / 1024.0;
    let base_mb = field("hwm_before_kib").unwrap_or(0) as f64 / 1024.0;

    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    let csv_ms = csv_time.as_secs_f64() * 1e3;
    let xlsx_ms = xlsx_time.as_secs_f64() * 1e3;
    println!(
        "csv  load: {csv_ms:8.1} ms (best of {RUNS})  target ≤ 300 ms   {}",
        verdict(csv_ms <= 300.0)
    );
    println!(
        "xlsx load: {xlsx_ms:8.1} ms (best of {RUNS})  target ≤ 2000 ms  {}",
        verdict(xlsx_ms <= 2000.0)
    );
    println!(
        "xlsx peak RSS: {peak_mb:.1} MB (process start {base_mb:.1} MB)  target < 300 MB  {}",
        verdict(peak_mb < 300.0)
    );
    println!(
        "warnings: csv {}, xlsx {}",
        csv_list.warnings.len(),
        xlsx_list.warnings.len()
    );
    Ok(())
}
