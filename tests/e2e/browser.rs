//! Headless Chromium driven through chromedriver (WebDriver), for tests of the page.
//! Debian's `chromium` and `chromium-driver` packages provide both; where they are not
//! installed the browser tests say so and pass (`.ci/run` installs them).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM_ENV: &str = "SCOPE_REGISTRY_TEST_CHROMIUM";
const CHROMEDRIVER_ENV: &str = "SCOPE_REGISTRY_TEST_CHROMEDRIVER";
/// How long the page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(20);

/// Where Chromium and chromedriver are (environment overrides, else Debian's paths).
pub struct BrowserPaths {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl BrowserPaths {
    /// None, after saying why, when either is missing (under CI the test fails instead).
    pub fn find() -> Option<Self> {
        let path = |env: &str, default: &str| PathBuf::from(std::env::var(env).unwrap_or_else(|_| default.to_owned()));
        let paths = Self {
            chromium: path(CHROMIUM_ENV, "/usr/bin/chromium"),
            chromedriver: path(CHROMEDRIVER_ENV, "/usr/bin/chromedriver"),
        };
        for (binary, package) in [(&paths.chromium, "chromium"), (&paths.chromedriver, "chromium-driver")] {
            if !binary.is_file() {
                crate::support::unavailable(&format!(
                    "{} is not installed (apt-get install {package})",
                    binary.display()
                ));
                return None;
            }
        }
        Some(paths)
    }
}

/// One headless Chromium session.
pub struct Browser {
    // Declared first so that it is dropped first: the browser is gone before its
    // folders are removed.
    _driver: Driver,
    pub client: Client,
    pub downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

/// The chromedriver process, in a process group of its own that the browser it starts
/// joins. Dropping it kills that group, so no browser outlives its test, even a
/// failed one.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status().ok();
        self.0.wait().ok();
    }
}

impl Browser {
    pub async fn start(paths: &BrowserPaths, width: u32, height: u32) -> Self {
        let mut driver = Driver(
            Command::new(&paths.chromedriver)
                .arg("--port=0")
                .process_group(0)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let port = driver_port(&mut driver.0).unwrap_or_else(|problem| panic!("{problem}"));
        let profile = tempfile::tempdir().expect("profile dir");
        let downloads = tempfile::tempdir().expect("download dir");
        // The machine has no network but loopback: keep Chromium from trying to reach out.
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--lang=ja".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": paths.chromium,
                "args": args,
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                },
            },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("a JSON object") };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a chromedriver session");
        Self { _driver: driver, client, downloads, _profile: profile }
    }

    /// Waits for an element matching `css`; on time-out the failure shows what the page
    /// says instead.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                let said = self.client.execute("return document.body.innerText", vec![]).await.unwrap_or_default();
                panic!("{css} did not appear ({e}); the page says:\n{}", said.as_str().unwrap_or_default())
            }
        }
    }

    /// Waits until the element matching `css` reads `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let text = self.text(css).await;
            if text == expected {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{css} reads {text:?}, not {expected:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The rendered text of the first element matching `css`, once there is one. Read by
    /// script, so that a re-render between finding and reading does not matter.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await;
        let text = self
            .script("const e = document.querySelector(arguments[0]); return e ? e.innerText : null", vec![json!(css)])
            .await;
        text.as_str().unwrap_or_else(|| panic!("{css} went away")).trim().to_owned()
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.expect("find_all").len()
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits for a finished download whose name starts with `prefix` and returns its bytes.
    pub async fn downloaded(&self, prefix: &str) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(path) = finished_download(self.downloads.path(), prefix) {
                return std::fs::read(path).expect("read the download");
            }
            assert!(tokio::time::Instant::now() < deadline, "no download {prefix}* appeared");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot of the whole page (the window grows to the page's height).
    pub async fn screenshot_page(&self, path: &Path) {
        let height = self.script("return document.documentElement.scrollHeight", vec![]).await;
        let height = u32::try_from(height.as_u64().expect("a height")).unwrap_or(4000).min(8000);
        let (width, _) = self.client.get_window_size().await.expect("window size");
        self.client.set_window_size(u32::try_from(width).unwrap_or(1280), height + 120).await.expect("resize");
        self.script("window.scrollTo(0, 0)", vec![]).await;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("artifact folder");
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Saves a screenshot of the first element matching `css`.
    pub async fn screenshot_element(&self, css: &str, path: &Path) {
        let element = self.wait_for(css).await;
        self.script("document.querySelector(arguments[0]).scrollIntoView({ block: 'start' })", vec![json!(css)]).await;
        let png = element.screenshot().await.unwrap_or_else(|e| panic!("screenshot of {css}: {e}"));
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("artifact folder");
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Lays the page out for `media` ("print", or "" for the screen), as printing does.
    pub async fn emulate_media(&self, media: &str) {
        let command = DevTools { command: "Emulation.setEmulatedMedia", params: json!({ "media": media }) };
        self.client.issue_cmd(command).await.unwrap_or_else(|e| panic!("emulate {media:?} media: {e}"));
    }

    pub async fn close(self) {
        self.client.close().await.ok();
    }
}

fn finished_download(folder: &Path, prefix: &str) -> Option<PathBuf> {
    std::fs::read_dir(folder).ok()?.filter_map(Result::ok).map(|e| e.path()).find(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name.starts_with(prefix) && !name.ends_with(".crdownload")
    })
}

/// chromedriver started with `--port=0` prints the port it chose. Its output is read on
/// a thread of its own, which goes on reading so that chromedriver never blocks on a
/// full pipe.
fn driver_port(driver: &mut Child) -> Result<u16, String> {
    let stdout = driver.stdout.take().ok_or("chromedriver's output is not piped")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // "ChromeDriver was started successfully on port 44805."
            if line.contains("started successfully")
                && let Some(port) = line.rsplit_once("on port ").and_then(|(_, p)| p.trim_end_matches('.').parse().ok())
            {
                tx.send(port).ok();
            }
        }
    });
    rx.recv_timeout(PATIENCE).map_err(|_| "chromedriver did not say which port it listens on".to_owned())
}

/// The folder for test artifacts (gitignored).
pub fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/artifacts")
}

/// A Chrome DevTools Protocol command sent through chromedriver's `goog/cdp/execute`,
/// for what WebDriver has no command for (laying a page out for print).
#[derive(Debug)]
struct DevTools {
    command: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "cmd": self.command, "params": self.params }).to_string()))
    }
}
