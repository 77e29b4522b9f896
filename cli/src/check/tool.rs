//! One real-tool check of one rendered file: the argv that checks it and how to read what
//! that printed. The same check runs on this machine (`check::check_all`, in a throwaway
//! namespace) and on an ssh host (staged where the file will live). Each file is checked by
//! the program that will read it: a node with `engine: halabd` by `halabd -t`, never by
//! keepalived's stricter rules.

use crate::lab::model::Engine;
use crate::packages;
use crate::render::Check;

/// What runs, and how its output is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCheck {
    /// The tool's name in messages: haproxy, nginx, keepalived, halabd.
    pub tool: &'static str,
    pub argv: Vec<String>,
    rules: Rules,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    Haproxy,
    Nginx,
    Keepalived,
    Halabd,
}

impl ToolCheck {
    /// The check of the file at `path` (as the node sees it) on a node with `engine`;
    /// `halabd` is where the halabd binary is (on this machine, or on the host). None: the
    /// file has no checker.
    pub fn for_file(
        check: Check,
        engine: Option<Engine>,
        path: &str,
        halabd: &str,
    ) -> Option<ToolCheck> {
        let (tool, rules, argv): (_, _, &[&str]) = match check {
            Check::None => return None,
            Check::Haproxy => ("haproxy", Rules::Haproxy, &["haproxy", "-c", "-f"]),
            Check::Nginx => ("nginx", Rules::Nginx, &["nginx", "-t", "-q", "-c"]),
            Check::Keepalived if engine == Some(Engine::Halabd) => {
                ("halabd", Rules::Halabd, &[halabd, "-t", "-f"])
            }
            // -l: log to the console, so warnings are on stderr where they are read.
            Check::Keepalived => (
                "keepalived",
                Rules::Keepalived,
                &["keepalived", "-t", "-l", "-n", "-f"],
            ),
        };
        let mut argv: Vec<String> = argv.iter().map(|s| (*s).to_string()).collect();
        argv.push(path.to_string());
        Some(ToolCheck { tool, argv, rules })
    }

    /// The Debian package that brings the tool (None: halabd, built with halab).
    pub fn package(&self) -> Option<&'static str> {
        match self.rules {
            Rules::Haproxy => Some(packages::HAPROXY.debian),
            Rules::Nginx => Some(packages::NGINX.debian),
            Rules::Keepalived => Some(packages::KEEPALIVED.debian),
            Rules::Halabd => None,
        }
    }

    /// The verdict on a run that exited with `code` and printed `output`: Err says how it
    /// failed ("exited with 1", "exited 0 but warned"). A warning counts as a failure: a
    /// config its tool complains about is not one halab ships.
    pub fn verdict(&self, code: Option<i32>, output: &str) -> Result<(), String> {
        let warned = output.lines().any(|l| self.is_warning(l));
        match code {
            Some(0) if !warned => Ok(()),
            Some(0) => Err("exited 0 but warned".to_string()),
            Some(c) => Err(format!("exited with {c}")),
            None => Err("was killed by a signal".to_string()),
        }
    }

    fn is_warning(&self, line: &str) -> bool {
        match self.rules {
            Rules::Haproxy => line.contains("[WARNING]") || line.contains("[ALERT]"),
            Rules::Nginx => line.contains("[warn]") || line.contains("[emerg]"),
            // keepalived -t prints config problems as plain lines; success prints nothing
            // but its start/stop banner.
            Rules::Keepalived => {
                let l = line.to_ascii_lowercase();
                l.contains("warning")
                    || l.contains("error")
                    || l.contains("unknown")
                    || l.contains("invalid")
                    || l.contains("not exist")
                    || l.contains("failed")
            }
            // halabd -t prints each problem as `error: ...` or `warning: ...`.
            Rules::Halabd => line.starts_with("error:") || line.starts_with("warning:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Input: a keepalived.conf on a halabd node and on a keepalived node.
    // Output: each checked by its own engine.
    #[test]
    fn each_engine_checks_its_own_config() {
        let path = "/etc/keepalived/keepalived.conf";
        let h = ToolCheck::for_file(Check::Keepalived, Some(Engine::Halabd), path, "/x/halabd")
            .expect("a check");
        assert_eq!(
            (h.tool, h.argv.join(" ")),
            ("halabd", format!("/x/halabd -t -f {path}"))
        );
        let k = ToolCheck::for_file(
            Check::Keepalived,
            Some(Engine::Keepalived),
            path,
            "/x/halabd",
        )
        .expect("a check");
        assert_eq!(k.argv[0], "keepalived");
        assert_eq!(ToolCheck::for_file(Check::None, None, path, "halabd"), None);
    }

    #[test]
    fn warnings_fail_the_check() {
        let h = ToolCheck::for_file(Check::Haproxy, None, "/etc/haproxy/haproxy.cfg", "")
            .expect("a check");
        assert_eq!(h.verdict(Some(0), "Configuration file is valid\n"), Ok(()));
        assert!(h.verdict(Some(0), "[WARNING]  (1) : parsing x\n").is_err());
        assert!(h.verdict(Some(1), "").is_err());
        let d = ToolCheck::for_file(Check::Keepalived, Some(Engine::Halabd), "/k.conf", "halabd")
            .expect("a check");
        assert_eq!(
            d.verdict(Some(0), "/k.conf: configuration ok (1 instance(s))\n"),
            Ok(())
        );
        assert!(d.verdict(Some(0), "warning: unknown keyword\n").is_err());
    }
}
