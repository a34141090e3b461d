//! Helpers: an emulator with a signed-in user, a thin JSON client, and a webhook receiver that
//! records what it gets and answers with scripted statuses.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use gcal_emulator::{Emulator, EmulatorConfig, TestUser};
use reqwest::Method;
use serde_json::Value;

pub const USER: &str = "paralegal@example.com";

/// A started emulator, one user, and an access token for that user.
pub struct Harness {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub user: TestUser,
    pub token: String,
}

/// A response, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// `error.errors[0].reason`.
    pub fn reason(&self) -> &str {
        self.body["error"]["errors"][0]["reason"]
            .as_str()
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn start() -> Harness {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> Harness {
    let emu = Emulator::start(config).await.unwrap();
    let user = emu.add_user(USER).unwrap();
    let http = client();
    let token = refresh(&http, &emu, &user.refresh_token).await;
    Harness {
        emu,
        http,
        user,
        token,
    }
}

/// Runs the refresh grant and returns the access token.
pub async fn refresh(http: &reqwest::Client, emu: &Emulator, refresh_token: &str) -> String {
    let res = http
        .post(&emu.urls().token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            (
                "client_id",
                "calsync-test-client.apps.googleusercontent.com",
            ),
            ("client_secret", "calsync-test-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

impl Harness {
    /// Sends a Calendar API request with the harness's token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_with(method, path, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{}", self.emu.urls().api_base, path);
        let mut req = self.http.request(method, url).bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn insert(&self, event: Value) -> Reply {
        self.call(Method::POST, "/calendars/primary/events", Some(event))
            .await
    }

    /// Lists with the given query string, following nothing.
    pub async fn list(&self, query: &str) -> Reply {
        self.get(&format!("/calendars/primary/events?{query}"))
            .await
    }

    /// Pages through a listing; returns all items and the final sync token.
    pub async fn list_all(&self, query: &str) -> (Vec<Value>, String) {
        let mut items = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut q = query.to_owned();
            if let Some(p) = &page_token {
                q.push_str(&format!("&pageToken={}", enc(p)));
            }
            let page = self.list(&q).await;
            assert_eq!(page.status, 200, "{:?}", page.body);
            items.extend(page.body["items"].as_array().unwrap().iter().cloned());
            match (
                page.body.get("nextPageToken").and_then(Value::as_str),
                page.body.get("nextSyncToken").and_then(Value::as_str),
            ) {
                (Some(p), None) => page_token = Some(p.to_owned()),
                (None, Some(s)) => return (items, s.to_owned()),
                other => panic!("expected exactly one of the tokens, got {other:?}"),
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A timed event body.
pub fn timed(summary: &str, hour: u32) -> Value {
    serde_json::json!({
        "summary": summary,
        "start": {"dateTime": format!("2026-06-15T{hour:02}:00:00Z")},
        "end": {"dateTime": format!("2026-06-15T{hour:02}:30:00Z")},
    })
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn message_number(&self) -> u64 {
        self.header("X-Goog-Message-Number")
            .unwrap()
            .parse()
            .unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    hits: Mutex<Vec<Hit>>,
    script: Mutex<VecDeque<u16>>,
}

/// A webhook receiver on port 0. Answers 200 unless statuses were scripted.
pub struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
    handle: ServerHandle,
}

async fn receive(
    state: web::Data<ReceiverState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    state.hits.lock().unwrap().push(Hit {
        headers,
        body: body.to_vec(),
    });
    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = web::Data::new(ReceiverState::default());
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://{addr}/webhooks/google"),
            state: state.into_inner(),
            handle,
        }
    }

    /// The next requests are answered with these statuses, in order.
    pub fn respond_with(&self, statuses: &[u16]) {
        self.state.script.lock().unwrap().extend(statuses);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived; panics after ten seconds (generous: the
    /// suite runs beside tests that keep every core busy on purpose).
    pub async fn wait_for(&self, n: usize) -> Vec<Hit> {
        for _ in 0..2000 {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("expected {n} notifications, got {:?}", self.hits());
    }

    /// Asserts that the count stays at `n` for a while (nothing more is delivered).
    pub async fn assert_stays_at(&self, n: usize) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            self.hits().len(),
            n,
            "unexpected notifications: {:?}",
            self.hits()
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// Watch body for a receiver.
pub fn watch_body(id: &str, address: &str) -> Value {
    serde_json::json!({"id": id, "type": "web_hook", "address": address, "token": format!("target={id}")})
}

// ---- The OAuth connect flow, as a browser and calsync would drive it ----

pub const CLIENT_ID: &str = "calsync-test-client.apps.googleusercontent.com";
pub const SECRET: &str = "calsync-test-secret";
pub const REDIRECT: &str = "http://localhost:3000/oauth/google/callback";
pub const APP_CREATED: &str = "https://www.googleapis.com/auth/calendar.app.created";
pub const EVENTS: &str = "https://www.googleapis.com/auth/calendar.events";
pub const CALENDARLIST_RO: &str = "https://www.googleapis.com/auth/calendar.calendarlist.readonly";
pub const USERINFO_EMAIL: &str = "https://www.googleapis.com/auth/userinfo.email";
/// A PKCE verifier (43 characters of the unreserved set) and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A Google account that has granted calsync nothing yet; `start_oauth` signs the browser in
/// as this account.
pub const CONNECTING: &str = "connecting@example.com";

/// An emulator whose client has `REDIRECT` registered, with the usual user and token, plus
/// the `CONNECTING` account, signed in.
pub async fn start_oauth() -> Harness {
    let h = start_with(oauth_config()).await;
    h.emu.add_account(CONNECTING).unwrap();
    h.emu.set_signed_in_user(Some(CONNECTING)).unwrap();
    h
}

pub fn oauth_config() -> EmulatorConfig {
    EmulatorConfig {
        redirect_uris: vec![REDIRECT.to_owned()],
        ..EmulatorConfig::default()
    }
}

pub fn s256(verifier: &str) -> String {
    use base64::Engine;
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Parameters of an authorization request, as calsync's connect button builds them.
pub fn auth_params(scope: &str) -> Vec<(String, String)> {
    [
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", scope),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("include_granted_scopes", "true"),
        ("state", "st-42/x"),
        ("code_challenge", &s256(VERIFIER)),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Replaces (or with `None` removes) a parameter.
pub fn with(
    mut params: Vec<(String, String)>,
    key: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    params.retain(|(k, _)| k != key);
    if let Some(v) = value {
        params.push((key.to_owned(), v.to_owned()));
    }
    params
}

/// What the authorization endpoint answered: a consent page, or a redirect.
pub struct AuthAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl AuthAnswer {
    pub fn page(&self) -> ConsentPage {
        assert_eq!(
            self.status, 200,
            "expected the consent page, got {} {}",
            self.status, self.html
        );
        ConsentPage::parse(&self.html)
    }

    pub fn redirect_params(&self) -> Vec<(String, String)> {
        query_of(self.location.as_deref().expect("a redirect"))
    }
}

pub async fn authorize(h: &Harness, params: &[(String, String)]) -> AuthAnswer {
    let res = h
        .http
        .get(&h.emu.urls().auth_url)
        .query(params)
        .send()
        .await
        .unwrap();
    answer(res).await
}

async fn answer(res: reqwest::Response) -> AuthAnswer {
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    AuthAnswer {
        status,
        location,
        html: res.text().await.unwrap(),
    }
}

fn attr(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = line[start..].find('"')? + start;
    Some(
        line[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The consent page's form, read line by line (the emulator puts each control on its own line).
#[derive(Debug)]
pub struct ConsentPage {
    pub action: String,
    pub hidden: Vec<(String, String)>,
    /// Values of the scope checkboxes, in page order.
    pub checkboxes: Vec<String>,
    /// Scopes granted with sign-in (no checkbox).
    pub sign_in: Vec<String>,
    /// Options of the account choice, when the page offers one.
    pub accounts: Vec<String>,
    pub html: String,
}

impl ConsentPage {
    pub fn parse(html: &str) -> ConsentPage {
        let mut page = ConsentPage {
            action: String::new(),
            hidden: Vec::new(),
            checkboxes: Vec::new(),
            sign_in: Vec::new(),
            accounts: Vec::new(),
            html: html.to_owned(),
        };
        for line in html.lines() {
            if line.starts_with("<form ") {
                page.action = attr(line, "action").unwrap();
            } else if line.starts_with("<input type=\"hidden\"") {
                page.hidden
                    .push((attr(line, "name").unwrap(), attr(line, "value").unwrap()));
            } else if line.starts_with("<input type=\"checkbox\"") {
                assert!(line.ends_with(" checked>"), "checked by default: {line}");
                page.checkboxes.push(attr(line, "value").unwrap());
            } else if line.starts_with("<option ") {
                page.accounts.push(attr(line, "value").unwrap());
            } else if line.starts_with("<li class=\"sign-in\"") {
                page.sign_in.push(attr(line, "data-scope").unwrap());
            }
        }
        page
    }

    /// Presses `button` ("allow" or "deny") with these checkboxes ticked (`None`: as the page
    /// came, all ticked) and, when the page offers a choice, this account.
    pub async fn submit(
        &self,
        h: &Harness,
        button: &str,
        ticked: Option<&[&str]>,
        account: Option<&str>,
    ) -> AuthAnswer {
        let mut form: Vec<(String, String)> = self.hidden.clone();
        if let Some(a) = account {
            form.retain(|(k, _)| k != "account");
            form.push(("account".to_owned(), a.to_owned()));
        } else if let Some(first) = self.accounts.first() {
            form.push(("account".to_owned(), first.clone()));
        }
        let boxes: Vec<String> = match ticked {
            Some(t) => t.iter().map(|s| (*s).to_owned()).collect(),
            None => self.checkboxes.clone(),
        };
        for b in boxes {
            form.push(("scope".to_owned(), b));
        }
        form.push(("action".to_owned(), button.to_owned()));
        let url = format!("{}{}", h.emu.urls().base, self.action);
        answer(h.http.post(url).form(&form).send().await.unwrap()).await
    }
}

pub fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Runs the page with everything ticked and Allow; returns the code.
pub async fn consent_code(h: &Harness, params: &[(String, String)]) -> String {
    let done = authorize(h, params)
        .await
        .page()
        .submit(h, "allow", None, None)
        .await;
    assert_eq!(done.status, 302, "{}", done.html);
    let pairs = done.redirect_params();
    param(&pairs, "code")
        .unwrap_or_else(|| panic!("no code in {pairs:?}"))
        .to_owned()
}

/// The token endpoint's `authorization_code` grant.
pub async fn exchange(
    h: &Harness,
    code: &str,
    redirect: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let res = h
        .http
        .post(&h.emu.urls().token_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// A Calendar API call with a given access token.
pub async fn call_as(
    h: &Harness,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let url = format!("{}{}", h.emu.urls().api_base, path);
    let mut req = h.http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    Reply {
        status,
        body,
        headers,
    }
}

/// The whole connect flow with the given scopes, everything ticked: the token answer.
pub async fn connect(h: &Harness, scope: &str) -> Value {
    let code = consent_code(h, &auth_params(scope)).await;
    let (status, body) = exchange(h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The connect flow without `include_granted_scopes`: the token carries only `scope`.
pub async fn connect_only(h: &Harness, scope: &str) -> Value {
    let params = with(auth_params(scope), "include_granted_scopes", None);
    let code = consent_code(h, &params).await;
    let (status, body) = exchange(h, &code, REDIRECT, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");
    body
}
