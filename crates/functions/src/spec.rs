//! What a function is: its configuration as a caller writes it ([`FunctionConfig`], the
//! registry file's kebab-case keys) and the checked form the runtime starts ([`Function`]).
//!
//! Checking reports every problem at once, each naming the key it is about in the caller's words:
//! the file's kebab-case key (`timeout-seconds`) or the API's camelCase member (`timeoutSeconds`),
//! chosen by [`Naming`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The fewest megabytes `memory-mb` may give: below this even a shell cannot start.
pub const MIN_MEMORY_MB: u64 = 32;

/// The most attempts `concurrency` may allow at once.
pub const MAX_CONCURRENCY: u64 = 10_000;

/// The longest `description`, in characters (Lambda's limit).
pub const MAX_DESCRIPTION: usize = 256;

/// One function as written in a registry file or sent to `CreateFunction` (see the crate
/// documentation for each key). Exactly one of `command` and `url` is given.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FunctionConfig {
    /// The program and its arguments (a command function).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The working directory of a command function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Variables added to a command function's environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The endpoint an HTTP function's event is POSTed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers sent with every request of an HTTP function.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The function's own timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// The address-space limit of a command function, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// At most this many attempts of the function run at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A checked function, ready to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// What runs.
    pub kind: Kind,
    /// The function's own timeout, if it has one.
    pub timeout_seconds: Option<u64>,
    /// The address-space limit of a command function, in MiB.
    pub memory_mb: Option<u64>,
    /// At most this many attempts at once; `None` is no limit.
    pub concurrency: Option<u32>,
    /// Free text for people.
    pub description: Option<String>,
}

/// What a function runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A local program: the event on stdin, the result on stdout.
    Command {
        /// The program: an absolute path, or a name looked up on `PATH`.
        program: PathBuf,
        /// Its arguments, passed as they are (never through a shell).
        args: Vec<String>,
        /// Its working directory (absolute).
        cwd: PathBuf,
        /// Variables added to weir's environment.
        env: BTreeMap<String, String>,
    },
    /// An HTTP endpoint: the event POSTed as JSON, the result in the response body.
    Http {
        /// The `http://` URL.
        url: String,
        /// Headers sent with every request.
        headers: BTreeMap<String, String>,
    },
}

/// Whose words problems use for the keys they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// The registry file's kebab-case keys (`timeout-seconds`).
    File,
    /// The API's camelCase members (`timeoutSeconds`).
    Api,
}

impl Naming {
    /// The name of `key` (given in file form) in these words.
    pub fn key(self, key: &'static str) -> &'static str {
        match self {
            Naming::File => key,
            Naming::Api => match key {
                "command" => "command",
                "cwd" => "workingDirectory",
                "env" => "environment",
                "url" => "url",
                "headers" => "headers",
                "timeout-seconds" => "timeoutSeconds",
                "memory-mb" => "memoryMb",
                "concurrency" => "concurrency",
                "description" => "description",
                other => other,
            },
        }
    }
}

/// Lambda's rule for function names: 1 to 64 letters, digits, hyphens and underscores.
pub fn is_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl FunctionConfig {
    /// Checks the function `name` and resolves its relative paths against `base` (the registry
    /// file's directory, or the server's working directory for the API): the function, or every
    /// problem with it, each starting with `function 'NAME': `.
    pub fn check(&self, name: &str, base: &Path, naming: Naming) -> Result<Function, Vec<String>> {
        self.resolve(name, base, naming, true)
    }

    /// [`FunctionConfig::check`], optionally without looking at the file system: a stored
    /// function whose program has gone since stays registered (and fails when it is called).
    pub(crate) fn resolve(
        &self,
        name: &str,
        base: &Path,
        naming: Naming,
        check_files: bool,
    ) -> Result<Function, Vec<String>> {
        let mut problems = Vec::new();
        let mut problem = |text: String| problems.push(format!("function '{name}': {text}"));
        let key = |k| naming.key(k);
        if !is_function_name(name) {
            problem("the name must be 1 to 64 letters, digits, hyphens or underscores".to_string());
        }
        let kind = match (&self.command, &self.url) {
            (Some(command), None) => {
                self.check_command(command, base, naming, check_files, &mut problem)
            }
            (None, Some(url)) => {
                for (field, given) in [
                    ("cwd", self.cwd.is_some()),
                    ("env", !self.env.is_empty()),
                    ("memory-mb", self.memory_mb.is_some()),
                ] {
                    if given {
                        problem(format!(
                            "`{}` applies to a `{}` function only, not to a `{}` one",
                            key(field),
                            key("command"),
                            key("url")
                        ));
                    }
                }
                check_url(url, &self.headers, naming, &mut problem)
            }
            _ => {
                problem(format!(
                    "give exactly one of `{}` (a local program) and `{}` (an HTTP endpoint)",
                    key("command"),
                    key("url")
                ));
                None
            }
        };
        if self.command.is_some() && !self.headers.is_empty() {
            problem(format!(
                "`{}` applies to a `{}` function only, not to a `{}` one",
                key("headers"),
                key("url"),
                key("command")
            ));
        }
        if self.timeout_seconds == Some(0) {
            problem(format!("`{}` must be at least 1", key("timeout-seconds")));
        }
        if let Some(mb) = self.memory_mb
            && mb < MIN_MEMORY_MB
        {
            problem(format!(
                "`{}` must be at least {MIN_MEMORY_MB}, not {mb}",
                key("memory-mb")
            ));
        }
        let concurrency = match self.concurrency {
            None => None,
            Some(n @ 1..=MAX_CONCURRENCY) => u32::try_from(n).ok(),
            Some(n) => {
                problem(format!(
                    "`{}` must be 1 to {MAX_CONCURRENCY}, not {n}",
                    key("concurrency")
                ));
                None
            }
        };
        if let Some(text) = &self.description
            && text.chars().count() > MAX_DESCRIPTION
        {
            problem(format!(
                "`{}` must be at most {MAX_DESCRIPTION} characters",
                key("description")
            ));
        }
        match kind {
            Some(kind) if problems.is_empty() => Ok(Function {
                kind,
                timeout_seconds: self.timeout_seconds,
                memory_mb: self.memory_mb,
                concurrency,
                description: self.description.clone(),
            }),
            _ => Err(problems),
        }
    }

    fn check_command(
        &self,
        command: &[String],
        base: &Path,
        naming: Naming,
        check_files: bool,
        problem: &mut impl FnMut(String),
    ) -> Option<Kind> {
        let key = |k| naming.key(k);
        let mut ok = true;
        let program = match command.first() {
            Some(p) if !p.is_empty() => p.clone(),
            _ => {
                problem(format!(
                    "`{}` must start with the program to run",
                    key("command")
                ));
                ok = false;
                String::new()
            }
        };
        let program = if program.contains('/') {
            let path = base.join(&program);
            if check_files && !path.is_file() {
                problem(format!("the program {} does not exist", path.display()));
                ok = false;
            }
            path
        } else {
            PathBuf::from(program)
        };
        let cwd = match &self.cwd {
            Some(cwd) => base.join(cwd),
            None => base.to_path_buf(),
        };
        if check_files && !cwd.is_dir() {
            problem(format!(
                "the directory {} (`{}`) does not exist",
                cwd.display(),
                key("cwd")
            ));
            ok = false;
        }
        for name in self.env.keys() {
            if name.is_empty() || name.contains(['=', '\0']) {
                problem(format!(
                    "`{}` has an invalid variable name '{name}'",
                    key("env")
                ));
                ok = false;
            }
        }
        ok.then(|| Kind::Command {
            program,
            args: command.iter().skip(1).cloned().collect(),
            cwd,
            env: self.env.clone(),
        })
    }
}

fn check_url(
    url: &str,
    headers: &BTreeMap<String, String>,
    naming: Naming,
    problem: &mut impl FnMut(String),
) -> Option<Kind> {
    let key = |k| naming.key(k);
    let mut ok = true;
    if url.starts_with("https://") {
        problem(format!(
            "`{}` {url} uses https://, which weir does not support yet (no TLS): use an http:// \
             endpoint",
            key("url")
        ));
        ok = false;
    } else if let Err(why) = crate::http::check_http_url(url) {
        problem(format!(
            "`{}` {url} is not an http:// URL: {why}",
            key("url")
        ));
        ok = false;
    }
    for (name, value) in headers {
        if let Err(why) = crate::http::check_header(name, value) {
            problem(format!("`{}` {why}", key("headers")));
            ok = false;
        }
    }
    ok.then(|| Kind::Http {
        url: url.to_string(),
        headers: headers.clone(),
    })
}

impl Function {
    /// The function as a configuration again, with its paths resolved (what the store keeps and
    /// `GetFunction` shows).
    pub fn config(&self) -> FunctionConfig {
        let mut config = FunctionConfig {
            timeout_seconds: self.timeout_seconds,
            memory_mb: self.memory_mb,
            concurrency: self.concurrency.map(u64::from),
            description: self.description.clone(),
            ..FunctionConfig::default()
        };
        match &self.kind {
            Kind::Command {
                program,
                args,
                cwd,
                env,
            } => {
                let mut command = vec![program.to_string_lossy().into_owned()];
                command.extend(args.iter().cloned());
                config.command = Some(command);
                config.cwd = Some(cwd.clone());
                config.env = env.clone();
            }
            Kind::Http { url, headers } => {
                config.url = Some(url.clone());
                config.headers = headers.clone();
            }
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(config: FunctionConfig, naming: Naming) -> Vec<String> {
        config
            .check("f", Path::new("/"), naming)
            .expect_err("the config is refused")
    }

    #[test]
    fn exactly_one_of_command_and_url() {
        let both = FunctionConfig {
            command: Some(vec!["true".into()]),
            url: Some("http://127.0.0.1:1/".into()),
            ..FunctionConfig::default()
        };
        let text = problems(both, Naming::File).join("\n");
        assert!(text.contains("exactly one of `command`"), "{text}");
        let text = problems(FunctionConfig::default(), Naming::Api).join("\n");
        assert!(text.contains("exactly one of `command`"), "{text}");
    }

    #[test]
    fn problems_name_keys_in_the_callers_words() {
        let config = FunctionConfig {
            url: Some("https://example.com/f".into()),
            cwd: Some(PathBuf::from("/tmp")),
            timeout_seconds: Some(0),
            memory_mb: Some(1),
            concurrency: Some(0),
            ..FunctionConfig::default()
        };
        let api = problems(config.clone(), Naming::Api).join("\n");
        for expected in [
            "`url` https://example.com/f uses https://",
            "`workingDirectory` applies to a `command` function only",
            "`memoryMb` applies to a `command` function only",
            "`timeoutSeconds` must be at least 1",
            "`memoryMb` must be at least 32",
            "`concurrency` must be 1 to 10000",
        ] {
            assert!(api.contains(expected), "{expected:?} in {api}");
        }
        let file = problems(config, Naming::File).join("\n");
        assert!(
            file.contains("`timeout-seconds` must be at least 1"),
            "{file}"
        );
        assert!(file.contains("`cwd` applies to"), "{file}");
    }

    #[test]
    fn a_checked_function_round_trips_through_its_config() {
        let config = FunctionConfig {
            command: Some(vec!["sh".into(), "-c".into(), "cat".into()]),
            env: BTreeMap::from([("A".into(), "1".into())]),
            timeout_seconds: Some(3),
            memory_mb: Some(256),
            concurrency: Some(2),
            description: Some("echo".into()),
            ..FunctionConfig::default()
        };
        let function = config
            .check("echo", Path::new("/"), Naming::File)
            .expect("a valid function");
        let again = function
            .config()
            .check("echo", Path::new("/elsewhere"), Naming::File)
            .expect("still valid");
        assert_eq!(function, again);
        assert_eq!(again.concurrency, Some(2));
    }
}
