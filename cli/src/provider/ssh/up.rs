//! `up` on every host, hosts in parallel: facts -> packages -> stage -> check -> (only when
//! every host passed) commit; then, without preemption, the held-back VRRP engines once each
//! top priority holds its VIPs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::commit::{Committed, commit};
use super::connection::{Conn, ConnError, EXEC_TIMEOUT};
use super::facts::{FACTS_SCRIPT, Facts, parse_facts};
use super::fleet::SshFleet;
use super::halabd_deb::{self, HalabdDebError};
use super::host::Host;
use super::items::ItemError;
use super::items::{items, sha256_hex};
use super::packages::{PackageError, install_packages, installed_set, missing_packages};
use super::parallel::{per_host, split};
use super::record::Record;
use super::stage::{StageError, stage_and_check};
use super::target::{Target, bring_up_vms, remote_client, resolve_targets};
use crate::apply::{UpError, UpOptions, UpReport, stage_time};
use crate::lab::Lab;
use crate::lab::model::{Node, Provider};
use crate::render::Artefact;
use crate::services::sh_quote;

pub fn up(lab: &Lab, opts: &mut UpOptions) -> Result<UpReport, UpError> {
    let start = Instant::now();
    let mut report = UpReport::default();
    let artefacts = crate::apply::render_and_check(lab, opts, &mut report)?;
    let dir = crate::state::state_dir(&opts.state_root, &lab.name);
    if lab.provider == Provider::Vagrant {
        let t = Instant::now();
        bring_up_vms(lab, &dir, &mut opts.progress).map_err(|e| UpError::Remote(e.to_string()))?;
        stage_time(&mut report, "vagrant up", t, opts);
    }
    let targets: BTreeMap<String, Target> = resolve_targets(lab, &dir)
        .map_err(|e| UpError::Remote(e.to_string()))?
        .into_iter()
        .map(|t| (t.node.clone(), t))
        .collect();
    report.existed = Record::path(&dir).exists();
    let mut record = Record::load(&dir).unwrap_or_else(|| Record {
        lab: lab.name.clone(),
        hosts: BTreeMap::new(),
        ..Record::default()
    });
    record.provider = Some(lab.provider);
    record.lab_file = std::path::absolute(&lab.file).ok();
    let probe_node = remote_client(lab, &targets).map(|n| n.name.clone());
    let nodes: Vec<&Node> = lab
        .nodes
        .iter()
        .filter(|n| targets.contains_key(&n.name))
        .collect();

    let multi = indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("  {prefix:<14} {spinner} {wide_msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    let t = Instant::now();
    // Phase 1, every host in parallel: connect, facts, packages, stage and check the files.
    let halabd = opts.halabd.as_path();
    let prepared = per_host(&nodes, |n| {
        let bar = multi.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(style.clone());
        bar.set_prefix(n.name.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        let target = targets
            .get(&n.name)
            .ok_or_else(|| HostError::NoTarget(n.name.clone()))?;
        let probe_here = probe_node.as_deref() == Some(n.name.as_str());
        let r = prepare(n, target, &artefacts, halabd, probe_here, bar.clone());
        match &r {
            Ok(h) => bar.finish_with_message(format!(
                "checked: {} file(s) to change, {} package(s) installed ({})",
                h.changed.len(),
                h.installed.len(),
                h.facts.os
            )),
            Err(e) => bar.finish_with_message(format!(
                "FAILED: {}",
                e.to_string().lines().next().unwrap_or("")
            )),
        }
        r
    });
    let (hosts, errors) = split(prepared);
    for h in &hosts {
        let rec = record.hosts.entry(h.node.name.clone()).or_default();
        rec.target = targets.get(&h.node.name).cloned();
        rec.facts = h.facts.clone();
        for p in &h.installed {
            if !rec.installed.contains(p) {
                rec.installed.push(p.clone());
            }
        }
    }
    if !errors.is_empty() {
        // Nothing was moved into place on any host: drop the staged files everywhere.
        for h in &hosts {
            let _ = h
                .conn
                .sh("clean up", &format!("rm -rf {}", sh_quote(&h.stage)));
        }
        if hosts.iter().any(|h| !h.installed.is_empty()) {
            record.save(&dir)?;
        }
        return Err(UpError::Remote(format!(
            "nothing was changed on any host ({} of {} failed):\n{}",
            errors.len(),
            nodes.len(),
            errors.join("\n")
        )));
    }
    stage_time(&mut report, "connect, packages, stage, check", t, opts);

    // Phase 2: every host passed; move the files in and (re)start, hosts in parallel.
    let t = Instant::now();
    let halabd = opts.halabd.to_string_lossy().to_string();
    // Without preemption the first engine to time out keeps the VIPs: the held-back hosts'
    // engines start once each top priority holds its VIPs (as the netns provider does).
    let held = crate::apply::held_back(lab);
    let (done, errors) = split(per_host(&hosts, |h| {
        commit(
            h,
            &halabd,
            &record.hosts.get(&h.node.name).cloned().unwrap_or_default(),
            held.contains(&h.node.name),
        )
    }));
    let mut deferred = Vec::new();
    let mut changes = Vec::new();
    for Committed {
        node,
        changed,
        files,
        started,
        deferred: later,
    } in done
    {
        deferred.extend(later.map(|s| (node.clone(), s)));
        let rec = record.hosts.entry(node.clone()).or_default();
        rec.files.extend(files);
        for s in started {
            if !rec.services.contains(&s) {
                rec.services.push(s);
            }
        }
        changes.extend(changed.into_iter().map(|p| format!("{node} {p}")));
    }
    record.save(&dir)?;
    if !errors.is_empty() {
        return Err(UpError::Remote(errors.join("\n")));
    }
    let fleet = SshFleet {
        conns: hosts
            .iter()
            .map(|h| (h.node.name.clone(), h.conn.clone()))
            .collect(),
        client: probe_node.clone(),
    };
    if !deferred.is_empty() {
        crate::apply::hand_to_tops(lab, &fleet, &held)?;
        let (_, errors) = split(per_host(&hosts, |h| {
            for (_, svc) in deferred.iter().filter(|(n, _)| *n == h.node.name) {
                super::commit::start_one(h, *svc, &halabd)?;
            }
            Ok::<(), super::commit::CommitError>(())
        }));
        for (node, svc) in &deferred {
            let rec = record.hosts.entry(node.clone()).or_default();
            if !rec.services.contains(svc) {
                rec.services.push(*svc);
            }
        }
        record.save(&dir)?;
        if !errors.is_empty() {
            return Err(UpError::Remote(errors.join("\n")));
        }
    }
    stage_time(&mut report, "install files, start services", t, opts);
    let t = Instant::now();
    crate::apply::wait_ready(lab, &fleet)?;
    stage_time(&mut report, "ready (VIP held, 200 via VIP)", t, opts);
    (opts.progress)(&format!(
        "{} change{}",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    ));
    for c in &changes {
        (opts.progress)(&format!("  changed {c}"));
    }
    report.changes = Some(changes);
    report.total = start.elapsed();
    Ok(report)
}

/// Why a host could not be prepared; nothing was changed on it.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("node {0} has no ssh section")]
    NoTarget(String),
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error(
        "node {node}: cannot run commands as root ({uid}){said}\n  hint: log in as root, or give {user} passwordless sudo"
    )]
    NotRoot {
        node: String,
        uid: String,
        said: String,
        user: String,
    },
    #[error("node {node} ({os}): no apt-get, dnf or yum found\n  hint: install {packages} by hand")]
    NoPackageManager {
        node: String,
        os: String,
        packages: String,
    },
    #[error(transparent)]
    Packages(#[from] PackageError),
    #[error(transparent)]
    Items(#[from] ItemError),
    #[error(transparent)]
    HalabdDeb(#[from] HalabdDebError),
    #[error(transparent)]
    Stage(#[from] StageError),
}

pub(super) fn prepare(
    n: &Node,
    target: &Target,
    artefacts: &[Artefact],
    halabd: &Path,
    probe_here: bool,
    bar: indicatif::ProgressBar,
) -> Result<Host, HostError> {
    bar.set_message(format!("connecting to {}", target.describe()));
    let conn = Arc::new(Conn::connect(target)?);
    let mut h = Host {
        node: n.clone(),
        conn,
        facts: Facts::default(),
        items: vec![],
        changed: vec![],
        stage: String::new(),
        installed: vec![],
        bar,
    };
    h.say("reading facts");
    let out = h
        .conn
        .run(&["sh", "-c", FACTS_SCRIPT], None, EXEC_TIMEOUT)?;
    h.facts = parse_facts(&out.stdout);
    let whoami = h.conn.run(&["id", "-u"], None, EXEC_TIMEOUT)?;
    if whoami.stdout.trim() != "0" {
        return Err(HostError::NotRoot {
            node: n.name.clone(),
            uid: whoami.stdout.trim().to_string(),
            said: if whoami.stderr.is_empty() {
                String::new()
            } else {
                format!(": {}", whoami.stderr.trim())
            },
            user: target.user.clone(),
        });
    }
    let want = crate::packages::for_node(n);
    if !want.is_empty() {
        let pkg = h
            .facts
            .pkg
            .clone()
            .ok_or_else(|| HostError::NoPackageManager {
                node: n.name.clone(),
                os: h.facts.os.clone(),
                packages: want.join(" "),
            })?;
        h.say(&format!("checking packages ({pkg})"));
        let missing = missing_packages(&h.conn, &pkg, &want)?;
        if !missing.is_empty() {
            h.say(&format!("installing {}", missing.join(" ")));
            let before = installed_set(&h.conn, &pkg)?;
            install_packages(&h.conn, &pkg, &missing)?;
            // Every package the install brought (dependencies too: nginx-light's nginx-common
            // owns nginx.conf and nginx.service), so `down --purge` removes exactly those.
            h.installed = match (before, installed_set(&h.conn, &pkg)?) {
                (Some(before), Some(after)) => after.difference(&before).cloned().collect(),
                _ => missing,
            };
        }
    }
    let packaged = halabd_deb::applies(n, &h.facts);
    if packaged {
        h.say("installing halabd's package");
        if let Some(p) = halabd_deb::ensure(&h.conn, halabd)? {
            h.installed.push(p);
        }
    }
    h.items = items(n, artefacts, &h.facts, halabd, probe_here, packaged)?;
    h.say("comparing files");
    // One sha256sum for every file; a missing file prints nothing for it.
    let paths = h
        .items
        .iter()
        .map(|i| sh_quote(&i.path))
        .collect::<Vec<_>>()
        .join(" ");
    let sums = h.conn.run(
        &["sh", "-c", &format!("sha256sum {paths} 2>/dev/null; true")],
        None,
        EXEC_TIMEOUT,
    )?;
    let have: BTreeMap<String, String> = sums
        .stdout
        .lines()
        .filter_map(|l| {
            l.split_once("  ")
                .map(|(s, p)| (p.to_string(), s.to_string()))
        })
        .collect();
    let modes = h.conn.run(
        &[
            "sh",
            "-c",
            &format!("stat -c '%a %n' {paths} 2>/dev/null; true"),
        ],
        None,
        EXEC_TIMEOUT,
    )?;
    let mode_of: BTreeMap<String, u32> = modes
        .stdout
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .and_then(|(m, p)| Some((p.to_string(), u32::from_str_radix(m, 8).ok()?)))
        })
        .collect();
    h.changed = (0..h.items.len())
        .filter(|&i| {
            have.get(&h.items[i].path) != Some(&sha256_hex(&h.items[i].bytes))
                || mode_of.get(&h.items[i].path) != Some(&h.items[i].mode)
        })
        .collect();
    if h.changed.is_empty() {
        return Ok(h);
    }
    h.say("staging files");
    // A private staging dir of the login user's: uploads land there, root copies them in.
    h.stage = h.conn.session_stage()?;
    // Whatever fails from here leaves no staging dir behind.
    if let Err(e) = stage_and_check(n, &h) {
        let _ = h
            .conn
            .sh("clean up", &format!("rm -rf {}", sh_quote(&h.stage)));
        return Err(e.into());
    }
    Ok(h)
}
