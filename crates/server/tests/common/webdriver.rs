//! A small W3C WebDriver client for Debian's headless Chromium: starts `chromedriver` on a free
//! loopback port (killed on drop), opens one session with a fresh profile, and drives it over
//! HTTP with `ureq` and `serde_json`: navigate, find, click, type, run a script, wait by
//! polling, and take PNG screenshots.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package chromium-driver).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Set to `required` to make a missing browser a test failure instead of a skip.
pub const REQUIRED_VAR: &str = "SIGNAL_LEDGER_BROWSER_TESTS";
/// How long a wait polls before the test fails: generous, for a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(45);

/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver error answer, or a transport failure.
#[derive(Debug)]
pub struct WebDriverError {
    /// The W3C error code ("no such element", ...) or "transport".
    pub error: String,
    /// What the driver said.
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

/// An element of the page, as the driver names it.
#[derive(Debug, Clone)]
pub struct Element(pub String);

/// A headless Chromium session and the chromedriver serving it.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
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

fn transport(e: impl std::fmt::Display) -> WebDriverError {
    WebDriverError {
        error: "transport".to_owned(),
        message: e.to_string(),
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a fresh profile.
    pub fn launch() -> Result<Browser, String> {
        let profile = tempfile::tempdir().map_err(|e| format!("profile dir: {e}"))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
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
            let base = format!("http://127.0.0.1:{port}");
            match wait_ready(&agent, &base, &mut driver) {
                Ok(()) => {
                    let mut browser = Browser {
                        driver,
                        base,
                        session: String::new(),
                        agent,
                        _profile: profile,
                    };
                    browser.session = browser.new_session()?;
                    return Ok(browser);
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

    fn new_session(&self) -> Result<String, String> {
        let user_data = format!("--user-data-dir={}", self._profile.path().display());
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                "goog:loggingPrefs": { "browser": "SEVERE" },
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--disable-dev-shm-usage", user_data, "--window-size=1400,1000",
                        ],
                    },
                },
            },
        });
        let value = self
            .raw(
                "POST",
                &format!("{}/session", self.base),
                Some(capabilities),
            )
            .map_err(|e| format!("new session: {e}"))?;
        value["sessionId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("new session: no sessionId in {value}"))
    }

    /// One WebDriver command; the answer's `value`, or its error.
    fn raw(&self, method: &str, url: &str, body: Option<Value>) -> Result<Value, WebDriverError> {
        let mut response = match (method, body) {
            ("GET", _) => self.agent.get(url).call(),
            ("DELETE", _) => self.agent.delete(url).call(),
            (_, body) => self
                .agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        }
        .map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(transport)?;
        let answer: Value = serde_json::from_str(&text)
            .map_err(|e| transport(format!("{e} in answer {text:.300}")))?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if status >= 400 || value.get("error").is_some_and(|e| e.is_string()) {
            return Err(WebDriverError {
                error: value["error"].as_str().unwrap_or("unknown").to_owned(),
                message: value["message"]
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Ok(value)
    }

    /// A command of this session (`path` after `/session/{id}`).
    pub fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        self.raw(method, &url, body)
    }

    fn must(&self, what: &str, result: Result<Value, WebDriverError>) -> Value {
        result.unwrap_or_else(|e| panic!("WebDriver {what}: {e}"))
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.must(
            "navigate",
            self.command("POST", "/url", Some(json!({ "url": url }))),
        );
    }

    /// Reloads the page.
    pub fn refresh(&self) {
        self.must("refresh", self.command("POST", "/refresh", Some(json!({}))));
    }

    /// The first element matching `css`, if any.
    pub fn try_find(&self, css: &str) -> Option<Element> {
        let body = json!({ "using": "css selector", "value": css });
        match self.command("POST", "/element", Some(body)) {
            Ok(value) => value[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned())),
            Err(e) if e.error == "no such element" => None,
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
        self.click_element(&element);
    }

    /// Clicks `element`.
    pub fn click_element(&self, element: &Element) {
        let path = format!("/element/{}/click", element.0);
        self.must("click", self.command("POST", &path, Some(json!({}))));
    }

    /// Clears the field `css` and types `text` into it.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        let clear = format!("/element/{}/clear", element.0);
        self.must("clear", self.command("POST", &clear, Some(json!({}))));
        let value = format!("/element/{}/value", element.0);
        self.must(
            "send keys",
            self.command("POST", &value, Some(json!({ "text": text }))),
        );
    }

    /// The rendered text of `element`.
    pub fn text(&self, element: &Element) -> String {
        let path = format!("/element/{}/text", element.0);
        self.must("read text", self.command("GET", &path, None))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        self.must(
            "execute script",
            self.command("POST", "/execute/sync", Some(body)),
        )
    }

    /// The `textContent` of every element matching `css`, trimmed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.strings(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent.trim());",
            json!([css]),
        )
    }

    /// The attribute `name` of every element matching `css` (empty when absent).
    pub fn attributes(&self, css: &str, name: &str) -> Vec<String> {
        self.strings(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.getAttribute(arguments[1]) ?? '');",
            json!([css, name]),
        )
    }

    /// What `script` returns, an array of strings (a non-string item as "").
    fn strings(&self, script: &str, args: Value) -> Vec<String> {
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
        let value = self.must(
            "read the browser log",
            self.command("POST", "/se/log", Some(json!({ "type": "browser" }))),
        );
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
        let value = self.must("screenshot", self.command("GET", "/screenshot", None));
        let png = decode_base64(value.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
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
        if !self.session.is_empty() {
            let _ = self.command("DELETE", "", None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Waits until chromedriver at `base` says it is ready (or has exited).
fn wait_ready(agent: &ureq::Agent, base: &str, driver: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!("chromedriver exited at start: {status}"));
        }
        if let Ok(mut response) = agent.get(format!("{base}/status")).call() {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let ready = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["value"]["ready"].as_bool());
            if ready == Some(true) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("chromedriver did not become ready within 20 s".to_owned())
}

/// Standard base64 (with or without padding) to bytes.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    fn sextet(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let digits: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let digits = digits
        .strip_suffix(b"==")
        .or_else(|| digits.strip_suffix(b"="))
        .unwrap_or(&digits);
    if digits.len() % 4 == 1 {
        return Err(format!("base64 of {} digits is truncated", digits.len()));
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = sextet(c).ok_or_else(|| format!("not a base64 digit: {:?}", c as char))?;
            acc |= v << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
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
