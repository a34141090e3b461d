//! A real browser: headless Chromium (Debian's `chromium`; `scripts/test` installs it when
//! missing), driven over the DevTools protocol on `--remote-debugging-pipe` (NUL-separated
//! JSON on file descriptors 3 and 4), so no WebDriver or websocket crate is needed. It opens
//! the connect URL, clicks Allow on the emulator's consent page and lands on the return URL.
//! The browser is killed when the guard drops.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::helpers::process::ChildProcess;

pub struct Chromium {
    // Dropped first: the browser is killed before its profile is removed.
    process: ChildProcess,
    stdin: ChildStdin,
    messages: mpsc::UnboundedReceiver<Value>,
    next_id: u64,
    session: Option<String>,
    profile: PathBuf,
}

fn binary() -> String {
    // The real binary, not Debian's launcher script, so the guard's pid is the browser's.
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("Chromium is not installed: `apt-get install -y chromium` (scripts/test does it)")
        .to_owned()
}

impl Chromium {
    pub fn launch() -> Self {
        let profile = std::env::temp_dir().join(format!(
            "calsync-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut command = Command::new("sh");
        command
            .arg("-c")
            // fd 3: commands to the browser; fd 4: its answers. Its own stdout is discarded.
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 >/dev/null"#)
            .arg(binary())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut process = ChildProcess::spawn(&mut command, "chromium");
        let (stdin, stdout) = process.take_stdio();
        let (tx, messages) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                match reader.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        buf.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                            && tx.send(v).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        Self {
            process,
            stdin,
            messages,
            next_id: 0,
            session: None,
            profile,
        }
    }

    /// Sends a DevTools command (to the page once attached) and waits for its answer.
    pub async fn send(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.stdin.write_all(&bytes).unwrap();
        self.stdin.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = tokio::time::timeout(left, self.messages.recv())
                .await
                .unwrap_or_else(|_| panic!("Chromium did not answer {method}"))
                .unwrap_or_else(|| {
                    panic!("Chromium exited (running: {})", self.process.is_running())
                });
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// Opens a page and attaches to it.
    pub async fn open(&mut self, url: &str) {
        let target = self
            .send("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .send(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        self.session = attached["sessionId"].as_str().map(str::to_owned);
        self.send("Page.navigate", json!({"url": url})).await;
    }

    /// Evaluates `expression` in the page; its value (`null` while the page is loading).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .send(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Polls `expression` until `done` holds for its value; fails after `within`.
    pub async fn wait_for(
        &mut self,
        expression: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let v = self.eval(expression).await;
            if done(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{expression} stayed {v} for {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.process.kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
