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
