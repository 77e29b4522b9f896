//! `${VAR}` and `${VAR:-default}` in secret fields, from the environment.
//!
//! Only secrets are expanded (VRRP auth pass, stats password): a lab file stays what it says
//! everywhere else. The environment is a trait so tests need not touch the process's own.

use std::collections::HashMap;

pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Expands every `${VAR}` / `${VAR:-default}`; `$$` is a literal `$`. Err names the first
/// variable that is unset and has no default.
pub fn expand(s: &str, env: &dyn Env) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let (Some(body), Some(end)) = (after.strip_prefix('{'), after.find('}')) {
            let body = &body[..end - 1];
            let (name, default) = match body.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (body, None),
            };
            match env
                .var(name)
                .filter(|v| !v.is_empty())
                .or(default.map(str::to_string))
            {
                Some(v) => out.push_str(&v),
                None => return Err(name.to_string()),
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_vars_defaults_and_dollars() {
        // Input: strings with ${VAR}, ${VAR:-d}, $$ and a bare $. Output: expanded text or the missing name.
        let env: HashMap<String, String> = [("PASS".to_string(), "s3cret".to_string())].into();
        assert_eq!(expand("${PASS}", &env).as_deref(), Ok("s3cret"));
        assert_eq!(expand("x${NOPE:-dflt}y", &env).as_deref(), Ok("xdflty"));
        assert_eq!(expand("a$$b$c", &env).as_deref(), Ok("a$b$c"));
        assert_eq!(expand("${NOPE}", &env), Err("NOPE".to_string()));
        assert_eq!(expand("plain", &env).as_deref(), Ok("plain"));
    }
}
