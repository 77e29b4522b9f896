//! The scale benchmark's quick form (one small row per engine, 2 s window, with the shared
//! script, the reload and the frozen master), as CI runs it: checks that every row is
//! measured and printed, not the figures (those are the bench's).

#[path = "support/mod.rs"]
mod support;

#[path = "../benches/scale/run.rs"]
#[expect(
    dead_code,
    reason = "the full matrix and its arguments are the bench's"
)]
mod run;

#[test]
fn the_quick_scale_benchmark_measures_every_row() {
    let settings = run::Settings::quick();
    let rows = run::run(&settings, |_| {});
    assert_eq!(rows.len(), settings.engines.len());
    for row in &rows {
        assert!(row.converged.is_some(), "{row:?} did not converge");
        assert!(
            row.cpu_ms_min.0 >= 0.0 && row.pss_kib.0 > 0 && row.pss_kib.1 > 0,
            "{row:?}"
        );
        // The capture saw adverts of every instance (2 s of 0.1 s adverts would be about 20
        // each; how many is the bench's figure, and a loaded machine delays keepalived's).
        assert!(row.intervals.len() >= row.n, "{row:?}");
        assert!(row.mean_interval_ms().is_some() && row.deviation_ms().is_some());
        assert!(row.first_advert.is_some(), "{row:?}");
        let (runs_a, runs_b) = row.script_runs_min.expect("script runs measured");
        assert!(runs_a > 0.0 && runs_b > 0.0, "{row:?}");
        // The reload's changed instance moved to the backup: the reload took effect and the
        // monitors saw it (how many others flapped is the bench's figure).
        assert!(row.reload_flaps.is_some_and(|(_, moved)| moved), "{row:?}");
        assert!(row.outage.is_some(), "{row:?}");
    }
    let table = run::table(&rows);
    assert_eq!(table.lines().count(), 2 + rows.len(), "{table}");
    assert!(
        table.contains("| Halabd |") && table.contains("| Keepalived |"),
        "{table}"
    );
    assert!(run::ratios(&rows).lines().count() == 3);
}
