//! Debian's headless Chromium, driven over W3C WebDriver with `fantoccini`: starts
//! `chromedriver` on a free loopback port (killed on drop), opens one session with a fresh
//! profile, and offers the tests blocking calls (each runs on this browser's own
//! single-threaded tokio runtime): navigate, find, click, type, run a script, wait by polling,
//! read the console log and take PNG screenshots.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::{CmdError, NewSessionError};
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package chromium-driver).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Set to `required` to make a missing browser a test failure instead of a skip.
pub const REQUIRED_VAR: &str = "SIGNAL_LEDGER_BROWSER_TESTS";
/// How long a wait polls before the test fails: generous, for a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(45);
/// How long chromedriver may take to accept a session.
const DRIVER_START: Duration = Duration::from_secs(20);

/// A headless Chromium session and the chromedriver serving it.
pub struct Browser {
    client: Option<Client>,
    runtime: tokio::runtime::Runtime,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// A browser for the test `test`, or `None` after printing why it is skipped: Chromium or
/// chromedriver is not installed and `SIGNAL_LEDGER_BROWSER_TESTS` is not `required` (when it
/// is, a missing browser panics). A browser that is installed but fails to start panics.
pub fn browser_or_skip(test: &str) -> Option<Browser> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        let why = format!(
            "{} not installed (apt-get install -y chromium chromium-driver)",
            missing.join(" and ")
        );
        if std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "required") {
            panic!("{test}: {why}, and {REQUIRED_VAR}=required");
        }
        eprintln!(
            "SKIPPED browser test {test}: {why}; set {REQUIRED_VAR}=required to fail instead"
        );
        return None;
    }
    match Browser::launch() {
        Ok(browser) => Some(browser),
        Err(e) => panic!("{test}: could not start headless Chromium: {e}"),
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// What the session asks of chromedriver: headless Chromium with a fresh profile, and the
/// page's severe console messages kept for [`Browser::console_errors`].
fn capabilities(profile: &Path) -> Capabilities {
    let user_data = format!("--user-data-dir={}", profile.display());
    let options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", user_data, "--window-size=1400,1000",
        ],
    });
    let mut capabilities = Capabilities::new();
    capabilities.insert("browserName".to_owned(), json!("chrome"));
    capabilities.insert(
        "goog:loggingPrefs".to_owned(),
        json!({ "browser": "SEVERE" }),
    );
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    capabilities
}

/// Chromedriver's own command for the browser's console log (not in the W3C standard).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a fresh profile.
    pub fn launch() -> Result<Browser, String> {
        let profile = tempfile::tempdir().map_err(|e| format!("profile dir: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("a tokio runtime: {e}"))?;
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities(profile.path()));
        let mut last_error = String::new();
        // The port is free when asked; another process could take it before chromedriver
        // binds it: then try another.
        for _ in 0..3 {
            let port = free_port().map_err(|e| format!("find a free port: {e}"))?;
            let mut driver = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("start {CHROMEDRIVER}: {e}"))?;
            let url = format!("http://127.0.0.1:{port}");
            match runtime.block_on(connect(&builder, &url, &mut driver)) {
                Ok(client) => {
                    return Ok(Browser {
                        client: Some(client),
                        runtime,
                        driver,
                        _profile: profile,
                    });
                }
                Err(e) => {
                    let _ = driver.kill();
                    let _ = driver.wait();
                    last_error = e;
                }
            }
        }
        Err(last_error)
    }

    /// Runs one command of the session; panics naming `what` if it fails.
    fn must<T>(&self, what: &str, command: impl AsyncFnOnce(&Client) -> Result<T, CmdError>) -> T {
        self.try_run(command)
            .unwrap_or_else(|e| panic!("WebDriver {what}: {e}"))
    }

    /// Runs one command of the session, to completion.
    fn try_run<T>(
        &self,
        command: impl AsyncFnOnce(&Client) -> Result<T, CmdError>,
    ) -> Result<T, CmdError> {
        let client = self
            .client
            .as_ref()
            .expect("the session is open until drop");
        self.runtime.block_on(command(client))
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.must("navigate", async |c| c.goto(url).await);
    }

    /// Reloads the page.
    pub fn refresh(&self) {
        self.must("refresh", async |c| c.refresh().await);
    }

    /// The first element matching `css`, if any.
    pub fn try_find(&self, css: &str) -> Option<Element> {
        match self.try_run(async |c| c.find(Locator::Css(css)).await) {
            Ok(element) => Some(element),
            Err(e) if e.is_no_such_element() => None,
            Err(e) => panic!("WebDriver find {css:?}: {e}"),
        }
    }

    /// The first element matching `css`, waiting for it to appear.
    pub fn find(&self, css: &str) -> Element {
        self.wait_until(&format!("an element {css:?}"), |b| b.try_find(css))
    }

    /// Clicks `css` (waiting for it), as a user would.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.must("click", async |_| element.click().await);
    }

    /// Clears the field `css` and types `text` into it.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.must("clear", async |_| element.clear().await);
        self.must("send keys", async |_| element.send_keys(text).await);
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.must("execute script", async |c| {
            c.execute(script, args.to_vec()).await
        })
    }

    /// The `textContent` of every element matching `css`, trimmed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.strings(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent.trim());",
            &[json!(css)],
        )
    }

    /// The attribute `name` of every element matching `css` (empty when absent).
    pub fn attributes(&self, css: &str, name: &str) -> Vec<String> {
        self.strings(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.getAttribute(arguments[1]) ?? '');",
            &[json!(css), json!(name)],
        )
    }

    /// What `script` returns, an array of strings (a non-string item as "").
    fn strings(&self, script: &str, args: &[Value]) -> Vec<String> {
        self.execute(script, args)
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The text of the first element matching `css`, or "" when there is none.
    pub fn text_of(&self, css: &str) -> String {
        self.texts(css).into_iter().next().unwrap_or_default()
    }

    /// Polls `probe` every 100 ms until it gives a value; panics naming `what` after [`WAIT`].
    pub fn wait_until<T>(&self, what: &str, mut probe: impl FnMut(&Browser) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = probe(self) {
                return found;
            }
            if Instant::now() >= deadline {
                let status = self.text_of("[data-testid=status-bar]");
                panic!(
                    "waited {} s for {what}; it never came (status bar: {status:?})",
                    WAIT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's console errors (uncaught exceptions, failed requests) since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        let value = self.must("read the browser log", async |c| {
            c.issue_cmd(BrowserLog).await
        });
        value
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves a PNG of the viewport at `path` (creating its directory).
    pub fn screenshot(&self, path: &Path) {
        let png = self.must("screenshot", async |c| c.screenshot().await);
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "the screenshot is not a PNG"
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A session with the chromedriver at `url`, retried until it listens (or has exited).
async fn connect(
    builder: &ClientBuilder<HttpConnector>,
    url: &str,
    driver: &mut Child,
) -> Result<Client, String> {
    let deadline = Instant::now() + DRIVER_START;
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!("chromedriver exited at start: {status}"));
        }
        match builder.connect(url).await {
            Ok(client) => return Ok(client),
            // Not listening yet: try again until the deadline.
            Err(
                e @ (NewSessionError::Failed(_)
                | NewSessionError::FailedC(_)
                | NewSessionError::Lost(_)),
            ) => {
                if Instant::now() >= deadline {
                    return Err(format!(
                        "chromedriver did not answer within {} s: {e}",
                        DRIVER_START.as_secs()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(format!("new session: {e}")),
        }
    }
}

/// Where screenshots go: `<target dir>/dashboard-screenshots`, the target directory being
/// `CARGO_TARGET_DIR` when absolute, else the ancestor of this test binary that holds cargo's
/// `CACHEDIR.TAG`.
pub fn screenshot_dir() -> PathBuf {
    let from_env = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let target = from_env.unwrap_or_else(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        exe.ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
            .or_else(|| exe.ancestors().nth(3).map(Path::to_path_buf))
            .unwrap_or_else(std::env::temp_dir)
    });
    target.join("dashboard-screenshots")
}
