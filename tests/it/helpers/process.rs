//! Child processes of a test (`calsync worker`, `redis-server`): killed when the guard is
//! dropped, so a failing test never leaves one running after `cargo test` exits, and
//! signalled directly (no `kill` binary, which a slim image lacks).

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A spawned child, killed (SIGKILL) and reaped on drop.
pub struct ChildProcess {
    child: Option<Child>,
    what: String,
}

impl ChildProcess {
    /// Spawns `command`; `what` names it in failures.
    pub fn spawn(command: &mut Command, what: &str) -> Self {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Self {
            child: Some(child),
            what: what.to_owned(),
        }
    }

    /// The child's standard error, when it was spawned with `Stdio::piped()`.
    pub fn take_stderr(&mut self) -> std::process::ChildStderr {
        self.child
            .as_mut()
            .and_then(|c| c.stderr.take())
            .expect("spawned with a piped stderr")
    }

    /// The child's standard input and output, when spawned with `Stdio::piped()` for both.
    pub fn take_stdio(&mut self) -> (std::process::ChildStdin, std::process::ChildStdout) {
        let child = self.child.as_mut().expect("the child is still ours");
        (
            child.stdin.take().expect("spawned with a piped stdin"),
            child.stdout.take().expect("spawned with a piped stdout"),
        )
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL, then reap: no chance to hand anything back.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (e.g. SIGTERM for a graceful stop).
    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.id()).expect("pid fits i32"));
        kill(pid, signal).unwrap_or_else(|e| panic!("cannot signal {}: {e}", self.what));
    }

    /// Whether the child is still running (not exited, not killed).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Waits for the child to exit on its own, failing the test after `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            let child = self.child.as_mut().expect("the child is still ours");
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(
                start.elapsed() < within,
                "{} did not exit within {within:?}",
                self.what
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The key child workers seal and open tokens with (`TOKEN_ENCRYPTION_KEY`: 32 zero bytes);
/// a test storing credentials for a child worker seals them with this key.
pub const CHILD_KEY_B64: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// A `calsync worker` command against the test's database and Redis namespace, with short
/// leases and quiet logs; Google unreachable unless the caller points it somewhere. Add
/// settings with `.env(..)`, then [`ChildProcess::spawn`].
pub fn calsync_worker(database_url: &str, redis_url: &str, namespace: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calsync"));
    command
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", redis_url)
        .env("QUEUE_NAMESPACE", namespace)
        .env("QUEUE_LEASE_MS", "2000")
        .env("WORKER_CONCURRENCY", "2")
        .env("WORKER_NAME", "child")
        .env("RUST_LOG", "error")
        // Test Googles (the emulator, an unreachable port) are plain http on loopback.
        .env("CALSYNC_ALLOW_INSECURE_GOOGLE", "1")
        .env("GOOGLE_API_BASE_URL", "http://127.0.0.1:9/calendar/v3")
        .env("GOOGLE_OAUTH_TOKEN_URL", "http://127.0.0.1:9/token")
        .env("GOOGLE_CLIENT_ID", "test-client")
        .env("GOOGLE_CLIENT_SECRET", "test-secret")
        .env("TOKEN_ENCRYPTION_KEY", CHILD_KEY_B64)
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    command
}
